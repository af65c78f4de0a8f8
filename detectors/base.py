"""The Detector contract and the registry every detector is found through.

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

import difflib
import fnmatch
import functools
import hashlib
import importlib.util
import inspect
import logging
import sys
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import numpy as np

from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import MmadbenchError, NotFittedError, RegistryError

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mmadbench.detectors"


@dataclass(frozen=True)
class Capabilities:
    """What a detector needs from the data; the runner skips incompatible cells with the reason."""

    requires_labels: bool = False  # trains with class labels of the normal training data
    uses_validation_truth: bool = False  # fit reads the anomaly flags of the validation data
    transductive: bool = False  # fit only keeps reference data; the method's work is done in score
    modality_kinds: frozenset[str] | None = None  # None: any kind
    min_modalities: int = 2
    max_modalities: int | None = None  # 2 for methods defined on pairs only

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
        return None


def check_param(ok: bool, message: str) -> None:
    """Raise ValueError(message) unless `ok`: a hyper-parameter check in one line (call in fit)."""
    if not ok:
        raise ValueError(message)


def check_choice(detector: Detector, name: str, choices: tuple) -> None:
    """The named hyper-parameter of `detector` must be one of `choices`."""
    value = getattr(detector, name)
    check_param(value in choices, f"{name} must be one of {choices}, got {value!r}")


def check_ints(detector: Detector, names: tuple[str, ...], minimum: int = 1) -> None:
    """Each named hyper-parameter of `detector` must be an integer of at least `minimum`."""
    for key in names:
        value = getattr(detector, key)
        check_param(
            isinstance(value, (int, np.integer)) and not isinstance(value, bool) and value >= minimum,
            f"{key} must be an integer >= {minimum}, got {value!r}",
        )


class Detector(ABC):
    """Base class of every detector: subclass it, set `name`, implement `fit` and `score`."""

    name: ClassVar[str] = ""
    capabilities: ClassVar[Capabilities] = Capabilities()
    reconstruction: ClassVar[bool] = False  # True when the method is rebuilt from secondary sources
    test_params: ClassVar[dict[str, Any]] = {}  # fast parameters for the conformance kit (few epochs)
    family: ClassVar[str] = "other"  # groups detectors in reports (e.g. "cross-modal", "multi-view")

    # Fitted state the runner reads when a detector sets it (class defaults: not provided).
    threshold_: float | None = None  # the detector's own decision threshold on its scores
    n_epochs_: float | None = None  # passes over the training data that fit made (fractional allowed)

    @classmethod
    def _param_names(cls) -> list[str]:
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
        return {p: getattr(self, p) for p in self._param_names()}

    def set_params(self, **params: Any) -> Detector:
        valid = set(self._param_names())
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
    @functools.wraps(fit)
    def marking(self: Detector, *args: Any, **kwargs: Any) -> Any:
        self.fitted_ = False  # a fit that raises leaves the detector unfitted
        _FITTING.add(id(self))
        try:
            out = fit(self, *args, **kwargs)
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
        return score(self, data)

    return checked


def lazy_module_classes(module: str, builders: dict[str, Callable[[], type]]) -> Callable[[str], type]:
    """A module `__getattr__` (PEP 562) for a detector's torch classes: each is built on first
    use (importing a detector module never imports torch), cached, and named as an attribute of
    its module, so fitted detectors holding instances of it pickle and unpickle."""
    built: dict[str, type] = {}

    def __getattr__(name: str) -> type:
        if name not in builders:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if name not in built:
            cls = builders[name]()
            cls.__module__, cls.__qualname__ = module, name
            built[name] = cls
        return built[name]

    return __getattr__


D = TypeVar("D", bound=type[Detector])

_REGISTRY: dict[str, type[Detector]] = {}
_PLUGIN_FILES: dict[Path, list[str]] = {}  # resolved path -> names it registered
_discovered = False


def register_detector(cls: D | None = None, *, name: str | None = None):
    """Class decorator adding a Detector subclass to the registry under `name` (or `cls.name`)."""

    def add(c: D) -> D:
        if not (isinstance(c, type) and issubclass(c, Detector)):
            raise TypeError(f"register_detector expects a Detector subclass, got {c!r}")
        key = (name or c.name or "").strip()
        if not key:
            raise RegistryError(f"{c.__name__} has no name; set the class attribute `name`")
        known = _REGISTRY.get(key)
        if known is not None and _qualname(known) != _qualname(c):
            raise RegistryError(f"detector name {key!r} is already registered by {_qualname(known)}")
        if name:
            c.name = key
        _REGISTRY[key] = c
        return c

    return add(cls) if cls is not None else add


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _discover() -> None:
    """Import the built-in detector modules, then installed plugins (entry points), once."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    import pkgutil

    import mmadbench.detectors as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin must not break the harness
            logger.warning("detector plugin %r (%s) failed to load: %s", ep.name, ep.value, exc)
            continue
        if isinstance(obj, type) and issubclass(obj, Detector) and ep.name not in _REGISTRY:
            register_detector(obj, name=ep.name)


