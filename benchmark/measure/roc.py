"""A cell's test ROC curve on a fixed grid of false positive rates, kept on its row, so that ROC
figures can be drawn from the database alone (score files are not committed; a sweep that spans
sessions resumes from a committed database)."""

from __future__ import annotations

import numpy as np

GRID = np.linspace(0.0, 1.0, 201)  # false positive rates the curves of different seeds are averaged on


def tpr_on_grid(truth: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """TPR at each false positive rate of GRID (interpolated; 0 at FPR 0, as figures draw it)."""
    from sklearn.metrics import roc_curve

    fpr, tpr, _ = roc_curve(np.asarray(truth, bool), scores)
    curve = np.interp(GRID, fpr, tpr)
    curve[0] = 0.0
    return curve


def stored_curve(scores: dict[str, np.ndarray]) -> list[float] | None:
    """The curve as the row keeps it (4 decimals), or None when the test split has one class."""
    truth = np.asarray(scores["test_truth"], bool)
    if truth.all() or not truth.any():
        return None
    return [round(float(v), 4) for v in tpr_on_grid(truth, scores["test_scores"])]
