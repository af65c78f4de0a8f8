"""Detector names: where each detector lives and what it needs, known without importing it.

Three sources, looked up in this order:
- the built-in table `BUILTINS` (name -> import path, capabilities, family, one-line summary),
  so listing detectors imports no torch and no detector module; a test keeps the table equal to
  the classes' own declarations;
- classes registered at run time with `@register_detector` (a plugin file passed with
  `--plugin`, or a class defined in a script or test);
- installed plugins: the `mmadbench.detectors` entry-point group, imported on first use.
Names with a resolver prefix ("pyod:LODA") are made on first use.
"""

from __future__ import annotations

import difflib
import fnmatch
import hashlib
import importlib
import importlib.util
import logging
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, TypeVar

from mmadbench.errors import MmadbenchError, RegistryError

from . import pyod_models
from .base import Capabilities, Detector

logger = logging.getLogger(__name__)

ENTRY_POINT_GROUP = "mmadbench.detectors"


@dataclass(frozen=True)
class DetectorInfo:
    """What a listing shows of a detector: its import path and its declarations."""

    name: str
    target: str  # "package.module:Class"
    capabilities: Capabilities
    family: str
    summary: str


def _info(name: str, target: str, family: str, summary: str, **caps: Any) -> DetectorInfo:
    return DetectorInfo(name, target, Capabilities(**caps), family, summary)


_PKG = "mmadbench.detectors"
BUILTINS: dict[str, DetectorInfo] = {
    i.name: i
    for i in (
        _info(
            "tnbcl",
            f"{_PKG}.tnbcl.detector:TNBCL",
            "cross-modal",
            "TN-BCL (Peng et al., 2024): ViT + k-NN top branch, shared residual bottom branches, bi-quintuple loss.",
            requires_labels=True,
            uses_validation_truth=True,
        ),
        _info(
            "cae_occ",
            f"{_PKG}.cae_occ.detector:CAEOCC",
            "one-class",
            "CAE multimodal one-class classifier (Laakom et al., 2023): score = norm of the joint latent code.",
            min_modalities=1,
        ),
        _info(
            "tbnn",
            f"{_PKG}.tbnn.detector:TBNN",
            "cross-modal",
            "TBNN (Wang et al., TPAMI 2019): two-branch embedding network; score = embedding distance of the pair.",
            requires_labels=True,
            max_modalities=2,
        ),
        _info(
            "cmad",
            f"{_PKG}.cmad.detector:CMAD",
            "cross-modal",
            "CMAD (Li et al., IJCNN 2019), rebuilt from a secondary description: shared space with structure terms.",
            max_modalities=2,
        ),
        _info(
            "cmml",
            f"{_PKG}.cmml.detector:CMML",
            "cross-modal",
            "CMML (Ye et al., ICCV 2021): identity loss + weighted regularised triplet; score = feature distance.",
            requires_labels=True,
            max_modalities=2,
        ),
        _info(
            "moddis",
            f"{_PKG}.moddis.detector:MODDIS",
            "multi-view",
            "MODDIS (Ji et al., ICDM 2019): common + view-specific encoders, deviation + k-NN score.",
        ),
        _info(
            "muvad",
            f"{_PKG}.muvad:MUVAD",
            "multi-view",
            "MUVAD (Sheng et al., AAAI 2019), rebuilt from a secondary description: cross-view k-NN consistency.",
            transductive=True,
        ),
        _info(
            "scone",
            f"{_PKG}.scone:SCoNE",
            "multi-view",
            "SCoNE (Xu et al., AAAI 2026): ensembles of spherical neighbourhoods consistent across views.",
        ),
    )
}
for _name, _target, _fusion, _pyod in pyod_models.builtin_targets():
    BUILTINS[_name] = _info(
        _name,
        _target,
        f"PyOD {_fusion} fusion",
        f"PyOD {_pyod} with {_fusion} fusion of the modalities.",
        **vars(pyod_models.capabilities(_pyod, _fusion)),
    )

# "prefix:" -> "module:function" making the class of such a name (None when there is none)
RESOLVERS: dict[str, str] = {pyod_models.PREFIX: f"{_PKG}.pyod_models:resolve"}

D = TypeVar("D", bound=type[Detector])

