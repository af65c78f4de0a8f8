"""Every PyOD detector by name ("pyod:<Class>[-late]"), and a clear error before fit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from mmadbench.detectors.pyod_models import catalog_names, pyod_catalog
from mmadbench.detectors.registry import create_detector, get_detector_class, list_detectors
from mmadbench.errors import NotFittedError, RegistryError


def test_the_catalog_holds_every_pyod_detector_without_importing_them():
    catalog = pyod_catalog()
    assert {"LODA", "HBOS", "DeepSVDD", "IForest", "KNN"} <= set(catalog)
    assert catalog["LODA"] == "loda.LODA" and catalog["DeepSVDD"] == "deep_svdd.DeepSVDD"
    assert "pyod:LODA" in catalog_names() and "pyod:LODA-late" in catalog_names()


def test_pyod_names_resolve_early_and_late(toy):
    early, late = get_detector_class("pyod:LODA"), get_detector_class("pyod:HBOS-late")
    assert early.fusion == "early" and late.fusion == "late" and late.family == "PyOD late fusion"
    assert "pyod:LODA" in list_detectors("pyod:*")
    for name in ("pyod:LODA", "pyod:HBOS-late"):
        det = create_detector(name, random_state=0).fit(toy)
        scores = det.score(toy)
        assert scores.shape == (len(toy),) and np.isfinite(scores).all()
        np.testing.assert_array_equal(pickle.loads(pickle.dumps(det)).score(toy), scores)


def test_an_unknown_pyod_name_suggests_close_ones():
    with pytest.raises(RegistryError, match="pyod:LODA"):
        get_detector_class("pyod:LOD")


@pytest.mark.parametrize("name", ["knn", "scone", "pyod:HBOS"])
def test_score_before_fit_says_not_fitted(name, toy):
    det = create_detector(name, random_state=0)
    with pytest.raises(NotFittedError, match="not fitted: call fit"):
        det.score(toy)
    assert not det.is_fitted() and det.fit(toy).is_fitted()


@pytest.mark.slow
@pytest.mark.parametrize("executor", ["inprocess", "process"])
def test_pyod_names_run_in_a_sweep(tmp_path, executor):
    from mmadbench.benchmark.execution.runner import run_sweep
    from mmadbench.benchmark.execution.store import ResultsStore
    from mmadbench.benchmark.measure.config import parse_sweep

    sweep = parse_sweep(
        'name = "p"\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\ntypes = ["all"]\n'
        'ratios = ["1:1"]\n[[detectors]]\nname = "pyod:LODA"\n[[detectors]]\nname = "pyod:HBOS-late"\n'
    )
    summary = run_sweep(sweep, out=tmp_path, executor=executor)  # a worker resolves the names itself
    with ResultsStore(summary.out) as store:
        rows = store.frame().set_index("detector")
    assert rows.status.to_dict() == {"pyod:HBOS-late": "ok", "pyod:LODA": "ok"}
    assert rows.loc["pyod:HBOS-late", "family"] == "PyOD late fusion" and (rows.auc > 0.5).all()
