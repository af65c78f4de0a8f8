"""TBNN as a Detector on the pair-embedding skeleton."""

from __future__ import annotations

from typing import Any

import torch

from mmadbench.datasets.data import MultiModalData

from ..base import Capabilities
from ..constraints import Integer, OneOf, Real
from ..pair_embedding import PAIR_CONSTRAINTS, PairEmbeddingDetector
from .loss import ranking_loss, similarity_loss
from .model import TwoBranchNet


class TBNN(PairEmbeddingDetector):
    """TBNN: two-branch neural networks for image-text matching.

    Wang, Li, Huang, Lazebnik, "Learning two-branch neural networks for image-text matching
    tasks", TPAMI 2019 (official code verified: lwwang/Two_branch_network). Embedding network:
    each modality's branch is FC 2048 + BN + ReLU + dropout -> FC 512 -> L2 normalisation;
    the bidirectional ranking loss with the neighbourhood-preserving term (K = 10 top violating
    negatives averaged); score = d(f(x_i), g(y_i)). `variant="similarity"`: the branches'
    element-wise product -> FC + BN + ReLU -> FC -> a logit, logistic loss; score = -logit.

    Departures (setting differs from retrieval; see NOTES.md): pixels pass through a small CNN
    (or the TN-BCL ViT) into `feat_dim` features trained with the branches, instead of
    pre-extracted CNN features; negatives are the samples of other classes (class labels are
    used), not every other item of the batch; batches of 128 pairs; the similarity variant
    draws one mismatched partner per pair from the other classes of the batch.

    Parameters
    ----------
    variant : {"embedding", "similarity"}
        The embedding network or the similarity network.
    hidden, embed_dim, feat_dim : int
        Branch width, shared-space width, and pixel-encoder output width.
    dropout : float
        Branch dropout rate (the code's 0.5).
    margin, lambda_i, lambda_n : float
        Ranking margin, weight of the image-anchored term, weight of the neighbourhood term.
    top_k : int
        Violating negatives averaged per anchor.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training (the code's lr 1e-4).
    image_encoder : {"cnn", "vit"}
        Pixel encoder.
    random_state : int or None
        Seed of weights, dropout and batch order.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    name = "tbnn"
    test_params = {"epochs": 2}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(requires_labels=True, max_modalities=2)
    parameter_constraints = {
        **PAIR_CONSTRAINTS,
        "variant": OneOf("embedding", "similarity"),
        "hidden": Integer(1),
        "embed_dim": Integer(1),
        "feat_dim": Integer(1),
        "dropout": Real(0, 1, high_inclusive=False),
        "margin": Real(0),
        "lambda_i": Real(0),
        "lambda_n": Real(0),
        "top_k": Integer(1),
    }

    def __init__(
        self,
        variant: str = "embedding",
        hidden: int = 2048,
        embed_dim: int = 512,
        feat_dim: int = 128,
        dropout: float = 0.5,
        margin: float = 0.05,
        lambda_i: float = 1.5,
        lambda_n: float = 0.05,
        top_k: int = 10,
        epochs: int = 10,
        batch_size: int = 128,
        lr: float = 1e-4,
        weight_decay: float = 0.0,
        image_encoder: str = "cnn",
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.variant = variant
        self.hidden = hidden
        self.embed_dim = embed_dim
        self.feat_dim = feat_dim
        self.dropout = dropout
        self.margin = margin
        self.lambda_i = lambda_i
        self.lambda_n = lambda_n
        self.top_k = top_k
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_encoder = image_encoder
        self.random_state = random_state
        self.device = device

    def _network(self, train: MultiModalData) -> TwoBranchNet:
        shapes = {m: tuple(train[m].shape[1:]) for m in train.names}
        return TwoBranchNet(
            dict(train.kinds),
            shapes,
            self.feat_dim,
            self.hidden,
            self.embed_dim,
            self.dropout,
            self.image_encoder,
            self.variant == "similarity",
        )

    def _pair_loss(self, x: dict[str, Any], labels: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        a, b = self.modalities_
        ex, ey, lab = self.net_.embed(a, x[a][idx]), self.net_.embed(b, x[b][idx]), labels[idx]
        if self.variant == "similarity":
            return similarity_loss(self.net_, ex, ey, lab)
        return ranking_loss(ex, ey, lab, self.margin, self.lambda_i, self.lambda_n, self.top_k)

    def _pair_scores(self, xa: torch.Tensor, xb: torch.Tensor) -> torch.Tensor:
        if self.variant == "similarity":
            a, b = self.modalities_
            return -self.net_.logit(self.net_.embed(a, xa), self.net_.embed(b, xb))
        return super()._pair_scores(xa, xb)
