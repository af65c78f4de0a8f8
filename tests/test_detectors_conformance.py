"""The contract every registered detector must meet (built-ins and installed plugins alike)."""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from conftest import make_toy

from mmadbench.benchmark.evaluate import fit_views
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors import create_detector, get_detector_class, list_detectors

NAMES = list_detectors()


@pytest.fixture(scope="module")
def splits():
    return prepare(make_toy(n=160), InjectionConfig("all", "1:1"), SplitConfig(), seed=0)


@pytest.fixture(scope="module")
def splits3():
    return prepare(make_toy(n=160, three=True), InjectionConfig("all", "1:1"), SplitConfig(), seed=0)


def test_registry_has_the_pyod_baselines():
    for name in ("iforest", "lof", "knn", "ocsvm", "ecod", "copod", "pca", "autoencoder"):
        assert name in NAMES and f"{name}-late" in NAMES


@pytest.mark.parametrize("name", NAMES)
def test_constructor_only_stores_params(name):
    det = create_detector(name)
    params = det.get_params()
    assert set(vars(det)) == set(params), "the constructor must set exactly its parameters"
    clone = type(det)(**params)
    assert clone.get_params() == params
    assert get_detector_class(name).name == name


@pytest.mark.parametrize("name", NAMES)
def test_fit_score_contract(name, splits):
    det = create_detector(name, random_state=0)
    params = dict(det.get_params())
    assert det.fit(splits.train, splits.val) is det
    learned = set(vars(det)) - set(params)
    assert learned and all(a.endswith("_") for a in learned), f"fitted state must end in '_': {sorted(learned)}"
    scores = det.score(splits.test)
    assert isinstance(scores, np.ndarray) and scores.shape == (len(splits.test),)
    assert np.issubdtype(scores.dtype, np.floating) and np.isfinite(scores).all()
    state = {k: v for k, v in vars(det).items()}
    again = det.score(splits.test)
    np.testing.assert_array_equal(again, scores)  # scoring is pure
    assert vars(det).keys() == state.keys() and det.get_params() == params
    restored = pickle.loads(pickle.dumps(det))  # a fitted detector can be saved and loaded
    np.testing.assert_array_equal(restored.score(splits.test), scores)


def _truth_shuffled(data):
    """The same samples with their class labels, anomaly flags and types permuted."""
    p = np.random.default_rng(1).permutation(len(data))
    return replace(data, labels=data.labels[p], anomaly=data.anomaly[p], anomaly_type=data.anomaly_type[p])


@pytest.mark.parametrize("name", NAMES)
def test_scores_ignore_truth_and_inputs_are_left_alone(name, splits):
    """Fit on the views the runner hands out; scores are the same blind, with the truth, and
    with shuffled truth; every input array is read-only and unchanged afterwards."""
    parts = (splits.train, splits.val, splits.test)
    before = {(i, m): part[m].copy() for i, part in enumerate(parts) for m in part.names}
    det = create_detector(name, random_state=0).fit(*fit_views(splits, get_detector_class(name).capabilities))
    blind = det.score(splits.test.blind())
    np.testing.assert_array_equal(det.score(splits.test), blind)
    np.testing.assert_array_equal(det.score(_truth_shuffled(splits.test)), blind)
    for (i, m), copy in before.items():
        array = parts[i][m]
        assert not array.flags.writeable
        np.testing.assert_array_equal(array, copy)


@pytest.mark.parametrize("name", NAMES)
def test_same_seed_same_scores(name, splits):
    a = create_detector(name, random_state=7).fit(splits.train).score(splits.test)
    b = create_detector(name, random_state=7).fit(splits.train).score(splits.test)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_three_modalities_or_declared_limit(name, splits3):
    cls = get_detector_class(name)
    reason = cls.capabilities.incompatibility(splits3.train)
    if reason:
        assert cls.capabilities.max_modalities == 2 or cls.capabilities.modality_kinds is not None
        return
    scores = create_detector(name, random_state=0).fit(splits3.train).score(splits3.test)
    assert scores.shape == (len(splits3.test),) and np.isfinite(scores).all()


def test_a_fitted_deep_detector_loads_in_a_fresh_interpreter(splits, tmp_path):
    """The torch classes are built lazily; pickle must still find them in a new process."""
    det = create_detector("cmad", {"epochs": 1}, random_state=0).fit(splits.train)
    path = tmp_path / "cmad.pkl"
    path.write_bytes(pickle.dumps(det))
    code = f"import pickle; det = pickle.loads(open({str(path)!r}, 'rb').read()); print(type(det.net_).__qualname__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "CMADNet"
