"""An example detector plugin: one file, outside the harness, passed with --plugin.

    mmadbench run configs/default.toml --plugin examples/plugin_mean_distance.py

Score: distance of each sample's standardised, concatenated features from the training mean.
"""

from __future__ import annotations

import numpy as np

from mmadbench import Detector, MultiModalData, register_detector


def _features(data: MultiModalData) -> np.ndarray:
    return np.hstack([data[m].reshape(len(data), -1) for m in data.names]).astype(np.float64)


@register_detector
class MeanDistance(Detector):
    """Euclidean distance from the mean of the standardised training features."""

    name = "mean-distance"

    def __init__(self, eps: float = 1e-6) -> None:
        self.eps = eps

    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> MeanDistance:
        x = _features(train)
        self.mean_, self.scale_ = x.mean(axis=0), x.std(axis=0) + self.eps
        return self

    def score(self, data: MultiModalData) -> np.ndarray:
        return np.linalg.norm((_features(data) - self.mean_) / self.scale_, axis=1)
