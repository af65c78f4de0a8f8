"""Is a committed sweep folder current? Its cells against the ids this checkout's code computes.

For each folder: expand its recorded sweep file (`sweep.toml`) with the device and thread count
its cells ran with, and count the stored cells (cells.csv) whose id is still one of the sweep's.
A cell the code would now give another id is matched to its stored counterpart (same detector,
dataset, setting and seed) to say why: the data's fingerprint, the detector's code, or the rest of
the identity (harness code, parameters, cell format). Library versions are not part of an id, but
a resumed sweep stops on them, so a difference is reported too.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from mmadbench.benchmark.execution.provenance import hardware, version_drift
from mmadbench.benchmark.measure.cell import Cell, DataCache, expand
from mmadbench.benchmark.measure.config import dataset_display_name, load_sweep
from mmadbench.benchmark.measure.identity import versions
from mmadbench.errors import MmadbenchError

logger = logging.getLogger(__name__)
OLD_COLUMNS = {"label": "display_name", "kind": "anomaly_type", "generator": "sampler"}  # before the renames


@dataclass
class FolderStatus:
    """How many of a folder's cells the current code still computes, and why the others differ."""

    folder: str
    stored: int = 0  # cells in cells.csv
    expected: int = 0  # cells the sweep file expands to now
    current: int = 0  # expected cells already stored
    reasons: Counter = field(default_factory=Counter)  # why expected cells are not stored
    drift: list[str] = field(default_factory=list)  # library versions of the cells vs installed
    problem: str = ""  # why the folder could not be checked

    @property
    def is_current(self) -> bool:
        return not self.problem and self.current == self.expected and not self.drift and not self.reasons

    def line(self) -> str:
        if self.problem:
            return f"{self.folder}: not checked ({self.problem})"
        head = f"{self.folder}: {self.current} of {self.expected} cells current ({self.stored} stored)"
        why = "; ".join(f"{n} {reason}" if n else reason for reason, n in self.reasons.most_common())
        drift = f"; library versions differ: {', '.join(self.drift)}" if self.drift else ""
        return head + (f"; not current: {why}" if why else "") + drift


def _key(dataset: str, detector: str, anomaly_type, ratio, normal_class, seed, dropped) -> tuple:
    clean = lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v)  # noqa: E731
    normal = None if normal_class is None or pd.isna(normal_class) else int(float(normal_class))
    return (dataset, detector, clean(anomaly_type), clean(ratio), normal, int(seed), clean(dropped))


def _cell_key(cell: Cell) -> tuple:
    label = dataset_display_name(cell.dataset.name, dict(cell.dataset.options), cell.dataset.label)
    return _key(
        label,
        cell.detector.display,
        cell.protocol.anomaly_type,
        cell.protocol.ratio,
        getattr(cell.protocol, "normal_class", None),
        cell.seed,
        cell.dropped_modality,
    )


def _row_key(row: pd.Series) -> tuple:
    return _key(
        str(row.dataset).split(" [")[0],
        str(row.display_name).replace(" †", ""),
        row.anomaly_type,
        row.ratio,
        row.get("normal_class"),
        row.seed,
        row.get("dropped_modality"),
    )


def _why(cell: Cell, row: pd.Series | None) -> str:
    if row is None:
        return "not run yet"
    key = cell.key
    if str(row.get("data_sha256")) != key["dataset"]["sha256"]:
        return "data changed"
    if str(row.get("code_sha256")) != key["detector"]["code"]:
        return "detector code changed"
    return "harness code, parameters or cell format changed"


def folder_status(folder: Path, data_root: str | None) -> FolderStatus:
    """The freshness of one sweep folder (see the module docstring)."""
    status = FolderStatus(folder.name)
    sweep, cells_csv = folder / "sweep.toml", folder / "cells.csv"
    if not sweep.is_file() or not cells_csv.is_file():
        status.problem = "no sweep.toml and cells.csv: not a sweep folder"
        return status
    rows = pd.read_csv(cells_csv, low_memory=False)
    old = sorted(set(OLD_COLUMNS) & set(rows.columns))
    if old:
        status.reasons[f"cells.csv has old column names ({', '.join(old)})"] += 0
        rows = rows.rename(columns=OLD_COLUMNS)
    status.stored = len(rows)
    with warnings.catch_warnings():  # a sweep file with renamed keys: its own warning is noise here
        warnings.simplefilter("ignore", FutureWarning)
        config = load_sweep(sweep)
    threads = sorted(rows.threads.dropna().astype(int).unique()) if "threads" in rows else []
    if len(threads) == 1:
        config = replace(config, threads=int(threads[0]))
    devices = sorted(rows.device.dropna().unique()) if "device" in rows else []
    try:
        cells = expand(config, DataCache(data_root), devices[0] if len(devices) == 1 else "cpu")
    except MmadbenchError as exc:
        status.problem = str(exc)
        return status
    stored_ids = set(rows.cell_id)
    by_key = {_row_key(r): r for _, r in rows.iterrows()}
    status.expected = len(cells)
    for cell in cells:
        if cell.cell_id in stored_ids:
            status.current += 1
        else:
            status.reasons[_why(cell, by_key.get(_cell_key(cell)))] += 1
    status.drift = _drift(folder)
    _name_other_cpus(folder, status)
    return status


def _name_other_cpus(folder: Path, status: FolderStatus) -> None:
    """Text features (MiniLM on CPU) differ in their last bits between CPU models, so a text
    dataset's fingerprint does too: where the cells ran on another CPU, "data changed" says so."""
    changed = status.reasons.get("data changed", 0)
    manifest = folder / "manifest.json"
    if not changed or not manifest.is_file():
        return
    recorded = json.loads(manifest.read_text())
    cpus = sorted({(run.get("hardware") or {}).get("cpu", "") for run in recorded.get("runs", [])} - {""})
    here = hardware().get("cpu", "")
    if cpus and here and here not in cpus:
        del status.reasons["data changed"]
        status.reasons[
            f"data changed (the cells ran on {', '.join(cpus)}, this is {here}: a text dataset's features "
            "may differ in their last bits between CPU models)"
        ] = changed


def _drift(folder: Path) -> list[str]:
    """Library versions recorded for the folder's cells against the installed ones."""
    manifest = folder / "manifest.json"
    if not manifest.is_file():
        return []
    recorded = json.loads(manifest.read_text()).get("versions") or []
    now = versions()
    return sorted({d for stored in recorded for d in version_drift(stored, now) if not d.startswith("mmadbench")})


def status(folders: list[Path], data_root: str | None) -> list[FolderStatus]:
    """The freshness of every folder that holds a sweep; others are named and passed over."""
    out = []
    for folder in sorted(Path(f) for f in folders):
        if folder.is_dir():
            logger.info("status: checking %s", folder)
            out.append(folder_status(folder, data_root))
    return out
