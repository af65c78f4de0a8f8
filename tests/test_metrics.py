"""Metrics against hand-computed cases."""

import numpy as np
import pytest

from mmadbench.benchmark.measure import metrics
from mmadbench.errors import MmadbenchError


def test_youden_threshold_picks_best_separation():
    scores = np.array([0.1, 0.2, 0.3, 0.35, 0.8, 0.9])
    truth = np.array([0, 0, 0, 1, 1, 1], bool)
    # thresholds >= 0.35 flag all three anomalies and no normal: TPR - FPR = 1
    assert metrics.youden_threshold(scores, truth) == pytest.approx(0.35)


def test_threshold_metrics_hand_counts():
    scores = np.array([0.1, 0.6, 0.2, 0.7, 0.4, 0.9])
    truth = np.array([0, 0, 0, 1, 1, 1], bool)
    m = metrics.threshold_metrics(scores, truth, 0.5)
    # flagged: 0.6 (FP), 0.7 (TP), 0.9 (TP); missed 0.4 (FN); TN 0.1, 0.2
    assert m["tpr"] == pytest.approx(2 / 3)
    assert m["fpr"] == pytest.approx(1 / 3)
    assert m["accuracy"] == pytest.approx(4 / 6)
    assert m["precision"] == pytest.approx(2 / 3)
    assert m["f1"] == pytest.approx(2 / 3)


def test_precision_recall_at_n():
    scores = np.array([0.9, 0.8, 0.1, 0.7, 0.2])
    truth = np.array([1, 0, 0, 1, 1], bool)
    p, r = metrics.precision_recall_at_n(scores, truth)  # n = 3: top are 0.9, 0.8, 0.7 -> 2 hits
    assert (p, r) == pytest.approx((2 / 3, 2 / 3))


def test_precision_at_n_counts_ties_at_the_cut_by_expected_value():
    # n = 2 anomalies; 0.9 is a sure hit; three samples tie at 0.5 for the one place left, one
    # of them an anomaly: expected hits 1 + 1/3, whatever the order of the samples
    scores = np.array([0.9, 0.5, 0.5, 0.5, 0.1])
    truth = np.array([1, 0, 1, 0, 0], bool)
    for order in ([0, 1, 2, 3, 4], [4, 3, 2, 1, 0], [2, 0, 3, 1, 4]):
        p, r = metrics.precision_recall_at_n(scores[order], truth[order])
        assert (p, r) == pytest.approx(((4 / 3) / 2, (4 / 3) / 2))


def test_precision_at_n_all_tied_is_the_anomaly_share():
    truth = np.array([1, 0, 0, 0, 1, 0, 0, 0], bool)
    p, _ = metrics.precision_recall_at_n(np.zeros(8), truth)
    assert p == pytest.approx(truth.mean())


def test_compute_uses_validation_threshold_on_test():
    val_s, val_t = np.array([0.1, 0.2, 0.8, 0.9]), np.array([0, 0, 1, 1], bool)
    test_s = np.array([0.1, 0.85, 0.5, 0.95])
    test_t = np.array([0, 0, 1, 1], bool)
    types = np.array(["normal", "normal", "cross_modal", "attribute"])
    m = metrics.compute(val_s, val_t, test_s, test_t, types)
    assert m.threshold == pytest.approx(0.8)
    assert m.fpr == pytest.approx(0.5) and m.tpr == pytest.approx(0.5) and m.accuracy == pytest.approx(0.5)
    assert m.auc == pytest.approx(0.75)  # pairs (anomaly > normal): 0.5>0.1, 0.95>0.1, 0.95>0.85 -> 3 of 4
    assert m.detection_rate == {"attribute": 1.0, "cross_modal": 0.0, "normal": 0.5}
    assert m.threshold_source == "youden_val"


def test_perfect_and_inverted_auc():
    t = np.array([0, 0, 1, 1], bool)
    m = metrics.compute(np.array([0, 0, 1, 1.0]), t, np.array([0, 0.5, 2, 3.0]), t)
    assert m.auc == 1.0 and m.auprc == 1.0 and m.accuracy == 1.0
    m = metrics.compute(np.array([0, 0, 1, 1.0]), t, np.array([3, 2, 1, 0.0]), t)
    assert m.auc == 0.0


@pytest.mark.parametrize(
    "scores,truth,msg",
    [
        (np.array([0.1, np.nan]), np.array([0, 1], bool), "NaN"),
        (np.array([0.1, 0.2]), np.array([1, 1], bool), "both normal and anomalous"),
        (np.array([0.1, 0.2, 0.3]), np.array([0, 1], bool), "3 scores for 2 samples"),
    ],
)
def test_bad_inputs_raise_clear_errors(scores, truth, msg):
    with pytest.raises(MmadbenchError, match=msg):
        metrics.youden_threshold(scores, truth)


def test_own_threshold_metrics():
    from mmadbench.benchmark.measure.metrics import own_threshold_metrics

    scores, truth = np.array([0.1, 0.2, 0.9, 0.3]), np.array([False, False, True, True])
    assert own_threshold_metrics(scores, truth, None) == {"detector_threshold": None, "own_fpr": None, "own_tpr": None}
    got = own_threshold_metrics(scores, truth, 0.15)
    assert got == {"detector_threshold": 0.15, "own_fpr": 0.5, "own_tpr": 1.0}
