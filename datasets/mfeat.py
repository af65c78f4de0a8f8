"""UCI Multiple Features: six views of the same 2,000 handwritten digits (multi-view data).

The stand-in here for two-view data such as FIN-Benthic's two cameras. Choose any two or more
views; `pix` (240 pixel averages, a 16-row by 15-column image) can be served as an image.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .data import MultiModalData
from .files import under_root
from .registry import register_dataset

VIEWS = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}


def read_view(path: Path, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Features [n, width] and labels of one view's CSV (header row; label in the last column)."""
    try:
        table = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float64, ndmin=2)
    except (OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot be parsed as CSV of numbers ({exc})") from None
    if table.shape[1] != width + 1:
        raise DataError(f"{path}: expected {width} features and a label column, got {table.shape[1]} columns")
    if not np.isfinite(table).all():
        raise DataError(f"{path}: has NaN or infinite values")
    return table[:, :-1].astype(np.float32), table[:, -1].astype(np.int64)


@register_dataset(
    "mfeat",
    "2+ of 6 views (fou 76, fac 216, kar 64, pix 240 or image 1x16x15, zer 47, mor 6); 2,000, 10 classes",
    needs_root=True,
)
def load_mfeat(
    root: Path, views: list[str] | tuple[str, ...] = ("pix", "fou"), pix_as_image: bool = True, path: str = "mfeat"
) -> MultiModalData:
    """The chosen views from `<root>/mfeat/mfeat-<view>.csv`, checked to describe the same samples."""
    views = list(views)
    unknown = [v for v in views if v not in VIEWS]
    if unknown or len(views) < 2 or len(set(views)) != len(views):
        raise DataError(f"dataset 'mfeat': views must be two or more distinct of {list(VIEWS)}, got {views}")
    folder = under_root(root, path, path, "mfeat")
    modalities, kinds, labels = {}, {}, None
    for view in views:
        x, y = read_view(folder / f"mfeat-{view}.csv", VIEWS[view])
        if labels is not None and not np.array_equal(labels, y):
            raise DataError(f"{folder / f'mfeat-{view}.csv'}: labels differ from the other views' (length {len(y)})")
        labels = y
        if view == "pix" and pix_as_image:
            modalities[view], kinds[view] = (x / 6.0).reshape(-1, 1, 16, 15), "image"  # pixel averages are 0..6
        else:
            modalities[view], kinds[view] = x, "vector"
    return MultiModalData(modalities, kinds, labels, name="mfeat", meta={"views": tuple(views), "source": str(folder)})
