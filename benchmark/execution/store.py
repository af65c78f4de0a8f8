"""The results store: one SQLite row per finished cell, per-cell scores beside it, and what the
report needs to describe the sweep (its current cells, its datasets, the runs that wrote it).

Statuses: ok, skipped (detector incompatible with the data; the reason in `error`), error,
timeout, oom.

Rows are written in one transaction after the cell's scores file is complete (atomic rename),
so a run killed at any moment leaves either the whole cell or nothing. Re-running a sweep
skips cells whose id is already present.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sqlite3
import typing
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mmadbench.benchmark.measure.result import CellResult

DB_NAME = "results.sqlite"
SCORES_DIR = "scores"


_SQL = {str: "TEXT", int: "INTEGER", float: "REAL", bool: "INTEGER", dict: "TEXT", list: "TEXT"}


def _base_type(hint: Any) -> type:
    """`int` for `int | None`, and so on."""
    return ([a for a in typing.get_args(hint) if a is not type(None)] or [hint])[0]


_TYPES = {name: _base_type(hint) for name, hint in typing.get_type_hints(CellResult).items()}
COLUMNS: dict[str, str] = {f.name: _SQL[_TYPES[f.name]] for f in dataclasses.fields(CellResult)}
COLUMNS["cell_id"] = "TEXT PRIMARY KEY"
_JSON = [name for name, base in _TYPES.items() if base in (dict, list)]

_META_TABLES = (
    "CREATE TABLE IF NOT EXISTS sweep_cells (cell_id TEXT PRIMARY KEY)",
    "CREATE TABLE IF NOT EXISTS datasets (display_name TEXT PRIMARY KEY, content TEXT)",
    "CREATE TABLE IF NOT EXISTS runs (started_at TEXT, content TEXT)",
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT)",
)


# old column name -> new, per table: a store written by an older harness is renamed on opening
_RENAMED_COLUMNS = {
    "cells": {"kind": "anomaly_type", "generator": "sampler", "label": "display_name"},
    "datasets": {"label": "display_name"},
}


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
            self._rename_old_columns()
            self._conn.execute(f"CREATE TABLE IF NOT EXISTS cells ({cols})")
            for sql in _META_TABLES:
                self._conn.execute(sql)
            self._add_missing_columns()

    def _rename_old_columns(self) -> None:
        """Databases written before the renames (kind, generator, label) get the new column names."""
        for table, renames in _RENAMED_COLUMNS.items():
            have = {r[1] for r in self._conn.execute(f"PRAGMA table_info({table})")}
            for old, new in renames.items():
                if old in have and new not in have:
                    self._conn.execute(f'ALTER TABLE {table} RENAME COLUMN "{old}" TO "{new}"')

    def _add_missing_columns(self) -> None:
        """Databases written by an older harness gain the newer columns (empty for old rows)."""
        have = {r[1] for r in self._conn.execute("PRAGMA table_info(cells)")}
        for name, sql_type in COLUMNS.items():
            if name not in have:
                self._conn.execute(f'ALTER TABLE cells ADD COLUMN "{name}" {sql_type}')

    def close(self) -> None:
        self._conn.close()

    def __enter__(self) -> ResultsStore:
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

    def stored_versions(self, cell_ids: Iterable[str]) -> list[dict[str, str]]:
        """The distinct library versions recorded on the given stored cells."""
        ids = list(cell_ids)
        found = set()
        for start in range(0, len(ids), 500):
            part = ids[start : start + 500]
            sql = f"SELECT DISTINCT versions FROM cells WHERE versions IS NOT NULL AND cell_id IN ({','.join('?' * len(part))})"
            found.update(r[0] for r in self._conn.execute(sql, part))
        return [json.loads(v) for v in sorted(found)]

    # -- what the report needs besides the rows --------------------------------------------

    def set_sweep(self, source: str, cell_ids: Iterable[str], datasets: dict[str, dict]) -> None:
        """Record the sweep as it now stands: its file, its cell ids, its datasets' checksums."""
        with self._conn:
            self._conn.execute("DELETE FROM sweep_cells")
            self._conn.executemany("INSERT INTO sweep_cells VALUES (?)", [(c,) for c in cell_ids])
            self._conn.execute("DELETE FROM datasets")
            self._conn.executemany(
                "INSERT INTO datasets VALUES (?, ?)", [(k, json.dumps(v, sort_keys=True)) for k, v in datasets.items()]
            )
            self._conn.execute("INSERT OR REPLACE INTO meta VALUES ('sweep_source', ?)", (source,))

    def sweep_source(self) -> str:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'sweep_source'").fetchone()
        return row[0] if row else ""

    def current_ids(self) -> set[str] | None:
        """Cell ids of the sweep as last run, or None for a database that never recorded them."""
        ids = {r[0] for r in self._conn.execute("SELECT cell_id FROM sweep_cells")}
        return ids or None

    def datasets(self) -> dict[str, dict]:
        return {
            k: json.loads(v)
            for k, v in self._conn.execute("SELECT display_name, content FROM datasets ORDER BY display_name")
        }

    def add_run(self, content: dict) -> None:
        """Record one invocation of the runner (command, revision, versions, hardware, threads)."""
        with self._conn:
            self._conn.execute(
                "INSERT INTO runs VALUES (?, ?)", (content["started_at"], json.dumps(content, sort_keys=True))
            )

    def runs(self) -> list[dict]:
        return [json.loads(r[0]) for r in self._conn.execute("SELECT content FROM runs ORDER BY started_at")]

    # -- scores and rows -------------------------------------------------------------------

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

    def write(self, result: CellResult) -> None:
        """Insert or replace one cell's row in a single transaction."""
        if not isinstance(result, CellResult):
            raise TypeError(f"store.write takes a CellResult, got {type(result).__name__}")
        row = dataclasses.asdict(result)
        for key in _JSON:
            if row[key] is not None:
                row[key] = json.dumps(row[key], sort_keys=True, default=str)
        names = ", ".join(f'"{k}"' for k in row)
        with self._conn:
            self._conn.execute(
                f"INSERT OR REPLACE INTO cells ({names}) VALUES ({','.join('?' * len(row))})", tuple(row.values())
            )

    def frame(self) -> pd.DataFrame:
        """All rows as a DataFrame (JSON columns left as text), columns in CellResult's order."""
        df = pd.read_sql_query(
            "SELECT * FROM cells ORDER BY dataset, anomaly_type, ratio, display_name, seed", self._conn
        )
        return df[[c for c in COLUMNS if c in df.columns]]
