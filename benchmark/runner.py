"""The runner: expands a sweep into cells and runs each one along the single data path.

source -> injection -> split -> detector.fit -> detector.score -> metrics -> results store.
Data for a (dataset, injection, split, seed) group is prepared once and shared by its cells.
A failing detector is recorded as an error row; the sweep goes on.
"""

from __future__ import annotations

import json
import logging
import resource
import sys
import time
import traceback
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from itertools import groupby
from pathlib import Path
from typing import Iterable

import numpy as np

from mmadbench.datasets.registry import load_dataset
from mmadbench.datasets.splits import Splits, prepare
from mmadbench.detectors.base import create_detector, get_detector_class, load_plugin_file
from mmadbench.errors import MmadbenchError
from mmadbench.provenance import git_revision, resolve_device, versions
from mmadbench.version import __version__

from . import metrics
from .config import Cell, SweepConfig, load_sweep
from .store import CellRecord, ResultsStore

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSummary:
    """What a run did: cells in the sweep, and how many ran, were skipped as done, or failed."""

    out: Path
    total: int
    ran: int
    already_done: int
    failed: int
    incompatible: int
    wall_s: float


def _peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _base_row(cell: Cell, sweep: str, device: str) -> dict:
    return {
        "sweep": sweep, "dataset": cell.dataset.name, "dataset_options": dict(cell.dataset.options),
        "kind": cell.injection.kind, "ratio": cell.injection.ratio, "generator": cell.injection.generator,
        "split": asdict(cell.split), "detector": cell.detector.name, "label": cell.detector.display,
        "params": dict(cell.detector.params), "seed": cell.seed, "device": device, "versions": versions(),
        "git_rev": git_revision(), "harness_version": __version__,
    }


def run_cell(cell: Cell, splits: Splits, store: ResultsStore, sweep: str, device: str) -> str:
    """Fit, score and evaluate one cell, store its row and scores; return its status."""
    row = _base_row(cell, sweep, device)
    row.update(n_train=len(splits.train), n_val=len(splits.val), n_test=len(splits.test))
    reason = get_detector_class(cell.detector.name).capabilities.incompatibility(splits.train)
    if reason:
        row.update(status="skipped", error=reason)
    else:
        try:
            row.update(_evaluate(cell, splits, store, device))
            row["status"] = "ok"
        except Exception as exc:  # isolate the failure: record it, keep the sweep going
            logger.warning("cell %s (%s on %s) failed: %s: %s", cell.cell_id, cell.detector.display,
                           cell.dataset.label, type(exc).__name__, exc)
            logger.debug("%s", traceback.format_exc())
            row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:2000])
    row["peak_rss_mb"] = _peak_rss_mb()
    row["finished_at"] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    store.write(CellRecord(cell.cell_id, row))
    return row["status"]


def _evaluate(cell: Cell, splits: Splits, store: ResultsStore, device: str) -> dict:
    detector = create_detector(cell.detector.name, dict(cell.detector.params), random_state=cell.seed, device=device)
    start = time.perf_counter()
    fitted = detector.fit(splits.train, splits.val)
    fit_s = time.perf_counter() - start
    if fitted is not detector:
        raise MmadbenchError(f"{cell.detector.name}.fit must return self")
    val_scores = np.asarray(detector.score(splits.val), dtype=np.float64)
    start = time.perf_counter()
    test_scores = np.asarray(detector.score(splits.test), dtype=np.float64)
    score_s = time.perf_counter() - start
    m = metrics.compute(val_scores, splits.val.anomaly, test_scores, splits.test.anomaly, splits.test.anomaly_type)
    store.save_scores(cell.cell_id, test_scores=test_scores, test_truth=splits.test.anomaly,
                      test_types=splits.test.anomaly_type.astype(str), val_scores=val_scores,
                      val_truth=splits.val.anomaly)
    own = getattr(detector, "threshold_", None)
    return {**m.as_dict(), "fit_s": fit_s, "score_s_per_1k": 1000 * score_s / len(splits.test),
            "detector_threshold": float(own) if own is not None else None}


class _Progress:
    """A tqdm bar on a terminal, plain log lines otherwise."""

    def __init__(self, total: int) -> None:
        self.total, self.done, self.start = total, 0, time.perf_counter()
        self.bar = None
        if sys.stderr.isatty() and total:
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="cell", dynamic_ncols=True)

    def step(self, cell: Cell, status: str) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.set_postfix_str(f"{cell.detector.display} {status}")
            self.bar.update(1)
            return
        elapsed = time.perf_counter() - self.start
        eta = elapsed / self.done * (self.total - self.done)
        logger.info("[%d/%d] %s %s %s %s: %s (elapsed %.0fs, eta %.0fs)", self.done, self.total,
                    cell.dataset.label, cell.injection.kind, cell.injection.ratio, cell.detector.display,
                    status, elapsed, eta)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def run_sweep(sweep: SweepConfig | str | Path, out: str | Path = "results", data_root: str | Path | None = None,
              device: str | None = None, rerun: bool = False, plugins: Iterable[str | Path] = ()) -> SweepSummary:
    """Run every cell of `sweep` not yet in `out/<sweep name>/`, then return a summary."""
    start = time.perf_counter()
    for plugin in plugins:
        load_plugin_file(plugin)
    config = sweep if isinstance(sweep, SweepConfig) else load_sweep(sweep)
    device = resolve_device(device or config.device)
    cells = config.expand()
    folder = Path(out) / config.name
    ran = failed = incompatible = 0
    with ResultsStore(folder) as store:
        (folder / "sweep.toml").write_text(config.source)
        done = set() if rerun else store.done_ids()
        todo = [c for c in cells if c.cell_id not in done]
        logger.info("sweep %r: %d cells, %d already done, %d to run on %s", config.name, len(cells),
                    len(cells) - len(todo), len(todo), device)
        progress = _Progress(len(todo))
        try:
            for dataset, group in groupby(sorted(todo, key=_order), key=lambda c: c.dataset):
                data = load_dataset(dataset.name, data_root, **dict(dataset.options))
                for _, cell_group in groupby(group, key=lambda c: c.data_key):
                    cell_group = list(cell_group)
                    splits = prepare(data, cell_group[0].injection, cell_group[0].split, cell_group[0].seed)
                    for cell in cell_group:
                        status = run_cell(cell, splits, store, config.name, device)
                        ran += 1
                        failed += status == "error"
                        incompatible += status == "skipped"
                        progress.step(cell, status)
        finally:
            progress.close()
    summary = SweepSummary(folder, len(cells), ran, len(cells) - len(todo), failed, incompatible,
                           time.perf_counter() - start)
    logger.info("sweep %r done: %s", config.name, json.dumps({k: str(v) for k, v in asdict(summary).items()}))
    return summary


def _order(cell: Cell) -> tuple:
    return (repr(cell.dataset), repr(cell.data_key), cell.detector.display)
