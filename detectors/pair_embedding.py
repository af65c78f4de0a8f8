"""The skeleton of the pair-embedding baselines (TBNN, CMAD, CMML), on TorchDetector.

Inputs are standardised with training statistics (per channel for images); one network per
detector with a part per modality is trained by the TorchDetector loop with Adam; a pair's
score comes from one batched pass (by default the Euclidean distance of the two modalities'
L2-normalised embeddings, higher = more anomalous). Defined on pairs: two modalities.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData

from .base import Capabilities
from .constraints import SEED, Constraint, Device, Integer, OneOf, Real
from .torch_detector import TorchDetector, input_stats, standardised

IMAGE_ENCODERS = ("cnn", "vit")

# the parameters every pair-embedding detector has; a subclass adds its own to these
PAIR_CONSTRAINTS: dict[str, Constraint] = {
    "epochs": Integer(1),
    "batch_size": Integer(2),
    "lr": Real(0, inclusive=False),
    "weight_decay": Real(0),
    "image_encoder": OneOf(*IMAGE_ENCODERS),
    "random_state": SEED,
    "device": Device(),
}


class PairEmbeddingDetector(TorchDetector):
    """Detectors that embed the two modalities of a pair and score their mismatch. A subclass
    gives `_network` (a module with `embed(modality, x)`, rows L2-normalised) and `_pair_loss`;
    `_pair_scores` may change the score. It declares epochs, batch_size, lr, weight_decay,
    image_encoder, random_state and device among its parameters."""

    reusable_training = True  # training reads only the training data (see TorchDetector)

    capabilities: ClassVar[Capabilities] = Capabilities(max_modalities=2)
    parameter_constraints: ClassVar[dict[str, Constraint]] = PAIR_CONSTRAINTS

    # ---- what a subclass provides ----------------------------------------------------------
    def _network(self, train: MultiModalData) -> Any:
        raise NotImplementedError

    def _pair_loss(self, x: dict[str, Any], labels: Any, idx: Any) -> Any:
        """Training loss of the samples `idx` (x: standardised inputs per modality on the device)."""
        raise NotImplementedError

    def _pair_scores(self, xa: Any, xb: Any) -> Any:
        """Anomaly score of each pair (rows of xa, xb): distance of the two embeddings."""
        a, b = self.modalities_
        return (self.net_.embed(a, xa) - self.net_.embed(b, xb)).norm(dim=1)

    # ---- TorchDetector hooks ---------------------------------------------------------------
    def _build(self, train: MultiModalData) -> Any:
        self.modalities_ = list(train.names)
        self.input_stats_ = {m: input_stats(train[m]) for m in self.modalities_}
        # class labels only reach fit when the detector declares it trains on them
        known = train.labels if train.labels is not None else np.zeros(len(train), dtype=np.int64)
        self.classes_ = np.unique(known)
        return self._network(train)

    def _training_inputs(self, data: MultiModalData) -> tuple[dict[str, Any], Any]:
        import torch

        known = data.labels if data.labels is not None else np.full(len(data), self.classes_[0])
        codes = np.searchsorted(self.classes_, known)
        x = {m: self._tensor(data[m], m) for m in self.modalities_}
        return x, torch.as_tensor(codes, device=self.device_)

    def _batch_loss(self, inputs: Any, idx: Any, epoch: int, gen: Any) -> Any:
        x, labels = inputs
        return self._pair_loss(x, labels, idx)

    def _tensor(self, x: np.ndarray, modality: str) -> Any:
        """Standardised input on the device (statistics from the training data)."""
        return standardised(x, self.input_stats_[modality], self.device_)

    def score(self, data: MultiModalData) -> np.ndarray:
        """One score per pair, from batched passes in inference mode (the detector is unchanged)."""
        a, b = self.modalities_
        scores = self._inference(
            len(data), lambda rows: self._pair_scores(self._tensor(data[a][rows], a), self._tensor(data[b][rows], b))
        )
        return scores.astype(np.float64)