_REGISTERED: dict[str, type[Detector]] = {}  # classes loaded or registered in this process
_PLUGIN_FILES: dict[Path, list[str]] = {}  # resolved path -> names it registered


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def register_detector(cls: D | None = None, *, name: str | None = None):
    """Class decorator adding a Detector subclass to the registry under `name` (or `cls.name`)."""

    def add(c: D) -> D:
        if not (isinstance(c, type) and issubclass(c, Detector)):
            raise TypeError(f"register_detector expects a Detector subclass, got {c!r}")
        key = (name or c.name or "").strip()
        if not key:
            raise RegistryError(f"{c.__name__} has no name; set the class attribute `name`")
        known = _REGISTERED.get(key)
        builtin = BUILTINS.get(key)
        taken_by = (
            _qualname(known) if known is not None else builtin.target.replace(":", ".") if builtin is not None else None
        )
        if taken_by is not None and taken_by != _qualname(c):
            raise RegistryError(f"detector name {key!r} is already registered by {taken_by}")
        if name:
            c.name = key
        _REGISTERED[key] = c
        return c

    return add(cls) if cls is not None else add


def unregister_detector(name: str) -> None:
    """Forget a detector registered at run time (built-in names stay known)."""
    _REGISTERED.pop(name, None)
    for names in _PLUGIN_FILES.values():
        if name in names:
            names.remove(name)


def _entry_points() -> dict[str, metadata.EntryPoint]:
    return {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def _import_target(target: str) -> Any:
    module, _, attr = target.partition(":")
    return getattr(importlib.import_module(module), attr)


def list_detectors(pattern: str = "*") -> list[str]:
    """Known detector names (built-in, registered, installed plugins) matching a shell pattern."""
    names = set(BUILTINS) | set(_REGISTERED) | set(_entry_points())
    return sorted(n for n in names if fnmatch.fnmatchcase(n, pattern))


def _load(name: str) -> type[Detector] | None:
    """The class of `name` from the built-in table, an entry point or a resolver; None if unknown."""
    if name in BUILTINS:
        return register_detector(_import_target(BUILTINS[name].target), name=name)
    ep = _entry_points().get(name)
    if ep is not None:
        try:
            obj = ep.load()
        except Exception as exc:  # a broken plugin names itself, and does not break other detectors
            raise RegistryError(f"detector plugin {name!r} ({ep.value}) failed to load: {exc}") from exc
        if not (isinstance(obj, type) and issubclass(obj, Detector)):
            raise RegistryError(f"detector plugin {name!r} ({ep.value}) is not a Detector subclass")
        return register_detector(obj, name=name)
    for prefix, target in RESOLVERS.items():
        if name.startswith(prefix):
            cls = _import_target(target)(name)
            return register_detector(cls, name=name) if cls is not None else None
    return None


def get_detector_class(name: str) -> type[Detector]:
    """The class registered as `name`; unknown names raise and list close or all known names."""
    cls = _REGISTERED.get(name) or _load(name)
    if cls is None:
        known = list_detectors()
        close = difflib.get_close_matches(name, known, n=3)
        hint = f"did you mean {close}?" if close else f"known: {known}"
        raise RegistryError(f"unknown detector {name!r}; {hint}")
    return cls


def describe(name: str) -> DetectorInfo:
    """A detector's declarations; a built-in's come from the table, without importing it."""
    if name in BUILTINS:
        return BUILTINS[name]
    cls = get_detector_class(name)
    doc = (cls.__doc__ or "").strip()
    summary = doc.splitlines()[0] if doc else ""
    return DetectorInfo(name, f"{cls.__module__}:{cls.__qualname__}", cls.capabilities, cls.family, summary)


def create_detector(name: str, params: dict[str, Any] | None = None, **defaults: Any) -> Detector:
    """Instantiate `name` with `params`; `defaults` (e.g. random_state, device) fill only
    constructor parameters the detector has and the user did not set."""
    cls = get_detector_class(name)
    params = dict(params or {})
    accepted = set(cls.param_names())
    unknown = sorted(set(params) - accepted)
    if unknown:
        raise MmadbenchError(f"detector {name!r} has no parameter(s) {unknown}; it has {sorted(accepted)}")
    for key, value in defaults.items():
        if key in accepted and key not in params:
            params[key] = value
    return cls(**params)


def load_plugin_file(path: str | Path) -> list[str]:
    """Import a Python file that registers detectors; return the names it added."""
    path = Path(path)
    if not path.is_file():
        raise MmadbenchError(f"plugin file {str(path)!r} does not exist")
    key = path.resolve()
    if key in _PLUGIN_FILES and _PLUGIN_FILES[key] and all(n in _REGISTERED for n in _PLUGIN_FILES[key]):
        return list(_PLUGIN_FILES[key])  # loading a file twice is harmless
    before = set(_REGISTERED)
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
    added = sorted(set(_REGISTERED) - before)
    if not added:
        raise MmadbenchError(f"plugin file {str(path)!r} registered no detector (use @register_detector)")
    logger.info("plugin %s registered %s", path, added)
    _PLUGIN_FILES[key] = added
    return added
