"""CMML as a Detector on the pair-embedding skeleton."""

from __future__ import annotations

from typing import Any

import torch

from mmadbench.datasets.data import MultiModalData

from ..base import Capabilities
from ..constraints import Boolean, Integer, Real
from ..pair_embedding import PAIR_CONSTRAINTS, PairEmbeddingDetector
from .loss import channel_augment, weighted_triplet
from .model import CMMLNet


class CMML(PairEmbeddingDetector):
    """CMML: cross-modality metric learning.

    After Ye, Ruan, Du, Shou, "Channel augmented joint learning for visible-infrared
    recognition", ICCV 2021 (official code verified: mangye16/Cross-Modal-Re-ID-baseline,
    ICCV21_CAJ). Modality-specific encoders, a shared stage over the mixed-modality batch, a BN
    neck and an identity classifier; loss = identity cross-entropy + the weighted regularised
    triplet with the enhanced squared difference; channel augmentation of RGB images. The
    identities are the semantic classes; score = the cross-modal distance of the L2-normalised
    BN-neck features.

    Departures (NOTES.md): a small CNN (or the TN-BCL ViT) and an MLP instead of an
    ImageNet-pretrained ResNet-50, trained from scratch; Adam 1e-3 instead of SGD 0.1 with
    warm-up; random batches instead of the identity sampler; no random erasing, no KL term.

    Parameters
    ----------
    feat_dim, embed_dim : int
        Encoder output width and shared-stage width.
    alpha : float
        Softmax scale of the triplet weights.
    gamma : float
        Scale of the enhanced squared difference.
    channel_aug : bool
        Add a channel-augmented copy of every RGB image modality to the batch.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training (weight decay 5e-4 as in the code).
    image_encoder : {"cnn", "vit"}
        Pixel encoder.
    random_state : int or None
        Seed of weights, augmentation and batch order.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    name = "cmml"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(requires_labels=True, max_modalities=2)
    parameter_constraints = {
        **PAIR_CONSTRAINTS,
        "feat_dim": Integer(1),
        "embed_dim": Integer(1),
        "alpha": Real(0, inclusive=False),
        "gamma": Real(0, inclusive=False),
        "channel_aug": Boolean(),
    }

    def __init__(
        self,
        feat_dim: int = 128,
        embed_dim: int = 128,
        alpha: float = 1.0,
        gamma: float = 1.0,
        channel_aug: bool = True,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-3,
        weight_decay: float = 5e-4,
        image_encoder: str = "cnn",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.feat_dim = feat_dim
        self.embed_dim = embed_dim
        self.alpha = alpha
        self.gamma = gamma
        self.channel_aug = channel_aug
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_encoder = image_encoder
        self.random_state = random_state
        self.device = device

    def _network(self, train: MultiModalData) -> CMMLNet:
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        self.rgb_ = [m for m in train.names if train.kinds[m] == "image" and shapes[m][0] == 3]
        return CMMLNet(dict(train.kinds), shapes, self.feat_dim, self.embed_dim, len(self.classes_), self.image_encoder)

    def _pair_loss(self, x: dict[str, Any], labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        parts = [(m, x[m][idx]) for m in self.modalities_]
        if self.channel_aug:
            parts += [(m, channel_augment(x[m][idx])) for m in self.rgb_]
        lab = labels[idx].repeat(len(parts))
        feats = self.net_.feat(parts)
        identity = torch.nn.functional.cross_entropy(self.net_.classifier(self.net_.neck(feats)), lab)
        return identity + weighted_triplet(feats, lab, self.alpha, self.gamma)
