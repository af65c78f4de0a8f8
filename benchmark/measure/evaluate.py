"""The steps of measuring a detector on one cell's splits, each called once by
`cell.execute_cell`: the views `fit` may see, the timed fit, blind scoring in a seeded order, and
the metrics.

This module's code (with what it imports from the project) is part of every cell's identity
(`cell.HARNESS_MODULES`), so a change in how cells are evaluated makes new cells by itself.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from mmadbench.benchmark.measure import metrics
from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import Splits
from mmadbench.detectors.base import Capabilities, Detector
from mmadbench.errors import MmadbenchError


def fit_views(splits: Splits, caps: Capabilities) -> tuple[MultiModalData, MultiModalData]:
    """Training and validation data as `fit` may see them: class labels of the training data only
    with `requires_labels`, validation labels and anomaly flags only with `uses_validation_truth`."""
    train = splits.train.blind(labels=caps.requires_labels)
    val = splits.val.blind(labels=caps.uses_validation_truth, anomalies=caps.uses_validation_truth)
    return train, val


class Shuffler:
    """Hands out every view in a seeded random order and puts scores back in the stored order:
    the order of samples is truth too where a source is sorted by class (the one-class protocol
    on mfeat or audio-visual digits puts the normal class in one block)."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng([seed, 7])

    def view(self, data: MultiModalData) -> MultiModalData:
        return data.subset(self.rng.permutation(len(data)))

    def score(self, detector: Detector, data: MultiModalData, name: str, split: str) -> np.ndarray:
        """The detector's scores of `data` seen blind and shuffled, in `data`'s own order."""
        order = self.rng.permutation(len(data))
        scores = np.empty(len(data))
        scores[order] = as_scores(detector.score(data.blind().subset(order)), len(data), name, split)
        return scores


def as_scores(raw: Any, n: int, name: str, split: str) -> np.ndarray:
    """The detector's scores as float64 [n]; anything else is an error that says what was wrong."""
    try:
        scores = np.asarray(raw, dtype=np.float64)
    except (TypeError, ValueError):
        scores = None
    if raw is None or scores is None or scores.shape != (n,):
        shape = None if scores is None or raw is None else scores.shape
        raise MmadbenchError(
            f"{name}.score({split}) must return one float per sample, shape ({n},); got "
            f"{type(raw).__name__} of shape {shape}. Detectors score blind: labels, anomaly, "
            "anomaly_type, texts and extras are None or empty in the data they score"
        )
    return scores


def fit(detector: Detector, train: MultiModalData, val: MultiModalData) -> float:
    """Fit on the views the detector may see; its seconds. `fit` must return the detector."""
    start = time.perf_counter()
    fitted = detector.fit(train, val)
    fit_s = time.perf_counter() - start
    if fitted is not detector:
        raise MmadbenchError(f"{detector.name}.fit must return self")
    return fit_s


@dataclass(frozen=True)
class Scored:
    """Validation and test scores in the splits' own order, and the scoring's seconds."""

    val: np.ndarray
    test: np.ndarray
    val_s: float
    test_s: float


def score(detector: Detector, splits: Splits, shuffle: Shuffler) -> Scored:
    """Validation, then test, each blind and in the shuffler's seeded order."""
    start = time.perf_counter()
    val_scores = shuffle.score(detector, splits.val, detector.name, "validation")
    mid = time.perf_counter()
    test_scores = shuffle.score(detector, splits.test, detector.name, "test")
    end = time.perf_counter()
    return Scored(val_scores, test_scores, mid - start, end - mid)


def measure(detector: Detector, splits: Splits, scored: Scored, fit_s: float) -> dict:
    """The measured fields of the cell's record: metrics (threshold from validation), timings,
    and the detector's own threshold's rates."""
    m = metrics.compute(scored.val, splits.val.anomaly, scored.test, splits.test.anomaly, splits.test.anomaly_type)
    epochs = detector.n_epochs_
    return {
        **m.as_dict(),
        "fit_s": fit_s,
        "score_s_per_1k": 1000 * scored.test_s / len(splits.test),
        "detector_s": scored.val_s + scored.test_s + fit_s,
        "fit_s_per_epoch": fit_s / epochs if epochs else None,
        **metrics.own_threshold_metrics(scored.test, splits.test.anomaly, detector.threshold_),
    }


def score_file(splits: Splits, scored: Scored) -> dict[str, np.ndarray]:
    """What the cell's scores file keeps: scores with their truth, for ROC curves without re-running."""
    return {
        "test_scores": scored.test,
        "test_truth": np.asarray(splits.test.anomaly),
        "test_types": np.asarray(splits.test.anomaly_type).astype(str),
        "val_scores": scored.val,
        "val_truth": np.asarray(splits.val.anomaly),
    }
