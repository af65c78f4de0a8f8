"""The contract every registered detector must meet (built-ins and installed plugins alike), checked
with the public kit `mmadbench.testing` that plugin authors use too."""

from __future__ import annotations

import pickle
import subprocess
import sys
from dataclasses import replace

import pytest

from mmadbench.detectors import create_detector, list_detectors
from mmadbench.testing import check_sample_independence, fast_detector, parametrize_checks, toy_splits

NAMES = list_detectors()


@pytest.fixture(scope="module")
def splits():
    return toy_splits()


def test_registry_has_the_pyod_baselines():
    for name in ("iforest", "lof", "knn", "ocsvm", "ecod", "copod", "pca", "autoencoder"):
        assert name in NAMES and f"{name}-late" in NAMES


@parametrize_checks([fast_detector(name) for name in NAMES])
def test_every_detector_passes_the_public_kit(detector, check):
    """mmadbench.testing's checks, with each detector's fast parameters (see its `test_params`)."""
    check(detector)


def test_the_kit_catches_a_batch_dependent_detector():
    """A detector whose scores depend on the batch fails unless it declares itself transductive."""
    ecod = fast_detector("ecod")
    assert ecod.capabilities.transductive  # PyOD's ECOD refits its CDFs on the scored batch
    undeclared = type("Undeclared", (type(ecod),), {"capabilities": replace(ecod.capabilities, transductive=False)})
    with pytest.raises(AssertionError, match="transductive"):
        check_sample_independence(undeclared(**ecod.get_params()))


def test_a_fitted_deep_detector_loads_in_a_fresh_interpreter(splits, tmp_path):
    """The torch classes are built lazily; pickle must still find them in a new process."""
    det = create_detector("cmad", {"epochs": 1}, random_state=0).fit(splits.train)
    path = tmp_path / "cmad.pkl"
    path.write_bytes(pickle.dumps(det))
    code = f"import pickle; det = pickle.loads(open({str(path)!r}, 'rb').read()); print(type(det.net_).__qualname__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "CMADNet"
