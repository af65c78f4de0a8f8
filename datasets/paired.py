"""Generic paired features: how users bring their own multimodal data (e.g. VoxCeleb face and
voice embeddings, FIN-Benthic features from two cameras).

Either an `.npz` with one array per modality plus `labels` (and optionally `kinds`, an array of
"name:kind" strings), or a folder of `.npy` files with `labels.npy` and optionally `kinds.txt`
(one "name:kind" per line). Modalities without a stated kind are `vector` (2-D arrays) or
`image` (4-D arrays).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .data import MODALITY_KINDS, MultiModalData
from .files import under_root
from .registry import register_dataset


def _parse_kinds(lines: list[str], where: Path) -> dict[str, str]:
    kinds = {}
    for line in (raw.strip() for raw in lines):
        if not line:
            continue
        name, sep, kind = line.partition(":")
        if not sep or kind.strip() not in MODALITY_KINDS:
            raise DataError(f"{where}: kinds entry {line!r} is not 'name:kind' with kind one of {MODALITY_KINDS}")
        kinds[name.strip()] = kind.strip()
    return kinds


def _read(path: Path) -> tuple[dict[str, np.ndarray], np.ndarray, dict[str, str]]:
    if path.is_dir():
        files = {p.stem: p for p in sorted(path.glob("*.npy"))}
        if "labels" not in files:
            raise DataError(f"{path}: a paired-features folder needs labels.npy beside the modality .npy files")
        try:
            arrays = {k: np.load(p, allow_pickle=False) for k, p in files.items()}
        except ValueError as exc:
            raise DataError(f"{path}: a .npy file cannot be read ({exc})") from None
        kinds_file = path / "kinds.txt"
        kinds = _parse_kinds(kinds_file.read_text().splitlines(), kinds_file) if kinds_file.is_file() else {}
    else:
        try:
            with np.load(path, allow_pickle=False) as f:
                arrays = {k: f[k] for k in f.files}
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise DataError(f"{path}: not a readable .npz file ({exc})") from None
        if "labels" not in arrays:
            raise DataError(f"{path}: the .npz needs a 'labels' array beside the modality arrays")
        kinds = _parse_kinds([str(k) for k in arrays.pop("kinds", np.array([]))], path)
    labels = arrays.pop("labels")
    return arrays, labels, kinds


@register_dataset("paired", "your own modalities from an .npz or a folder of .npy files (option path), with labels")
def load_paired(root: Path | None, path: str = "", name: str = "paired") -> MultiModalData:
    """Paired features from `path` (absolute or under the data root)."""
    if not path:
        raise DataError("dataset 'paired' needs the option path = 'file.npz' or 'folder/'")
    where = under_root(root, path, path, "paired")
    arrays, labels, kinds = _read(where)
    if labels.ndim != 1:
        raise DataError(f"{where}: labels must be one-dimensional, got shape {labels.shape}")
    lengths = {k: len(v) for k, v in arrays.items()}
    bad = {k: n for k, n in lengths.items() if n != len(labels)}
    if bad:
        raise DataError(f"{where}: modalities disagree in length with the {len(labels)} labels: {bad}")
    for k in kinds:
        if k not in arrays:
            raise DataError(f"{where}: kinds names {k!r}, which is not among the arrays {sorted(arrays)}")
    resolved = {k: kinds.get(k, "image" if v.ndim == 4 else "vector") for k, v in arrays.items()}
    modalities = {
        k: np.asarray(v, dtype=np.float32).reshape(len(v), -1)
        if resolved[k] == "vector"
        else np.asarray(v, dtype=np.float32)
        for k, v in arrays.items()
    }
    try:
        return MultiModalData(modalities, resolved, labels.astype(np.int64), name=name, meta={"source": str(where)})
    except DataError as exc:
        raise DataError(f"{where}: {exc}") from None
