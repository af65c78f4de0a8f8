"""The detector conformance kit: the checks every detector passes, for plugin authors' tests too.

    from mmadbench.testing import check_detector, parametrize_checks

    def test_my_detector():
        check_detector(MyDetector(k=3))   # every check; an AssertionError names the one that failed

    @parametrize_checks([MyDetector(k=3), OtherDetector()])
    def test_each_check(detector, check):
        check(detector)                   # one pytest case per detector and check

The checks run on a small synthetic two-modality dataset (and a three-modality one), with the
detector's own parameters: give a deep detector few epochs here (`Detector.test_params` holds
each built-in's fast set). They cover the contract in `mmadbench.detectors.base`: the constructor
stores only its parameters; `score` before `fit` raises NotFittedError; `fit` returns self and
keeps its state in attributes ending in "_"; `score` gives one finite float per sample, is pure
and neither rebinds a fitted attribute nor changes a fitted array; refitting and a fresh fit with the same seed give the same
scores; a fitted detector pickles; scores ignore the truth and inputs stay read-only and
unchanged; a sample's score does not depend on the others scored with it (detectors declaring
`Capabilities(transductive=True)` are exempt); three modalities work or the limit is declared.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable, Iterable
from dataclasses import replace
from functools import lru_cache

import numpy as np

from mmadbench.benchmark.measure.evaluate import fit_views
from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, Splits, prepare
from mmadbench.detectors.base import Detector
from mmadbench.detectors.registry import create_detector, get_detector_class
from mmadbench.errors import MmadbenchError, NotFittedError

Check = Callable[[Detector], None]
RTOL, ATOL = 1e-5, 1e-6  # float32 networks may differ in the last bits between batch sizes


def toy_data(n: int = 160, classes: int = 4, seed: int = 0, three: bool = False) -> MultiModalData:
    """Class-structured image (1x4x4) and text (8-d) modalities; optionally a third vector view."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    img_proto = rng.normal(size=(classes, 1, 4, 4))
    txt_proto = rng.normal(size=(classes, 8)) * 3
    mods = {
        "image": (img_proto[labels] + 0.1 * rng.normal(size=(n, 1, 4, 4))).astype(np.float32),
        "text": (txt_proto[labels] + 0.1 * rng.normal(size=(n, 8))).astype(np.float32),
    }
    kinds = {"image": "image", "text": "text"}
    if three:
        mods["view"] = (rng.normal(size=(classes, 5))[labels] + 0.1 * rng.normal(size=(n, 5))).astype(np.float32)
        kinds["view"] = "vector"
    return MultiModalData(mods, kinds, labels, name="toy")


@lru_cache(maxsize=2)
def toy_splits(three: bool = False) -> Splits:
    """Clean training data, and validation and test with injected anomalies of every kind (1:1)."""
    return prepare(toy_data(three=three), InjectionConfig("all", "1:1"), SplitConfig(), seed=0)


def _clone(detector: Detector) -> Detector:
    return type(detector)(**detector.get_params())


_FITTED: dict[tuple, Detector] = {}  # fitted clones on the two-modality data, shared by the checks that only score


def _fitted(detector: Detector, splits: Splits | None = None) -> Detector:
    """A fresh clone of `detector` fitted on `splits` (the two-modality toy data by default; that
    fit is done once per detector type and parameters and shared, since scoring is pure)."""
    key = (type(detector), repr(sorted(detector.get_params().items())))
    if splits is None and key in _FITTED:
        return _FITTED[key]
    train, val = fit_views(splits or toy_splits(), detector.capabilities)
    fitted = _clone(detector).fit(train, val)
    if splits is None:
        _FITTED[key] = fitted
    return fitted


def check_own_constructor(detector: Detector) -> None:
    """The class defines its own `__init__`, naming its hyper-parameters (checked first: without
    one, every later check fails with a message about *args/**kwargs)."""
    cls = type(detector)
    owner = next((c for c in cls.__mro__ if "__init__" in vars(c)), object)
    assert owner not in (object, Detector), (
        f"{cls.__name__} defines no __init__ of its own: a detector's constructor names its "
        "hyper-parameters, e.g. def __init__(self, k: int = 5) -> None: self.k = k, or takes none: "
        "def __init__(self) -> None: pass"
    )


