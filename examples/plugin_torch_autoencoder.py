"""An example deep detector plugin on TorchDetector: one file, passed with --plugin.

    mmadbench run configs/default.toml --plugin examples/plugin_torch_autoencoder.py

Score: reconstruction error of a small autoencoder over the standardised, concatenated modalities.
TorchDetector supplies seeding, the device, the training loop (with early stopping on the
validation loss when `patience` is set), batched inference and pickling.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from mmadbench import MultiModalData, TorchDetector, register_detector
from mmadbench.detectors.constraints import SEED, Device, Integer, Optional, Real


def _features(data: MultiModalData) -> np.ndarray:
    return np.hstack([data[m].reshape(len(data), -1) for m in data.names]).astype(np.float32)


@register_detector
class TinyAutoencoder(TorchDetector):
    """Reconstruction error of an MLP autoencoder (d -> hidden -> code -> hidden -> d)."""

    name = "tiny-autoencoder"
    test_params = {"epochs": 3}
    parameter_constraints = {
        "hidden": Integer(1),
        "code": Integer(1),
        "epochs": Integer(1),
        "batch_size": Integer(2),
        "lr": Real(0, inclusive=False),
        "weight_decay": Real(0),
        "patience": Optional(Integer(1)),
        "random_state": SEED,
        "device": Device(),
    }

    def __init__(self, hidden: int = 64, code: int = 8, epochs: int = 30, batch_size: int = 64, lr: float = 1e-3,
                 weight_decay: float = 0.0, patience: int | None = None, random_state: int | None = None,
                 device: str = "cpu") -> None:  # fmt: skip
        self.hidden = hidden
        self.code = code
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.patience = patience
        self.random_state = random_state
        self.device = device

    def _build(self, train: MultiModalData) -> nn.Module:
        x = _features(train)
        self.mean_, self.scale_ = x.mean(axis=0), x.std(axis=0) + 1e-6
        d, h, c = x.shape[1], self.hidden, self.code
        return nn.Sequential(nn.Linear(d, h), nn.ReLU(), nn.Linear(h, c), nn.ReLU(), nn.Linear(c, h), nn.ReLU(),
                             nn.Linear(h, d))  # fmt: skip

    def _training_inputs(self, data: MultiModalData) -> torch.Tensor:
        return torch.as_tensor((_features(data) - self.mean_) / self.scale_, device=self.device_)

    def _batch_loss(self, inputs, idx, epoch, gen):
        x = inputs[idx]
        return (self.net_(x) - x).pow(2).mean()

    def score(self, data: MultiModalData) -> np.ndarray:
        x = self._training_inputs(data)
        error = self._inference(len(data), lambda rows: (self.net_(x[rows]) - x[rows]).pow(2).mean(dim=1))
        return error.astype(np.float64)
