"""Evaluating a detector on one cell's splits: the views it may see, blind scoring in a seeded
order, and the metrics.

This module's code (with what it imports from the project) is part of every cell's identity
(`cell.HARNESS_MODULES`), so a change in how cells are evaluated makes new cells by itself.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import Splits
from mmadbench.detectors.base import Capabilities, Detector
from mmadbench.errors import MmadbenchError

from . import metrics


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


def evaluate(detector: Detector, caps: Capabilities, splits: Splits, seed: int) -> tuple[dict, dict[str, np.ndarray]]:
    """Fit on the views the detector may see, score validation and test blind, compute metrics;
    return the measured fields of the cell's record and its scores."""
    name = detector.name
    shuffle = Shuffler(seed)
    train, val = (shuffle.view(v) for v in fit_views(splits, caps))
    start = time.perf_counter()
    fitted = detector.fit(train, val)
    fit_s = time.perf_counter() - start
    if fitted is not detector:
        raise MmadbenchError(f"{name}.fit must return self")
    start = time.perf_counter()
    val_scores = shuffle.score(detector, splits.val, name, "validation")
    mid = time.perf_counter()
    test_scores = shuffle.score(detector, splits.test, name, "test")
    end = time.perf_counter()
    m = metrics.compute(val_scores, splits.val.anomaly, test_scores, splits.test.anomaly, splits.test.anomaly_type)
    epochs = detector.n_epochs_
    measured = {
        **m.as_dict(),
        "fit_s": fit_s,
        "score_s_per_1k": 1000 * (end - mid) / len(splits.test),
        "detector_s": end - start + fit_s,
        "fit_s_per_epoch": fit_s / epochs if epochs else None,
        **metrics.own_threshold_metrics(test_scores, splits.test.anomaly, detector.threshold_),
    }
    scores = {
        "test_scores": test_scores,
        "test_truth": np.asarray(splits.test.anomaly),
        "test_types": np.asarray(splits.test.anomaly_type).astype(str),
        "val_scores": val_scores,
        "val_truth": np.asarray(splits.val.anomaly),
    }
    return measured, scores
