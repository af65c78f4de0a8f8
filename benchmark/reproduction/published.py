"""The seed papers' published figures, transcribed once into `published.csv` (shipped with the
package): one row per figure with its paper, table, dataset, method, setting, metric, value, unit
and a note where the paper itself is ambiguous (e.g. a table and its text disagreeing).

Papers: peng2024 (TN-BCL, Tables I-VI) and laakom2023 (the CAE one-class model, Tables I, III,
IV). A reproduction compares the measured numbers with these rows; nothing here is measured.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from mmadbench.errors import DataError

COLUMNS = ("paper", "table", "dataset", "method", "setting", "metric", "value", "unit", "note")
PAPERS = {
    "peng2024": "Peng et al., TN-BCL: triple-adaptive network with bi-quintuple contrastive learning (2024)",
    "laakom2023": "Laakom et al., Convolutional autoencoder-based multimodal one-class classification (2023)",
}


def load_published() -> pd.DataFrame:
    """Every published figure as a DataFrame (value as float; unit and note as text, '' if none)."""
    with resources.files("mmadbench.benchmark.reproduction").joinpath("published.csv").open() as f:
        frame = pd.read_csv(f, dtype=str, keep_default_na=False)
    if tuple(frame.columns) != COLUMNS:
        raise DataError(f"published.csv has columns {list(frame.columns)}, expected {list(COLUMNS)}")
    unknown = sorted(set(frame.paper) - set(PAPERS))
    if unknown:
        raise DataError(f"published.csv names unknown papers {unknown}")
    frame["value"] = frame["value"].astype(float)
    return frame
