"""Metrics of one cell: ranking metrics on test, and threshold metrics at a validation threshold.

The threshold is chosen on validation by Youden's index (max TPR - FPR), as in TN-BCL, and
then applied unchanged to test: a sample is flagged anomalous when its score >= threshold.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
from sklearn.metrics import average_precision_score, roc_auc_score, roc_curve

from mmadbench.errors import MmadbenchError


def _check(scores: np.ndarray, truth: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray]:
    scores, truth = np.asarray(scores, dtype=float).ravel(), np.asarray(truth, dtype=bool).ravel()
    if scores.shape != truth.shape:
        raise MmadbenchError(f"{what}: {scores.size} scores for {truth.size} samples")
    if not np.isfinite(scores).all():
        raise MmadbenchError(f"{what}: {int((~np.isfinite(scores)).sum())} scores are NaN or infinite")
    if truth.all() or not truth.any():
        raise MmadbenchError(f"{what}: needs both normal and anomalous samples")
    return scores, truth


def youden_threshold(scores: np.ndarray, truth: np.ndarray) -> float:
    """The score threshold maximising TPR - FPR (ties: the highest such threshold)."""
    scores, truth = _check(scores, truth, "youden threshold")
    fpr, tpr, thresholds = roc_curve(truth, scores)
    best = int(np.argmax(tpr - fpr))
    return float(thresholds[best]) if np.isfinite(thresholds[best]) else float(scores.max()) + 1.0


def precision_recall_at_n(scores: np.ndarray, truth: np.ndarray, n: int | None = None) -> tuple[float, float]:
    """Precision and recall among the n highest scores (n = number of true anomalies by default).

    Samples tied with the n-th highest score share the remaining places: they count by their
    expected value (the tied anomalies' share of those places), so no order of the samples,
    such as a test set sorted by class, decides who is counted.
    """
    scores, truth = np.asarray(scores, float), np.asarray(truth, bool)
    n = int(truth.sum()) if n is None else n
    if n <= 0:
        return 0.0, 0.0
    n = min(n, len(scores))
    cut = np.sort(scores)[::-1][n - 1]
    above, tied = scores > cut, scores == cut
    places = n - int(above.sum())
    hits = float(truth[above].sum()) + places * float(truth[tied].sum()) / int(tied.sum())
    return hits / n, hits / max(int(truth.sum()), 1)


@dataclass(frozen=True)
class CellMetrics:
    """All metrics of one cell; threshold metrics use `threshold` from `threshold_source`."""

    auc: float
    auprc: float
    threshold: float
    threshold_source: str
    fpr: float
    tpr: float
    accuracy: float
    precision: float
    f1: float
    precision_at_n: float
    recall_at_n: float
    val_auc: float
    detection_rate: dict[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict:
        return asdict(self)


def threshold_metrics(scores: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, float]:
    """FPR, TPR, accuracy, precision and F1 when flagging score >= threshold."""
    pred = np.asarray(scores, float) >= threshold
    truth = np.asarray(truth, bool)
    tp, fp = int((pred & truth).sum()), int((pred & ~truth).sum())
    fn, tn = int((~pred & truth).sum()), int((~pred & ~truth).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    tpr = tp / (tp + fn) if tp + fn else 0.0
    return {
        "fpr": fp / (fp + tn) if fp + tn else 0.0,
        "tpr": tpr,
        "accuracy": (tp + tn) / len(truth),
        "precision": precision,
        "f1": 2 * precision * tpr / (precision + tpr) if precision + tpr else 0.0,
    }


def detection_rates(scores: np.ndarray, types: np.ndarray, threshold: float) -> dict[str, float]:
    """Share of samples of each anomaly type flagged at the threshold (for 'normal': the FPR)."""
    flagged = np.asarray(scores, float) >= threshold
    types = np.asarray(types).astype(str)
    return {str(t): float(flagged[types == t].mean()) for t in sorted(set(types))}


def ranking_metrics(scores: np.ndarray, truth: np.ndarray, what: str = "scores") -> dict[str, float]:
    """The threshold-free figures of one scoring: AUC and AUPRC."""
    scores, truth = _check(scores, truth, what)
    return {
        "auc": float(roc_auc_score(truth, scores)),
        "auprc": float(average_precision_score(truth, scores)),
    }


def compute(
    val_scores: np.ndarray,
    val_truth: np.ndarray,
    test_scores: np.ndarray,
    test_truth: np.ndarray,
    test_types: np.ndarray | None = None,
) -> CellMetrics:
    """Every metric of a cell: Youden threshold on validation, all figures on test."""
    val_scores, val_truth = _check(val_scores, val_truth, "validation scores")
    test_scores, test_truth = _check(test_scores, test_truth, "test scores")
    threshold = youden_threshold(val_scores, val_truth)
    p_at_n, r_at_n = precision_recall_at_n(test_scores, test_truth)
    types = test_types if test_types is not None else np.where(test_truth, "anomaly", "normal")
    return CellMetrics(
        auc=float(roc_auc_score(test_truth, test_scores)),
        auprc=float(average_precision_score(test_truth, test_scores)),
        threshold=threshold,
        threshold_source="youden_val",
        precision_at_n=p_at_n,
        recall_at_n=r_at_n,
        val_auc=float(roc_auc_score(val_truth, val_scores)),
        detection_rate=detection_rates(test_scores, types, threshold),
        **threshold_metrics(test_scores, test_truth, threshold),
    )


def own_threshold_metrics(scores: np.ndarray, truth: np.ndarray, threshold: float | None) -> dict[str, float | None]:
    """The detector's own threshold (e.g. the CAE model's 95th percentile of training scores)
    and the FPR/TPR it gives on test, recorded beside the Youden figures; None without one."""
    if threshold is None:
        return {"detector_threshold": None, "own_fpr": None, "own_tpr": None}
    at = threshold_metrics(scores, truth, float(threshold))
    return {"detector_threshold": float(threshold), "own_fpr": at["fpr"], "own_tpr": at["tpr"]}