def check_constructor(detector: Detector) -> None:
    """The constructor stores exactly its parameters, and a clone from get_params is equal."""
    params = detector.get_params()
    fresh = _clone(detector)
    assert set(vars(fresh)) == set(params), f"the constructor must set exactly its parameters: {sorted(vars(fresh))}"
    assert fresh.get_params() == params


def check_not_fitted(detector: Detector) -> None:
    """`score` before `fit` raises NotFittedError."""
    try:
        _clone(detector).score(toy_splits().test.blind())
    except NotFittedError:
        return
    raise AssertionError("score before fit must raise mmadbench.errors.NotFittedError")


def check_fit_and_score(detector: Detector) -> None:
    """`fit` returns self with state in attributes ending in "_"; `score` gives one finite float
    per sample, is pure, and changes no fitted attribute."""
    splits, det = toy_splits(), _clone(detector)
    params = det.get_params()
    train, val = fit_views(splits, det.capabilities)
    assert det.fit(train, val) is det, "fit must return self"
    learned = set(vars(det)) - set(params)
    assert learned and all(a.endswith("_") for a in learned), f"fitted state must end in '_': {sorted(learned)}"
    before = dict(vars(det))
    arrays = {k: v.copy() for k, v in before.items() if isinstance(v, np.ndarray)}
    scores = det.score(splits.test.blind())
    assert isinstance(scores, np.ndarray) and scores.shape == (len(splits.test),), "one score per sample"
    assert np.issubdtype(scores.dtype, np.floating) and np.isfinite(scores).all(), "finite float scores"
    np.testing.assert_array_equal(det.score(splits.test.blind()), scores, err_msg="scoring must be pure")
    rebound = sorted(k for k in before.keys() | vars(det).keys() if vars(det).get(k) is not before.get(k))
    changed = sorted(k for k, a in arrays.items() if not np.array_equal(a, vars(det)[k], equal_nan=True))
    assert not rebound and not changed, f"score changed fitted attributes: {rebound + changed}"
    assert det.get_params() == params, "score changed a parameter"


def check_refit(detector: Detector) -> None:
    """Fitting the same instance twice, or a fresh one with the same seed, gives the same scores."""
    splits, det = toy_splits(), _clone(detector)
    train, val = fit_views(splits, det.capabilities)
    first = det.fit(train, val).score(splits.test.blind())
    np.testing.assert_allclose(
        det.fit(train, val).score(splits.test.blind()),
        first,
        rtol=RTOL,
        atol=ATOL,
        err_msg="fitting twice must give the same scores",
    )
    np.testing.assert_allclose(
        _fitted(detector).score(splits.test.blind()),
        first,
        rtol=RTOL,
        atol=ATOL,
        err_msg="the same parameters and seed must give the same scores",
    )


def check_pickle(detector: Detector) -> None:
    """A fitted detector pickles and scores the same after loading."""
    det, test = _fitted(detector), toy_splits().test.blind()
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(det)).score(test), det.score(test))


def _truth_shuffled(data: MultiModalData) -> MultiModalData:
    p = np.random.default_rng(1).permutation(len(data))
    return replace(data, labels=data.labels[p], anomaly=data.anomaly[p], anomaly_type=data.anomaly_type[p])


def check_blind_and_inputs(detector: Detector) -> None:
    """Scores are the same blind, with the truth, and with shuffled truth; every input array is
    read-only and unchanged after fit and score."""
    splits = toy_splits()
    parts = (splits.train, splits.val, splits.test)
    before = {(i, m): part[m].copy() for i, part in enumerate(parts) for m in part.names}
    det = _fitted(detector, splits)
    blind = det.score(splits.test.blind())
    np.testing.assert_array_equal(det.score(splits.test), blind, err_msg="scores must not use the truth")
    np.testing.assert_array_equal(
        det.score(_truth_shuffled(splits.test)), blind, err_msg="scores must not use the truth"
    )
    for (i, m), copy in before.items():
        assert not parts[i][m].flags.writeable
        np.testing.assert_array_equal(parts[i][m], copy, err_msg="inputs must not change")


