"""Dataset registry: every source module registers a loader by name."""

from __future__ import annotations

import difflib
import inspect
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mmadbench.errors import MmadbenchError, RegistryError

from .data import MultiModalData

DATA_ROOT_ENV = "MMADBENCH_DATA"
# Loader options that only say where files are (their content is fingerprinted instead).
LOCATION_OPTIONS = frozenset({"cache_dir", "path"})


@dataclass(frozen=True)
class DatasetInfo:
    """A registered dataset: its loader and a one-line description of modalities and size."""

    name: str
    loader: Callable[..., MultiModalData]
    description: str
    needs_root: bool = False


_DATASETS: dict[str, DatasetInfo] = {}


def register_dataset(name: str, description: str, needs_root: bool = False):
    """Decorator registering `loader(root, **options) -> MultiModalData` under `name`."""

    def add(loader: Callable[..., MultiModalData]) -> Callable[..., MultiModalData]:
        if name in _DATASETS and _DATASETS[name].loader is not loader:
            raise RegistryError(f"dataset name {name!r} is already registered")
        _DATASETS[name] = DatasetInfo(name, loader, description, needs_root)
        return loader

    return add


_NOT_SOURCES = {"data", "registry", "injection", "splits", "encoders", "captions", "fetch", "audio", "files"}


def _discover() -> None:
    """Import every source module of this package once; each registers itself on import."""
    import importlib
    import pkgutil

    import mmadbench.datasets as pkg

    for info in pkgutil.iter_modules(pkg.__path__):
        if info.name not in _NOT_SOURCES and not info.name.startswith("_"):
            importlib.import_module(f"{pkg.__name__}.{info.name}")


def list_datasets() -> list[DatasetInfo]:
    _discover()
    return [_DATASETS[k] for k in sorted(_DATASETS)]


def data_root(root: str | os.PathLike | None) -> Path | None:
    """The data root: the given one, else $MMADBENCH_DATA, else None."""
    value = root or os.environ.get(DATA_ROOT_ENV)
    return Path(value) if value else None


def _info(name: str) -> DatasetInfo:
    _discover()
    info = _DATASETS.get(name)
    if info is None:
        close = difflib.get_close_matches(name, _DATASETS, n=3)
        hint = f"did you mean {close}?" if close else f"known: {sorted(_DATASETS)}"
        raise RegistryError(f"unknown dataset {name!r}; {hint}")
    return info


def resolved_options(name: str, options: dict[str, Any]) -> dict[str, Any]:
    """Every loader option of `name` with its value: the loader's defaults overlaid by `options`
    (part of a cell's identity, so a changed default makes new cells). Unknown options raise."""
    params = {p.name: p for p in inspect.signature(_info(name).loader).parameters.values() if p.name != "root"}
    unknown = sorted(set(options) - set(params))
    if unknown:
        raise MmadbenchError(f"dataset {name!r} has no option(s) {unknown}; it accepts {list(params)}")
    defaults = {k: p.default for k, p in params.items() if p.default is not p.empty}
    return {**defaults, **options}


def load_dataset(name: str, root: str | os.PathLike | None = None, **options: Any) -> MultiModalData:
    """Load a registered dataset by name; unknown names and options raise one clear error."""
    info = _info(name)
    resolved_options(name, options)  # unknown options fail here
    resolved = data_root(root)
    if info.needs_root and resolved is None:
        raise MmadbenchError(f"dataset {name!r} needs a data root: pass --data-root DIR or set ${DATA_ROOT_ENV}")
    return info.loader(root=resolved, **options)