def load_plugin_file(path: str | Path) -> list[str]:
    """Import a Python file that registers detectors; return the names it added."""
    path = Path(path)
    if not path.is_file():
        raise MmadbenchError(f"plugin file {str(path)!r} does not exist")
    _discover()
    key = path.resolve()
    if key in _PLUGIN_FILES and all(n in _REGISTRY for n in _PLUGIN_FILES[key]):
        return list(_PLUGIN_FILES[key])  # loading a file twice is harmless
    before = set(_REGISTRY)
    # a stable name (Python's str hash changes per process): workers and later runs agree on it
    module_name = f"mmadbench_plugin_{path.stem}_{hashlib.sha256(str(key).encode()).hexdigest()[:12]}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise MmadbenchError(f"plugin file {str(path)!r} is not a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except MmadbenchError:
        raise
    except Exception as exc:
        raise MmadbenchError(f"plugin file {str(path)!r} failed to import: {type(exc).__name__}: {exc}") from exc
    added = sorted(set(_REGISTRY) - before)
    if not added:
        raise MmadbenchError(f"plugin file {str(path)!r} registered no detector (use @register_detector)")
    logger.info("plugin %s registered %s", path, added)
    _PLUGIN_FILES[key] = added
    return added


# "prefix:" -> a function making the detector class of a name with that prefix (or None when
# there is no such detector), for families too large to register one by one (e.g. "pyod:LODA").
_RESOLVERS: dict[str, Callable[[str], type[Detector] | None]] = {}


def register_resolver(prefix: str, resolve: Callable[[str], type[Detector] | None]) -> None:
    """Let names starting with `prefix` (e.g. "pyod:") be made on first use by `resolve(name)`."""
    _RESOLVERS[prefix] = resolve


def _resolve(name: str) -> type[Detector] | None:
    for prefix, resolve in _RESOLVERS.items():
        if name.startswith(prefix):
            cls = resolve(name)
            if cls is not None:
                register_detector(cls, name=name)
                return cls
    return None


def list_detectors(pattern: str = "*") -> list[str]:
    """Registered detector names matching a shell-style pattern, sorted."""
    _discover()
    return sorted(n for n in _REGISTRY if fnmatch.fnmatchcase(n, pattern))


def get_detector_class(name: str) -> type[Detector]:
    """The class registered as `name`; unknown names raise and list close or all known names."""
    _discover()
    if name not in _REGISTRY:
        _resolve(name)
    try:
        return _REGISTRY[name]
    except KeyError:
        close = difflib.get_close_matches(name, _REGISTRY, n=3)
        hint = f"did you mean {close}?" if close else f"known: {sorted(_REGISTRY)}"
        raise RegistryError(f"unknown detector {name!r}; {hint}") from None


def create_detector(name: str, params: dict[str, Any] | None = None, **defaults: Any) -> Detector:
    """Instantiate `name` with `params`; `defaults` (e.g. random_state, device) fill only
    constructor parameters the detector has and the user did not set."""
    cls = get_detector_class(name)
    params = dict(params or {})
    accepted = set(cls._param_names())
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise MmadbenchError(f"detector {name!r} has no parameter(s) {unknown}; it has {sorted(accepted)}")
    for key, value in defaults.items():
        if key in accepted and key not in params:
            params[key] = value
    return cls(**params)
