"""The multi-view baselines (SCoNE, MUVAD, MODDIS) on synthetic two-view data with planted outliers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from mmadbench.benchmark.performance.scaling import make_multiview
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors import create_detector
from mmadbench.detectors.moddis.detector import outlier_factor
from mmadbench.detectors.moddis.loss import settled
from mmadbench.detectors.muvad import project_capped_simplex

KINDS = ("attribute", "cross_modal", "mixed")
METHODS = ("scone", "muvad", "moddis")  # each claims all three kinds


@pytest.fixture(scope="module")
def planted():
    """Two views of 10 classes; test = 1:1 normals and equal parts of the three outlier kinds."""
    return prepare(make_multiview(1000, classes=10), InjectionConfig("all", "1:1"), SplitConfig(), seed=0)


def auc_per_kind(test, scores: np.ndarray) -> dict[str, float]:
    normal = test.anomaly_type == "normal"
    return {
        kind: roc_auc_score(
            test.anomaly[normal | (test.anomaly_type == kind)], scores[normal | (test.anomaly_type == kind)]
        )
        for kind in KINDS
    }


@pytest.mark.parametrize("name", METHODS)
def test_ranks_every_planted_kind_above_normals(name, planted):
    scores = create_detector(name, random_state=0).fit(planted.train).score(planted.test)
    aucs = auc_per_kind(planted.test, scores)
    assert all(v > 0.9 for v in aucs.values()), aucs


def test_muvad_solvers_agree_in_ranking():
    data = prepare(make_multiview(300, classes=2), InjectionConfig("all", "4:1"), SplitConfig(), seed=1)
    qp = create_detector("muvad", {"solver": "qp"}).fit(data.train).score(data.test)
    spectral = create_detector("muvad", {"solver": "spectral"}).fit(data.train).score(data.test)
    assert spearmanr(qp, spectral).statistic > 0.8
    top = int(data.test.anomaly.sum())
    assert len(set(np.argsort(-qp)[:top]) & set(np.argsort(-spectral)[:top])) >= top - 1


def test_capped_simplex_projection():
    z = np.random.default_rng(0).normal(size=50) * 3
    y = project_capped_simplex(z, 20.0)
    assert y.min() >= 0 and y.max() <= 1 and abs(y.sum() - 20.0) < 1e-6
    free = (y > 1e-9) & (y < 1 - 1e-9)  # the projection shifts every free coordinate by the same amount
    assert np.ptp((z - y)[free]) < 1e-6


def test_scone_chunking_does_not_change_scores(planted):
    det = create_detector("scone", {"t": 20, "chunk_size": 1024}, random_state=3).fit(planted.train)
    whole = det.score(planted.test)
    det.set_params(chunk_size=7)
    np.testing.assert_array_equal(det.score(planted.test), whole)
    assert whole.max() <= 0 and whole.min() >= -1  # -C, C a share of neighbourhoods


def test_moddis_stops_when_the_loss_settles(planted):
    det = create_detector("moddis", {"max_steps": 4000}, random_state=0).fit(planted.train)
    steps = det.step_losses()
    assert len(steps) < 4000 and len(det.loss_history_) == len(steps) // det.window
    # an epoch is one pass over the training data, whatever the number of optimiser steps
    assert det.n_epochs_ == pytest.approx(len(steps) * 2 * det.batch_pairs / len(planted.train))
    assert settled(steps, det.window, det.tol)


def test_moddis_score_counts_every_views_deviation():
    codes = [np.zeros((1, 2)), np.array([[2.0, 0.0]])]
    # each view is 1 from the mean: 2 views x V(=2) x 1 = 4, nothing from the k-NN term
    assert outlier_factor(codes, [np.zeros(1), np.zeros(1)], alpha=2.0)[0] == pytest.approx(4.0)


@pytest.mark.parametrize(
    "name, params",
    [
        ("scone", {"psi": 1}),
        ("scone", {"psi": 10**6}),
        ("scone", {"k": 0}),
        ("muvad", {"solver": "sdp"}),
        ("muvad", {"anomaly_ratio": 1.5}),
        ("muvad", {"k": 0}),
        ("moddis", {"max_steps": 0}),
        ("moddis", {"lr": -1.0}),
    ],
)
def test_bad_hyper_parameters_are_named(name, params, planted):
    with pytest.raises(ValueError, match=next(iter(params))):
        create_detector(name, params).fit(planted.train)
