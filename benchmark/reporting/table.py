"""The rendered-table type shared by the report modules, and its small formatting helpers."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Table:
    """A rendered table: a title, a file stem, and cells already formatted as strings."""

    title: str
    stem: str
    frame: pd.DataFrame  # index: method labels; values: formatted strings
    bold: pd.DataFrame  # same shape, True where the value is the column's best
    row_heading: str = "Method"  # heading of the first column
    notes: tuple[str, ...] = ()  # footnotes printed under the table
    numbers: pd.DataFrame | None = None  # the numbers behind the cells (mean, std, ci95, n), for the CSV
    # the same cells with the column groups as rows (index: method, group), for a narrower LaTeX table
    long: tuple[pd.DataFrame, pd.DataFrame] | None = None
    groups: tuple[str, ...] = ()  # the column groups of `frame` ("AUC (1:1)": group "1:1"), e.g. ratios


def flags_none_or_all(df: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per row: the threshold flags no test sample (TPR = FPR = 0), and flags every one (= 1)."""
    return (df.tpr == 0) & (df.fpr == 0), (df.tpr == 1) & (df.fpr == 1)


def fmt(mean: float, std: float, n: int, digits: int) -> str:
    if np.isnan(mean):
        return "–"
    return f"{mean:.{digits}f}" if n <= 1 else f"{mean:.{digits}f} ± {std:.{digits}f}"


CLIPPED_NOTE = "Where an interval would pass 0 or 1, it is shown clipped to the metric's range as [low, high]."


def fmt_bounded(mean: float, half: float, n: int, digits: int, bounded: bool) -> tuple[str, bool]:
    """`mean ± half`, or `mean [low, high]` clipped to [0, 1] where a bounded metric's interval
    would pass its range (with n = 3 the half-width is 2.48 standard deviations); and whether it
    was clipped."""
    if bounded and n > 1 and np.isfinite(half) and (mean - half < 0 or mean + half > 1):
        low, high = max(0.0, mean - half), min(1.0, mean + half)
        return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]", True
    return fmt(mean, half, n, digits), False


def slug(text: str) -> str:
    """A file-name-safe stem: runs of other characters become one '-', none left beside '_'."""
    return re.sub(r"-+(_|$)", r"\1", re.sub(r"[^A-Za-z0-9_.-]+", "-", text)).strip("-")
