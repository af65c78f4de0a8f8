"""Multi-view inputs: every modality flattened to a vector view and min-max scaled with training
statistics, the protocol of the multi-view anomaly detection literature (SCoNE, MUVAD, MODDIS)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mmadbench.datasets.data import MultiModalData


def flat_views(data: MultiModalData) -> list[np.ndarray]:
    """Every modality of `data` flattened to a float64 matrix [n, d_v], in `data.names` order."""
    return [np.asarray(data[m], dtype=np.float64).reshape(len(data), -1) for m in data.names]


@dataclass
class MinMaxViews:
    """Per-view, per-feature min-max scaling learned on training data (range 0 -> 1)."""

    names: tuple[str, ...]
    mins: list[np.ndarray]
    spans: list[np.ndarray]

    @classmethod
    def fit(cls, data: MultiModalData) -> MinMaxViews:
        """Minimum and range of every feature of every view of `data`."""
        views = flat_views(data)
        spans = [v.max(axis=0) - v.min(axis=0) for v in views]
        return cls(tuple(data.names), [v.min(axis=0) for v in views], [np.where(s > 0, s, 1.0) for s in spans])

    def transform(self, data: MultiModalData) -> list[np.ndarray]:
        """The views of `data` scaled with the training statistics, as float32 matrices."""
        if tuple(data.names) != self.names:
            raise ValueError(f"data has modalities {list(data.names)}, the detector was fitted on {list(self.names)}")
        return [((v - lo) / sp).astype(np.float32) for v, lo, sp in zip(flat_views(data), self.mins, self.spans)]
