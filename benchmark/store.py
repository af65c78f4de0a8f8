"""The results store: one SQLite row per finished cell, per-cell scores beside it.

Statuses: ok, skipped (detector incompatible with the data; the reason in `error`), error,
timeout, oom.

Rows are written in one transaction after the cell's scores file is complete (atomic rename),
so a run killed at any moment leaves either the whole cell or nothing. Re-running a sweep
skips cells whose id is already present.
"""

from __future__ import annotations

import json
import os
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

DB_NAME = "results.sqlite"
SCORES_DIR = "scores"

COLUMNS: dict[str, str] = {
    "cell_id": "TEXT PRIMARY KEY",
    "sweep": "TEXT", "dataset": "TEXT", "dataset_options": "TEXT", "protocol": "TEXT", "normal_class": "INTEGER",
    "kind": "TEXT", "ratio": "TEXT",
    "generator": "TEXT", "split": "TEXT", "detector": "TEXT", "label": "TEXT", "params": "TEXT", "seed": "INTEGER",
    "status": "TEXT", "error": "TEXT",
    "auc": "REAL", "auprc": "REAL", "threshold": "REAL", "threshold_source": "TEXT", "detector_threshold": "REAL",
    "own_fpr": "REAL", "own_tpr": "REAL",
    "fpr": "REAL", "tpr": "REAL", "accuracy": "REAL", "precision": "REAL", "f1": "REAL",
    "precision_at_n": "REAL", "recall_at_n": "REAL", "val_auc": "REAL", "detection_rate": "TEXT",
    "n_train": "INTEGER", "n_val": "INTEGER", "n_test": "INTEGER",
    "fit_s": "REAL", "fit_s_per_epoch": "REAL", "score_s_per_1k": "REAL", "detector_s": "REAL",
    "peak_rss_mb": "REAL", "peak_gpu_mb": "REAL",
    "device": "TEXT", "torch_threads": "INTEGER", "versions": "TEXT", "git_rev": "TEXT", "harness_version": "TEXT",
    "finished_at": "TEXT",
}


@dataclass
class CellRecord:
    """Everything stored about one cell (metric fields None when the cell did not finish ok)."""

    cell_id: str
    values: dict[str, Any] = field(default_factory=dict)


class ResultsStore:
    """SQLite database plus a folder of compressed score files, under one output folder."""

    def __init__(self, folder: str | os.PathLike) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / SCORES_DIR).mkdir(exist_ok=True)
        self.path = self.folder / DB_NAME
        self._conn = sqlite3.connect(self.path, timeout=60)
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")
        cols = ", ".join(f'"{k}" {v}' for k, v in COLUMNS.items())
        with self._conn:
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS cells ({cols})")
            self._add_missing_columns()

    def _add_missing_columns(self) -> None:
        """Databases written by an older harness gain the newer columns (empty for old rows)."""
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(cells)")}
        for name, sql_type in COLUMNS.items():
            if name not in have:
                self._conn.execute(f'ALTER TABLE cells ADD COLUMN "{name}" {sql_type}')

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> "ResultsStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def done_ids(self, statuses: Iterable[str] | None = None) -> set[str]:
        """Ids of stored cells, optionally only those with one of `statuses`."""
        if statuses is None:
            return {r[0] for r in self._conn.execute("SELECT cell_id FROM cells")}
        statuses = tuple(statuses)
        marks = ",".join("?" * len(statuses))
        return {r[0] for r in self._conn.execute(f"SELECT cell_id FROM cells WHERE status IN ({marks})", statuses)}

    def scores_path(self, cell_id: str) -> Path:
        return self.folder / SCORES_DIR / f"{cell_id}.npz"

    def save_scores(self, cell_id: str, **arrays: np.ndarray) -> None:
        """Write the cell's scores and truth atomically (temp file, then rename)."""
        final = self.scores_path(cell_id)
        tmp = final.with_name(f".{cell_id}.{os.getpid()}.tmp.npz")
        np.savez_compressed(tmp, **arrays)
        os.replace(tmp, final)

    def drop_scores(self, cell_id: str) -> None:
        """Remove a cell's scores (when a re-run of it produced none)."""
        self.scores_path(cell_id).unlink(missing_ok=True)

    def load_scores(self, cell_id: str) -> dict[str, np.ndarray] | None:
        path = self.scores_path(cell_id)
        if not path.is_file():
            return None
        with np.load(path, allow_pickle=False) as f:
            return {k: f[k] for k in f.files}

    def write(self, record: CellRecord) -> None:
        """Insert or replace one cell's row in a single transaction."""
        row = {k: record.values.get(k) for k in COLUMNS}
        row["cell_id"] = record.cell_id
        for key in ("detection_rate", "versions", "params", "dataset_options", "split"):
            if row[key] is not None and not isinstance(row[key], str):
                row[key] = json.dumps(row[key], sort_keys=True, default=str)
        names = ", ".join(f'"{k}"' for k in row)
        with self._conn:
            self._conn.execute(f"INSERT OR REPLACE INTO cells ({names}) VALUES ({','.join('?' * len(row))})",
                               tuple(row.values()))

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame (JSON columns left as text)."""
        return pd.read_sql_query("SELECT * FROM cells ORDER BY dataset, kind, ratio, label, seed", self._conn)
