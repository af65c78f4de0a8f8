"""The Detector contract: what every detector is and promises (names live in `registry`).

Contract (scikit-learn / PyOD habits): the constructor only stores keyword hyper-parameters
under attributes of the same name; `fit(train, val=None)` learns state in attributes ending
in `_` and returns self; `score(data)` returns one float per sample, higher = more anomalous,
and never changes the detector. Thresholds and metrics belong to the harness.

What a detector sees (the runner enforces it): every array read-only; `score` gets no class
labels, anomaly flags or types, captions or extras, and every view comes in a seeded random
order; `fit` gets the training class labels only when `capabilities.requires_labels`, and the
validation anomaly flags, types and class labels only when `capabilities.uses_validation_truth`
(tables mark such rows).
"""

from __future__ import annotations

import functools
import inspect
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import MmadbenchError, NotFittedError

from .constraints import Constraint, check_parameters

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Capabilities:
    """What a detector needs from the data; the runner skips incompatible cells with the reason."""

    requires_labels: bool = False  # trains with class labels of the normal training data
    uses_validation_truth: bool = False  # fit reads the anomaly flags of the validation data
    transductive: bool = False  # fit only keeps reference data; the method's work is done in score
    modality_kinds: frozenset[str] | None = None  # None: any kind
    min_modalities: int = 2
    max_modalities: int | None = None  # 2 for methods defined on pairs only
    handles_missing: bool = False  # scores data with missing modalities itself (reads `data.missing`)

    def incompatibility(self, data: MultiModalData) -> str | None:
        """Why this detector cannot run on `data`, or None when it can."""
        n = len(data.names)
        if self.requires_labels and (data.labels is None or len(np.unique(data.labels)) < 2):
            return "trains with class labels, and the training data has a single class"
        if n < self.min_modalities:
            return f"needs at least {self.min_modalities} modalities, data has {n}"
        if self.max_modalities is not None and n > self.max_modalities:
            return f"supports at most {self.max_modalities} modalities, data has {n}"
        if self.modality_kinds is not None:
            bad = sorted({k for k in data.kinds.values()} - set(self.modality_kinds))
            if bad:
                return f"does not handle modality kind(s) {bad}"
        if data.has_missing and not self.handles_missing:
            return "does not handle missing modalities (impute them first)"
        return None


class Detector(ABC):
    """Base class of every detector: subclass it, set `name`, implement `fit` and `score`."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    parameter_constraints: ClassVar[dict[str, Constraint]] = {}  # checked by the base when fit starts
    # True when the method could not be read at its source and is rebuilt from a secondary description
    rebuilt_from_description: ClassVar[bool] = False
    test_params: ClassVar[dict[str, Any]] = {}  # fast parameters for the conformance kit (few epochs)
    family: ClassVar[str] = "other"  # groups detectors in reports (e.g. "cross-modal", "multi-view")

    # Fitted state the runner reads when a detector sets it (class defaults: not provided).
    threshold_: float | None = None  # the detector's own decision threshold on its scores
    n_epochs_: float | None = None  # passes over the training data that fit made (fractional allowed)

    @classmethod
    def param_names(cls) -> list[str]:
        if cls.__init__ is object.__init__:
            raise TypeError(
                f"{cls.__name__} defines no __init__ of its own: a detector's constructor names its "
                "hyper-parameters, e.g. def __init__(self, k: int = 5) -> None: self.k = k, or takes "
                "none: def __init__(self) -> None: pass"
            )
        sig = inspect.signature(cls.__init__)
        names = []
        for p in sig.parameters.values():
            if p.name == "self":
                continue
            if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
                raise TypeError(f"{cls.__name__}.__init__ must name every hyper-parameter (no *args/**kwargs)")
            names.append(p.name)
        return names

    def get_params(self) -> dict[str, Any]:
        """Constructor hyper-parameters and their current values (for the results store)."""
        return {p: getattr(self, p) for p in self.param_names()}

    def set_params(self, **params: Any) -> Detector:
        valid = set(self.param_names())
        for key, value in params.items():
            if key not in valid:
                raise MmadbenchError(f"detector {self.name!r} has no parameter {key!r}; it has {sorted(valid)}")
            setattr(self, key, value)
        return self

    def check_data(self, data: MultiModalData) -> None:
        """Raise a clear error when `data` does not fit this detector's capabilities."""
        reason = self.capabilities.incompatibility(data)
        if reason:
            raise MmadbenchError(f"detector {self.name!r} {reason}")

    def check_parameters(self) -> None:
        """Raise ParameterError for a hyper-parameter outside `parameter_constraints`."""
        check_parameters(self.name or type(self).__name__, self.get_params(), self.parameter_constraints)

    def _check_with_data(self, train: MultiModalData) -> None:
        """Checks that tie parameters to each other or to the training data (override; raise
        ParameterError via `constraints.require`). Runs after the declared constraints."""
        return None

    @abstractmethod
    def fit(self, train: MultiModalData, val: MultiModalData | None = None) -> Detector:
        """Learn from clean training data (and optionally injected validation data); return self."""

    @abstractmethod
    def score(self, data: MultiModalData) -> np.ndarray:
        """One anomaly score per sample of `data`, higher = more anomalous."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """A detector's own `fit` marks it fitted (`fitted_`), and its own `score` first checks
        that it is, so that scoring too early says so instead of naming a missing attribute."""
        super().__init_subclass__(**kwargs)
        for name, wrap in (("fit", _marks_fitted), ("score", _checks_fitted)):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "__isabstractmethod__", False):
                setattr(cls, name, wrap(method))

    def is_fitted(self) -> bool:
        """Whether `fit` has completed on this instance."""
        return bool(vars(self).get("fitted_"))

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"


_FITTING: set[int] = set()  # ids of detectors inside their fit (which may score, e.g. for a threshold)


def _marks_fitted(fit: Callable) -> Callable:
    """Wrap a detector's `fit`: check the declared parameters and the data first, then mark the
    detector fitted when `fit` returns."""

    @functools.wraps(fit)
    def marking(self: Detector, train: MultiModalData, *args: Any, **kwargs: Any) -> Any:
        self.fitted_ = False  # a fit that raises leaves the detector unfitted
        self.check_parameters()
        self.check_data(train)
        self._check_with_data(train)
        _FITTING.add(id(self))
        try:
            out = fit(self, train, *args, **kwargs)
        finally:
            _FITTING.discard(id(self))
        self.fitted_ = True
        return out

    return marking


def _checks_fitted(score: Callable) -> Callable:
    """Wrap a detector's `score` so that scoring before `fit` raises NotFittedError, not whatever
    attribute happens to be missing first."""

    @functools.wraps(score)
    def checked(self: Detector, data: MultiModalData) -> np.ndarray:
        if not self.is_fitted() and id(self) not in _FITTING:
            raise NotFittedError(f"detector {self.name!r} is not fitted: call fit(train) before score(data)")
        if data.has_missing and not self.capabilities.handles_missing:
            raise MmadbenchError(
                f"detector {self.name!r} does not handle missing modalities ({sorted(data.missing)}); "
                "impute them first (mmadbench.datasets.missing) or declare Capabilities(handles_missing=True)"
            )
        return score(self, data)

    return checked
