"""File helpers for dataset sources: checksums, root-relative paths, and a decoded-array cache."""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError, MmadbenchError

from .encoders import cache_dir

logger = logging.getLogger(__name__)


def md5(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(chunk), b""):
            h.update(block)
    return h.hexdigest()


def under_root(root: Path | None, path: str | os.PathLike | None, default: str, dataset: str) -> Path:
    """`path` (absolute, or relative to the data root), else `root/default`; must exist."""
    if path is not None and Path(path).is_absolute():
        full = Path(path)
    elif root is None:
        raise MmadbenchError(f"dataset {dataset!r} needs a data root: pass --data-root DIR or set $MMADBENCH_DATA")
    else:
        full = root / (path if path is not None else default)
    if not full.exists():
        raise DataError(f"dataset {dataset!r}: {str(full)!r} does not exist")
    return full


def cached_arrays(
    what: str, files: list[Path], options: dict, build: Callable[[], dict[str, np.ndarray]]
) -> dict[str, np.ndarray]:
    """Arrays built from `files` once, then read from the cache; the key covers every file's
    path, size and modification time and the build options, so a changed file rebuilds."""
    stat = [(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in files]
    key = hashlib.sha256(json.dumps([what, options, stat], default=str).encode()).hexdigest()[:24]
    path = cache_dir() / f"{what}-{key}.npz"
    if path.is_file():
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}
    logger.info("building %s from %d files (cached afterwards)", what, len(files))
    arrays = build()
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.npz")
    np.savez(tmp, **arrays)
    os.replace(tmp, path)
    return arrays
