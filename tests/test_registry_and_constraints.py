"""The registry table matches the classes it names, listing stays light, and every built-in
declares its parameter constraints, checked by the base in one wording."""

from __future__ import annotations

import subprocess
import sys

import pytest

from mmadbench.detectors import create_detector, describe, get_detector_class
from mmadbench.detectors.constraints import Integer, OneOf, Optional, Real, check_parameters
from mmadbench.detectors.registry import BUILTINS
from mmadbench.errors import ParameterError
from mmadbench.testing import toy_splits


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_the_table_matches_the_class(name):
    info, cls = BUILTINS[name], get_detector_class(name)
    assert info.target == f"{cls.__module__}:{cls.__qualname__}"
    assert info.capabilities == cls.capabilities, "the table's capabilities must be the class's"
    assert info.family == cls.family
    assert cls.name == name


@pytest.mark.parametrize("name", sorted(BUILTINS))
def test_every_parameter_is_declared_and_the_defaults_pass(name):
    cls = get_detector_class(name)
    free = {"model_params"}  # a PyOD model's own keyword arguments: PyOD checks them
    assert set(cls.param_names()) - free == set(cls.parameter_constraints)
    cls().check_parameters()


def test_listing_imports_no_torch_and_no_detector():
    code = (
        "import sys; from mmadbench.detectors import list_detectors, describe; "
        "names = list_detectors(); [describe(n) for n in names]; "
        "loaded = sorted(m for m in sys.modules if m == 'torch' or m.startswith('mmadbench.detectors.tnbcl') "
        "or m == 'sklearn'); print(len(names), loaded)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert int(out[0]) >= 24 and out[1] == "[]"


def test_describe_a_registered_class(registry):
    from mmadbench.detectors import Detector, register_detector

    @register_detector
    class Zero(Detector):
        """Scores zero."""

        name = "zero-test"

        def fit(self, train, val=None):
            return self

        def score(self, data):
            return data[data.names[0]].reshape(len(data), -1)[:, 0] * 0.0

    assert describe("zero-test").summary == "Scores zero."


@pytest.mark.parametrize(
    ("constraint", "good", "bad", "words"),
    [
        (Integer(1), [1, 5], [0, 1.5, True, "2"], "an integer >= 1"),
        (Real(0, inclusive=False), [0.1, 3], [0, -1, float("nan"), False], "a number > 0"),
        (Real(0, 1, high_inclusive=False), [0, 0.5], [1, 1.5], "a number >= 0 and < 1"),
        (OneOf("a", "b"), ["a"], ["c", None], "one of ('a', 'b')"),
        (Optional(Integer(1)), [None, 2], [0], "None or an integer >= 1"),
    ],
)
def test_constraints_accept_and_describe(constraint, good, bad, words):
    assert all(constraint.accepts(v) for v in good)
    assert not any(constraint.accepts(v) for v in bad)
    assert constraint.describe() == words


def test_one_message_format():
    with pytest.raises(ParameterError, match=r"^det: k must be an integer >= 1, got 0$"):
        check_parameters("det", {"k": 0}, {"k": Integer(1)})


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        ("tnbcl", {"mining": "soft"}, "tnbcl: mining must be one of"),
        ("cae_occ", {"dropout": 1.0}, "cae_occ: dropout must be a number >= 0 and < 1, got 1.0"),
        ("scone", {"random_state": -1}, "scone: random_state must be None or an integer >= 0"),
        ("knn", {"device": "gpu"}, "knn: device must be 'auto', 'cpu', 'cuda'"),
    ],
)
def test_the_base_checks_when_fit_starts(name, params, message):
    det = create_detector(name, params)  # the constructor only stores
    with pytest.raises(ParameterError, match=message):
        det.fit(toy_splits().train)
    assert not det.is_fitted()
