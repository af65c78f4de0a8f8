"""The skeleton every pair-embedding baseline shares (TBNN, CMAD, CMML), kept out of the
detector modules so none of them depends on another.

The skeleton: inputs standardised with training statistics (per channel for images), one
network per detector with a part per modality, trained in seeded mini-batches with Adam, and a
score per pair from one batched pass (by default the Euclidean distance of the two modalities'
L2-normalised embeddings, higher = more anomalous). Defined on pairs: two modalities.
"""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData

from .base import Capabilities, Detector, check_ints, check_param

logger = logging.getLogger(__name__)

SCORE_BATCH = 1024


class PairEmbeddingDetector(Detector):
    """Shared fit/score of detectors that embed the two modalities of a pair and score their
    mismatch. Subclasses set `_build` (the network) and `_batch_loss`; `_pair_scores` may change
    the score. Hyper-parameters every subclass has: epochs, batch_size, lr, weight_decay,
    image_encoder, random_state, device."""

    capabilities: ClassVar[Capabilities] = Capabilities(max_modalities=2)

    # ---- what subclasses provide -------------------------------------------------------------
    def _check_params(self) -> None:
        """Raise ValueError naming any bad method-specific hyper-parameter."""

    def _build(self, train: MultiModalData) -> Any:
        """The torch module; it must offer `embed(modality, x)` (L2-normalised rows)."""
        raise NotImplementedError

    def _batch_loss(self, x: dict, labels: Any, idx: Any) -> Any:
        """Training loss of the samples `idx` (x: standardised inputs per modality on the device)."""
        raise NotImplementedError

    def _pair_scores(self, xa: Any, xb: Any) -> Any:
        """Anomaly score of each pair (rows of xa, xb): distance of the two embeddings."""
        a, b = self.modalities_
        return (self.net_.embed(a, xa) - self.net_.embed(b, xb)).norm(dim=1)

    # ---- shared ------------------------------------------------------------------------------
    def _store_training_params(
        self,
        epochs: int,
        batch_size: int,
        lr: float,
        weight_decay: float,
        image_encoder: str,
        random_state: int | None,
        device: str,
    ) -> None:
        """Constructor helper: store the hyper-parameters every pair detector has, unchecked."""
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.image_encoder = image_encoder
        self.random_state = random_state
        self.device = device

    def _validate(self, train: MultiModalData) -> None:
        from ._nets import IMAGE_ENCODERS

        check_ints(self, ("epochs",))
        check_ints(self, ("batch_size",), minimum=2)
        check_param(self.lr > 0, f"lr must be positive, got {self.lr!r}")
        check_param(self.weight_decay >= 0, f"weight_decay must be >= 0, got {self.weight_decay!r}")
        check_param(
            self.image_encoder in IMAGE_ENCODERS,
            f"image_encoder must be one of {IMAGE_ENCODERS}, got {self.image_encoder!r}",
        )
        self._check_params()
        self.check_data(train)

    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> PairEmbeddingDetector:
        """Train on the clean pairs of `train` (validation data is not used)."""
        import torch

        from ._nets import input_stats, resolve_torch_device, seed_everything, train_epochs

        self._validate(train)
        gen = seed_everything(self.random_state)
        self.device_ = resolve_torch_device(self.device)
        self.modalities_ = list(train.names)
        self.input_stats_ = {m: input_stats(train[m], train.kinds[m]) for m in self.modalities_}
        # class labels only reach fit when the detector declares it trains on them
        known = train.labels if train.labels is not None else np.zeros(len(train), dtype=np.int64)
        self.classes_, codes = np.unique(known, return_inverse=True)
        self.net_ = self._build(train).to(self.device_)
        x = {m: self._tensor(train[m], m) for m in self.modalities_}
        labels = torch.as_tensor(codes, device=self.device_)
        optimiser = torch.optim.Adam(self.net_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.loss_history_ = train_epochs(
            self.net_,
            lambda idx: self._batch_loss(x, labels, idx),
            len(train),
            self.epochs,
            self.batch_size,
            optimiser,
            gen,
            self.device_,
        )
        self.n_epochs_ = self.epochs
        logger.debug(
            "%s: %d epochs on %s, loss %.4f -> %.4f",
            self.name,
            self.epochs,
            self.device_,
            self.loss_history_[0],
            self.loss_history_[-1],
        )
        return self

    def _tensor(self, x: np.ndarray, modality: str):
        """Standardised input on the device (statistics from the training data)."""
        from ._nets import standardised

        return standardised(x, self.input_stats_[modality], self.device_)

    def score(self, data: MultiModalData) -> np.ndarray:
        """One score per pair, from batched passes in inference mode (the detector is unchanged)."""
        import torch

        a, b = self.modalities_
        parts = []
        with torch.inference_mode():
            for start in range(0, len(data), SCORE_BATCH):
                part = slice(start, start + SCORE_BATCH)
                s = self._pair_scores(self._tensor(data[a][part], a), self._tensor(data[b][part], b))
                parts.append(s.float().cpu().numpy())
        return np.concatenate(parts).astype(np.float64)
