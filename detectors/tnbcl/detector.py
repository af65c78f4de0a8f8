"""TN-BCL as a Detector: training with the bi-quintuple loss, the k-NN top branch, and the score."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from mmadbench.datasets.data import MultiModalData

from ..base import Capabilities
from ..constraints import SEED, Boolean, Device, Integer, OneOf, Real, require
from ..torch_detector import TorchDetector, input_stats, standardised
from .loss import contrastive_loss
from .model import TNBCLNet

# a top-branch threshold never falls below this fraction of the mean feature norm: template
# captions repeat exactly, so their k-NN distances and quantile can be 0 (see NOTES.md)
TAU_FLOOR = 1e-2
AUGMENT_MIN_SIDE = 16  # smaller images (8x8 digits) are not augmented: a sub-pixel shift blurs the digit


def augment_images(x: torch.Tensor, shift: float, rotate: float, gen: torch.Generator) -> torch.Tensor:
    """A random rotation (within +-`rotate` degrees) and translation (within +-`shift` of the
    side) of every image of a batch, border pixels repeated."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(rotate)
    move = (torch.rand(n, 2, generator=gen) * 2 - 1) * 2 * shift  # affine_grid coordinates span [-1, 1]
    cos, sin = angle.cos(), angle.sin()
    theta = torch.stack([torch.stack([cos, -sin, move[:, 0]], 1), torch.stack([sin, cos, move[:, 1]], 1)], 1)
    grid = F.affine_grid(theta.to(x.device, x.dtype), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, padding_mode="border", align_corners=False)


def lr_factor(step: int, total: int, warmup: int, schedule: str) -> float:
    """Learning-rate multiplier: linear warm-up over `warmup` steps, then constant or a cosine
    decay to zero at `total` steps."""
    if step < warmup:
        return (step + 1) / warmup
    if schedule == "constant":
        return 1.0
    return 0.5 * (1.0 + math.cos(math.pi * min(1.0, (step - warmup) / max(1, total - warmup))))


def _unit_rows(emb: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Every modality's embeddings scaled to unit length (cosine = dot product)."""
    return {m: e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12) for m, e in emb.items()}


