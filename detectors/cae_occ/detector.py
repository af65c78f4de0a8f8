"""The CAE one-class classifier as a Detector: inputs, training on Eq. 3, and the latent-norm score."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import torch
from torch.nn import functional as F

from mmadbench.datasets.data import MultiModalData

from ..base import Capabilities
from ..constraints import SEED, Boolean, Device, Integer, IntTuple, OneOf, Optional, Real, require
from ..torch_detector import TorchDetector
from .loss import diversity_penalty, one_class_loss
from .model import CAENet, ViewSpec, share_groups

logger = logging.getLogger(__name__)

SCORE_PIXELS = 512 * 32 * 32  # samples x pixels per scoring batch: 512 at 32x32, 32 at 128x128


def _image_like(x: np.ndarray, kind: str) -> bool:
    """Images and spectrograms ([n, C, H, W], or [n, F, T] audio) take the conv autoencoder."""
    return (kind == "image" and x.ndim == 4) or (kind == "audio" and x.ndim in (3, 4))


def _as_model_input(x: np.ndarray, conv: bool) -> np.ndarray:
    """[n, C, H, W] for conv views (a channel axis added to [n, F, T]); [n, d] otherwise."""
    if conv:
        return x[:, None] if x.ndim == 3 else x
    return x.reshape(len(x), -1)


def view_spec(name: str, x: np.ndarray, kind: str) -> ViewSpec:
    """Scaling statistics and autoencoder type of one modality from its training data."""
    conv = _image_like(x, kind)
    arr = _as_model_input(np.asarray(x, dtype=np.float64), conv)
    if conv:
        lo, hi = np.array(arr.min()), np.array(arr.max())
    else:
        lo, hi = arr.min(axis=0), arr.max(axis=0)
    span = np.where(hi - lo > 1e-12, hi - lo, 1.0)
    return ViewSpec(name, conv, int(arr.shape[1]), lo.astype(np.float32), span.astype(np.float32))


class CAEOCC(TorchDetector):
    """CAE multimodal one-class classifier.

    Laakom, Sohrab, Raitoharju, Iosifidis, Gabbouj, "Convolutional autoencoder-based multimodal
    one-class classification" (2023). Two
    convolutional autoencoders trained on normal data only reconstruct their view while the
    joint latent code phi = concat(E(x), E(x')) is kept near the origin (Eq. 3); the score is
    ||phi||, and the method's own threshold (`threshold_`) is the 95th percentile of the training
    scores. WLD-Reg (Laakom et al., AAAI 2023) adds a within-layer diversity penalty.

    Departures from the paper (reasons in NOTES.md): ReLU as the activation (none named);
    pooling before batch norm in the encoder; no dropout by default (the paper has dropout in each
    encoder block at a rate it does not give: `dropout=0.1` is the paper form that
    configs/paper-cae.toml runs as "CAE (paper)"; 0 was chosen on validation data of development
    seed 0, MNIST halves, AUC 0.704 against 0.464); min-max scaled
    inputs; MLP autoencoders for vector and text views; Eq. 3 as sums, not means; views that
    cannot share weights get their own autoencoder; the WLD-Reg details (units, kernel, jitter,
    weight) are our reading of its abstract, since the paper body could not be read.

    Parameters
    ----------
    views : {"both", "left", "right"}
        Every modality, or the unimodal models of Table I (first or second modality only).
    input_size : int
        Side images are resized to (Table III: 32, 64, 128); a multiple of 2 ** len(filters).
    filters : tuple of int
        Encoder filters per block (the decoder mirrors them); MLP widths for vector views.
    dropout : float
        Encoder dropout rate (default 0; the paper's form in this harness: 0.1).
    epochs, batch_size, lr, weight_decay : int, int, float, float
        Adam training (weight decay as Adam's L2 penalty).
    shared_weights : bool
        One autoencoder for views that are images with the same channel count.
    regularizer : {None, "direct", "det", "logdet"}
        The WLD-Reg penalty on the bottleneck units (Table IV).
    reg_weight, reg_gamma : float
        The penalty's weight in the loss and its kernel's inverse width.
    random_state : int or None
        Seed of weights, dropout and batch order.
    device : str
        "cpu", "cuda", "cuda:<i>" or "auto".
    """

    reusable_training = True  # training reads only the training data (see TorchDetector)

    name = "cae_occ"
    test_params = {"epochs": 1, "input_size": 8, "filters": (8, 4, 2)}  # small and fast for the conformance kit
    family = "one-class"
    capabilities = Capabilities(min_modalities=1)  # one modality: the unimodal model of Table I
    parameter_constraints = {
        "views": OneOf("both", "left", "right"),
        "input_size": Integer(2),
        "filters": IntTuple(1),
        "dropout": Real(0, 1, high_inclusive=False),
        "epochs": Integer(1),
        "batch_size": Integer(2),
        "lr": Real(0, inclusive=False),
        "weight_decay": Real(0),
        "shared_weights": Boolean(),
        "regularizer": Optional(OneOf("direct", "det", "logdet")),
        "reg_weight": Real(0),
        "reg_gamma": Real(0, inclusive=False),
        "random_state": SEED,
        "device": Device(),
    }

    def __init__(
        self,
        views: str = "both",
        input_size: int = 32,
        filters: tuple[int, ...] = (64, 32, 16),
        dropout: float = 0.0,
        epochs: int = 4,
        batch_size: int = 32,
        lr: float = 1e-3,
        weight_decay: float = 1e-3,
        shared_weights: bool = True,
        regularizer: str | None = None,
        reg_weight: float = 0.01,
        reg_gamma: float = 1.0,
        random_state: int | None = None,
        device: str = "cpu",
    ) -> None:
        self.views = views
        self.input_size = input_size
        self.filters = tuple(filters) if isinstance(filters, (list, tuple)) else filters
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.shared_weights = shared_weights
        self.regularizer = regularizer
        self.reg_weight = reg_weight
        self.reg_gamma = reg_gamma
        self.random_state = random_state
        self.device = device

    def _check_with_data(self, train: MultiModalData) -> None:
        step = 2 ** len(self.filters)
        require(
            self.input_size % step == 0,
            self.name,
            f"input_size must be a positive multiple of {step} (2 ** len(filters)), got {self.input_size!r}",
        )
        require(len(train) >= 2, self.name, f"needs at least 2 training samples, got {len(train)}")

    def _used_views(self, data: MultiModalData) -> list[str]:
        names = list(data.names)
        return {"both": names, "left": names[:1], "right": names[1:2]}[self.views]

    # ---- training ------------------------------------------------------------------------------
    def _build(self, train: MultiModalData) -> CAENet:
        self.views_ = self._used_views(train)
        self.specs_ = {m: view_spec(m, train[m], train.kinds[m]) for m in self.views_}
        keys = share_groups(list(self.specs_.values()), self.shared_weights)
        self.shared_weights_ = len(set(keys.values())) < len(keys)
        if self.shared_weights and len(set(keys.values())) > 1:
            logger.debug(  # per fit: a sweep would repeat it for every cell (shared_weights_ records it)
                "cae_occ: the shared-weight option is off for this data: views %s are not all images "
                "with the same channel count (autoencoder per view: %s)",
                self.views_,
                keys,
            )
        # NHWC: about 1.5x faster convolutions on CPU
        return CAENet(list(self.specs_.values()), keys, self.filters, self.dropout).to(
            memory_format=torch.channels_last
        )

    def _training_inputs(self, data: MultiModalData) -> dict[str, torch.Tensor]:
        return {m: self._tensor(data[m], m) for m in self.views_}

    def _batch_loss(self, inputs: Any, idx: torch.Tensor, epoch: int, gen: torch.Generator) -> Any:
        """Eq. 3 on one batch, plus reg_weight x the WLD-Reg penalty; also each sample's ||phi||
        (its epoch mean is `metric_history_["latent_norm"]`, in training mode)."""
        latents, xs, outputs = [], [], []
        penalty = 0.0
        for m, t in inputs.items():
            x = self._resize(t[idx], m)
            z = self.net_.encode(m, x)
            latents.append(z)
            xs.append(x)
            outputs.append(self.net_.decode(m, z))
            if self.regularizer is not None:
                penalty = penalty + diversity_penalty(z, self.regularizer, float(self.reg_gamma))
        loss, norm = one_class_loss(latents, xs, outputs)
        return loss + float(self.reg_weight) * penalty, {"latent_norm": norm}

    def _after_training(self, train: MultiModalData, val: MultiModalData | None) -> None:
        self.threshold_ = float(np.percentile(self.score(train), 95))

    # ---- inputs --------------------------------------------------------------------------------
    def _tensor(self, x: np.ndarray, view: str) -> torch.Tensor:
        """Min-max scaled model input of a view, on the device (not yet resized)."""
        spec = self.specs_[view]
        arr = (_as_model_input(np.asarray(x, dtype=np.float32), spec.conv) - spec.lo) / spec.span
        return torch.as_tensor(arr, dtype=torch.float32, device=self.device_)

    def _resize(self, x: torch.Tensor, view: str) -> torch.Tensor:
        """Bilinear resize of an image-like batch to input_size x input_size; vectors pass."""
        if not self.specs_[view].conv:
            return x
        if tuple(x.shape[-2:]) != (self.input_size, self.input_size):
            x = F.interpolate(x, size=(self.input_size, self.input_size), mode="bilinear", align_corners=False)
        return x.contiguous(memory_format=torch.channels_last)

    # ---- scoring -------------------------------------------------------------------------------
    def latent(self, data: MultiModalData) -> np.ndarray:
        """The joint latent code phi (flattened latents of the used views, concatenated), eval mode."""

        def step(rows: slice) -> torch.Tensor:
            chunk = [
                self.net_.encode(m, self._resize(self._tensor(data[m][rows], m), m)).flatten(1) for m in self.views_
            ]
            return torch.cat(chunk, dim=1)

        batch = max(1, SCORE_PIXELS // self.input_size**2)
        return self._inference(len(data), step, batch).astype(np.float64)

    def score(self, data: MultiModalData) -> np.ndarray:
        """||phi||: distance of the joint latent code from the origin (higher = more anomalous)."""
        missing = [m for m in self.views_ if m not in data.names]
        if missing:
            raise ValueError(f"cae_occ was fitted on modalities {self.views_}; data lacks {missing}")
        return np.linalg.norm(self.latent(data), axis=1)