def check_sample_independence(detector: Detector) -> None:
    """A sample's score does not depend on which other samples are scored with it (skipped for
    detectors that declare `Capabilities(transductive=True)`)."""
    if detector.capabilities.transductive:
        return
    det, test = _fitted(detector), toy_splits().test.blind()
    every = det.score(test)
    some = np.arange(0, len(test), 3)
    np.testing.assert_allclose(
        det.score(test.subset(some)),
        every[some],
        rtol=1e-4,
        atol=1e-5,
        err_msg="scores depend on the batch: declare Capabilities(transductive=True)",
    )


def check_three_modalities(detector: Detector) -> None:
    """Three modalities work, or the detector declares a limit (max_modalities or modality kinds)."""
    splits = toy_splits(three=True)
    caps = detector.capabilities
    if caps.incompatibility(splits.train):
        assert caps.max_modalities == 2 or caps.modality_kinds is not None, "an incompatibility must be declared"
        return
    scores = _fitted(detector, splits).score(splits.test.blind())
    assert scores.shape == (len(splits.test),) and np.isfinite(scores).all()


def check_modality_declarations(detector: Detector) -> None:
    """A detector that declares one modality enough (`min_modalities=1`) fits and scores one; one
    that declares `handles_missing` scores test data with a modality missing in half the samples,
    without reading the values of the missing entries; one that does not refuses such data
    instead of scoring zeros as if they were observed."""
    from mmadbench.datasets.missing import mask_modality, missing_order

    splits = toy_splits()
    caps = detector.capabilities
    if caps.min_modalities <= 1:
        one = Splits(*(p.select_modalities(["text"]) for p in (splits.train, splits.val, splits.test)))
        scores = _fitted(detector, one).score(one.test.blind())
        assert scores.shape == (len(one.test),) and np.isfinite(scores).all(), "one modality declared, not scored"
    test = splits.test.blind()
    masked = mask_modality(test, "text", 0.5, missing_order(len(test), 0, 1))
    fitted = _fitted(detector)
    if caps.handles_missing:
        scores = fitted.score(masked)
        assert scores.shape == (len(test),) and np.isfinite(scores).all(), "native missing modalities not scored"
        gaps = masked.missing["text"]
        noisy = np.array(masked["text"], copy=True)
        noisy[gaps] = np.random.default_rng(0).normal(size=noisy[gaps].shape)
        other = masked.with_missing({**masked.modalities, "text": noisy}, masked.missing)
        np.testing.assert_allclose(
            fitted.score(other), scores, rtol=RTOL, atol=ATOL, err_msg="scores read the values of missing entries"
        )
        return
    try:
        fitted.score(masked)
    except MmadbenchError:
        return
    raise AssertionError("scored data with missing modalities without declaring handles_missing")


CHECKS: tuple[Check, ...] = (
    check_own_constructor,
    check_constructor,
    check_not_fitted,
    check_fit_and_score,
    check_refit,
    check_pickle,
    check_blind_and_inputs,
    check_sample_independence,
    check_three_modalities,
    check_modality_declarations,
)


def check_detector(detector: Detector, checks: Iterable[Check] = CHECKS) -> None:
    """Run every check on `detector` (unfitted, with the parameters to test); the first failure
    raises AssertionError naming the check."""
    for check in checks:
        try:
            check(detector)
        except AssertionError as exc:
            raise AssertionError(f"{type(detector).__name__} fails {check.__name__}: {exc}") from exc


def fast_detector(name: str) -> Detector:
    """A registered detector with its declared fast test parameters (`test_params`), seed 0."""
    return create_detector(name, dict(get_detector_class(name).test_params), random_state=0)


def parametrize_checks(detectors: Iterable[Detector]):
    """A pytest decorator: one case per detector and check, with arguments (detector, check)."""
    import pytest

    detectors = list(detectors)
    cases = [
        pytest.param(d, c, id=f"{getattr(d, 'name', '') or type(d).__name__}-{c.__name__}")
        for d in detectors
        for c in CHECKS
    ]
    return pytest.mark.parametrize(("detector", "check"), cases)