def _best_cosine(unit: np.ndarray, reference: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Each row's largest cosine to any reference row (unit rows), in chunks to bound memory."""
    return np.concatenate([(unit[i : i + chunk] @ reference.T).max(axis=1) for i in range(0, len(unit), chunk)])


class TNBCL(TorchDetector):
    """TN-BCL: triple-adaptive network with bi-quintuple contrastive learning.

    Peng et al., "Triple-adaptive network with bi-quintuple contrastive learning for
    cross-modal anomaly detection" (2024). A top branch (k-NN over the features of the normal
    validation samples, threshold at `contamination`) flags attribute anomalies; bottom branches
    (shared residual network and FC over every modality) trained with L_quintuple or L_inter
    score cross-modal mismatch. Score: c for a sample the top branch passes, c + 3 + d / tau for
    one it flags (d / tau > 1), c the cross-modal dissimilarity in [-2, 2]; so any threshold at
    or below 2 is the paper's cascade. Reading the normal validation samples uses the validation
    anomaly flags, so the detector declares `uses_validation_truth`.

    Departures from the paper (why, with the validation figures, in NOTES.md):
    a ViT with a two-convolution stem instead of TNT; inputs standardised with training
    statistics, non-image features through a per-modality MLP; mining over the batch, not over
    all N, with `warmup_epochs` of "mean" mining first; the default mining "active" (batch-all);
    image augmentation and a warmed-up cosine learning rate; the top branch over every
    modality by default (`top_branch="all"`); the "relative" similarity by default; k = 5 and
    gamma0 = 1 (not given); more than two modalities averaged over pairs.

    Parameters
    ----------
    loss : {"quintuple", "inter"}
        L_quintuple (Eq. 28) or L_inter (Eq. 17).
    mining : {"printed", "hard", "mean", "active"}
        How a batch's positives and negatives enter each triplet term.
    activation : {"tanh", "relu"}
        sigma of Eq. 6-7.
    warmup_epochs : int
        Epochs of "mean" mining before `mining` takes over.
    gamma, gamma0 : float
        The negative margin and the positive target of the triplet terms.
    depth, heads, dim, stem : int
        ViT blocks, attention heads, width, and conv-stem channels (0 = plain ViT).
    embed_dim : int
        Width of the bottom branches' embedding.
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training.
    lr_schedule : {"cosine", "constant"}
        Learning rate after `lr_warmup_epochs` of linear warm-up.
    lr_warmup_epochs : float
        Epochs of linear learning-rate warm-up.
    augment_shift, augment_rotate : float
        Random shift (share of the side) and rotation (degrees) of images of side >= 16.
    similarity : {"relative", "pair"}
        The cross-modal dissimilarity c of the score.
    top_branch : {"all", "image"}
        Modalities with a k-NN top branch: every one, or only the image (the paper).
    k : int
        Neighbours of the top branch.
    contamination : float
        Share of normal reference samples above each top-branch threshold.
    amp : bool
        bf16 autocast on CUDA.
    random_state : int or None
        Seed of weights, batch order and augmentation.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    reusable_training = True  # training reads only the training data (see TorchDetector)

    name = "tnbcl"
    test_params = {"epochs": 3, "warmup_epochs": 1}  # few epochs for the conformance kit
    family = "cross-modal"
    capabilities = Capabilities(requires_labels=True, uses_validation_truth=True)
    parameter_constraints = {
        "loss": OneOf("quintuple", "inter"),
        "mining": OneOf("printed", "hard", "mean", "active"),
        "activation": OneOf("relu", "tanh"),
        "warmup_epochs": Integer(0),
        "gamma": Real(),
        "gamma0": Real(),
        "depth": Integer(1),
        "heads": Integer(1),
        "dim": Integer(1),
        "embed_dim": Integer(1),
        "stem": Integer(0),
        "epochs": Integer(1),
        "batch_size": Integer(2),
        "lr": Real(0, inclusive=False),
        "weight_decay": Real(0),
        "lr_schedule": OneOf("constant", "cosine"),
        "lr_warmup_epochs": Real(0),
        "augment_shift": Real(0),
        "augment_rotate": Real(0),
        "similarity": OneOf("pair", "relative"),
        "top_branch": OneOf("image", "all"),
        "k": Integer(1),
        "contamination": Real(0, 1, inclusive=False, high_inclusive=False),
        "amp": Boolean(),
        "random_state": SEED,
        "device": Device(),
    }

    def __init__(
        self,
        loss: str = "quintuple",
        mining: str = "active",
        activation: str = "tanh",
        warmup_epochs: int = 2,
        gamma: float = 0.4,
        gamma0: float = 1.0,
        depth: int = 3,
        heads: int = 6,
        dim: int = 96,
        embed_dim: int = 128,
        stem: int = 32,
        epochs: int = 20,
        batch_size: int = 256,
        lr: float = 1e-3,
        weight_decay: float = 1e-4,
        lr_schedule: str = "cosine",
        lr_warmup_epochs: float = 1.0,
        augment_shift: float = 0.1,
        augment_rotate: float = 10.0,
        similarity: str = "relative",
        top_branch: str = "all",
        k: int = 5,
        contamination: float = 0.001,
        amp: bool = False,
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.loss = loss
        self.mining = mining
        self.activation = activation
        self.warmup_epochs = warmup_epochs
        self.gamma = gamma
        self.gamma0 = gamma0
        self.depth = depth
        self.heads = heads
        self.dim = dim
        self.embed_dim = embed_dim
        self.stem = stem
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.lr_warmup_epochs = lr_warmup_epochs
        self.augment_shift = augment_shift
        self.augment_rotate = augment_rotate
        self.similarity = similarity
        self.top_branch = top_branch
        self.k = k
        self.contamination = contamination
        self.amp = amp
        self.random_state = random_state
        self.device = device

    # ---- training ------------------------------------------------------------------------------
    def _check_with_data(self, train: MultiModalData) -> None:
        require(not self.dim % self.heads, self.name, f"dim ({self.dim}) must be divisible by heads ({self.heads})")

    def _build(self, train: MultiModalData) -> TNBCLNet:
        self.modalities_ = list(train.names)
        self.kinds_ = dict(train.kinds)
        images = [m for m in self.modalities_ if train.kinds[m] == "image"]
        first = images[0] if images else self.modalities_[0]
        others = [m for m in self.modalities_ if m != first] if self.top_branch == "all" else []
        self.top_modalities_ = [first, *others]  # the image first: `top_distance`'s default
        shapes = {m: tuple(train[m].shape[1:]) for m in self.modalities_}
        self.input_stats_ = {m: input_stats(train[m]) for m in self.modalities_}
        return TNBCLNet(
            dict(train.kinds), shapes, self.dim, self.depth, self.heads, self.embed_dim, self.activation, self.stem
        )

    def _training_inputs(self, data: MultiModalData) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        tensors = {m: self._tensor(data[m], m) for m in self.modalities_}
        return tensors, torch.as_tensor(np.array(data.labels), device=self.device_)

    def _lr_factor(self, step: int, steps_per_epoch: int) -> float:
        warmup = round(self.lr_warmup_epochs * steps_per_epoch)
        return lr_factor(step, self.epochs * steps_per_epoch, warmup, self.lr_schedule)

    def _batch_loss(self, inputs: Any, idx: torch.Tensor, epoch: int, gen: torch.Generator) -> torch.Tensor:
        """The contrastive loss of one mini-batch; images of side >= 16 are augmented."""
        tensors, labels = inputs
        mining = "mean" if epoch < self.warmup_epochs else self.mining
        augment = self.augment_shift > 0 or self.augment_rotate > 0
        emb = {}
        for m in self.modalities_:
            x = tensors[m][idx]
            if augment and self.kinds_[m] == "image" and min(x.shape[-2:]) >= AUGMENT_MIN_SIDE:
                x = augment_images(x, self.augment_shift, self.augment_rotate, gen)
            emb[m] = self.net_.embed(self.net_.features(m, x)).float()
        return contrastive_loss(emb, labels[idx], self.loss, mining, self.gamma0, self.gamma)

    def _tensor(self, x: np.ndarray, modality: str) -> torch.Tensor:
        """Standardised input on the device (statistics from the training data)."""
        return standardised(x, self.input_stats_[modality], self.device_)

    def _after_training(self, train: MultiModalData, val: MultiModalData | None) -> None:
        self.partners_ = _unit_rows(self._encode(train)[1]) if self.similarity == "relative" else None
        self._fit_top_branch(val if val is not None else train, val is not None)

    def _fit_top_branch(self, data: MultiModalData, is_val: bool) -> None:
        """Per top-branch modality: a ball tree over v1 of the normal reference samples and a
        threshold at the contamination quantile of their own k-NN distances."""
        from sklearn.neighbors import BallTree

        ref = data.subset(~data.anomaly) if is_val and data.anomaly is not None else data
        if len(ref) < 2:
            raise ValueError(
                f"the top branch needs at least 2 normal reference samples, got {len(ref)} "
                f"({'normal validation' if is_val else 'training'} samples)"
            )
        self.trees_, self.top_thresholds_ = {}, {}
        self.n_reference_ = len(ref)
        for m, feats in self._encode(ref, embed=False)[0].items():
            self.trees_[m] = BallTree(feats)
            dist, _ = self.trees_[m].query(feats, k=self._k() + 1)  # the nearest is the sample itself
            quantile = float(np.quantile(dist[:, 1:].mean(axis=1), 1 - self.contamination))
            floor = TAU_FLOOR * float(np.linalg.norm(feats, axis=1).mean()) + 1e-12
            self.top_thresholds_[m] = max(quantile, floor)

    def _k(self) -> int:
        return max(1, min(self.k, self.n_reference_ - 1))

    # ---- scoring -------------------------------------------------------------------------------
    def _encode(self, data: MultiModalData, embed: bool = True) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """v1 of every top-branch modality and (with `embed`) every modality's final embedding,
        from one batched pass on the device, so scoring encodes each input once."""
        names = self.modalities_ if embed else self.top_modalities_

        def step(rows: slice) -> dict[str, torch.Tensor]:
            out = {}
            for m in names:
                h = self.net_.features(m, self._tensor(data[m][rows], m))
                if m in self.top_modalities_:
                    out[f"top:{m}"] = h
                if embed:
                    out[f"emb:{m}"] = self.net_.embed(h)
            return out

        parts = self._inference(len(data), step)
        top = {k[4:]: v for k, v in parts.items() if k.startswith("top:")}
        emb = {k[4:]: v for k, v in parts.items() if k.startswith("emb:")}
        return top, emb

    def _top_distance(self, modality: str, feats: np.ndarray) -> np.ndarray:
        k = self._k()
        dist, _ = self.trees_[modality].query(feats, k=k + 1)
        self_match = dist[:, 0] <= 1e-9
        return np.where(self_match, dist[:, 1:].mean(axis=1), dist[:, :k].mean(axis=1))

    def _top_ratio(self, feats: dict[str, np.ndarray]) -> np.ndarray:
        """The largest d / tau over the top-branch modalities (> 1: flagged)."""
        return np.max([self._top_distance(m, f) / self.top_thresholds_[m] for m, f in feats.items()], axis=0)

    def _dissimilarity(self, emb: dict[str, np.ndarray]) -> np.ndarray:
        """1 - cos(e_a, e_b) averaged over pairs; "relative": the best cosine of e_a to any
        training embedding of modality b minus cos(e_a, e_b), averaged over ordered pairs."""
        unit = _unit_rows(emb)
        if self.partners_ is None:
            pairs = [(a, b) for i, a in enumerate(self.modalities_) for b in self.modalities_[i + 1 :]]
            return np.mean([1.0 - (unit[a] * unit[b]).sum(axis=1) for a, b in pairs], axis=0)
        pairs = [(a, b) for a in self.modalities_ for b in self.modalities_ if a != b]
        return np.mean(
            [_best_cosine(unit[a], self.partners_[b]) - (unit[a] * unit[b]).sum(axis=1) for a, b in pairs], axis=0
        )

    def top_distance(self, data: MultiModalData, modality: str | None = None) -> np.ndarray:
        """Mean distance of `modality`'s v1 (default: the first top-branch modality, the image)
        to its k nearest normal reference samples (a zero self-distance dropped)."""
        modality = modality or self.top_modalities_[0]
        if modality not in self.trees_:
            raise ValueError(
                f"{modality!r} is not in the top branch (top_branch={self.top_branch!r}: {self.top_modalities_})"
            )
        return self._top_distance(modality, self._encode(data, embed=False)[0][modality])

    def top_ratio(self, data: MultiModalData) -> np.ndarray:
        """The top branch's verdict as a number: the largest d / tau over its modalities; > 1 is flagged."""
        return self._top_ratio(self._encode(data, embed=False)[0])

    def cross_modal_dissimilarity(self, data: MultiModalData) -> np.ndarray:
        """The cross-modal dissimilarity c of the score (see `similarity`), averaged over modality pairs."""
        return self._dissimilarity(self._encode(data)[1])

    def score(self, data: MultiModalData) -> np.ndarray:
        if len(data) == 0:
            return np.empty(0)
        feats, emb = self._encode(data)
        ratio = self._top_ratio(feats)
        flagged = ratio > 1.0
        return self._dissimilarity(emb) + np.where(flagged, 3.0 + ratio, 0.0)
