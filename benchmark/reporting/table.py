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


def slug(text: str) -> str:
    """A file-name-safe stem: runs of other characters become one '-', none left beside '_'."""
    return re.sub(r"-+(_|$)", r"\1", re.sub(r"[^A-Za-z0-9_.-]+", "-", text)).strip("-")
