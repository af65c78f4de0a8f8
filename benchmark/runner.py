"""The runner: expands a sweep into cells, hands them to an executor, stores each outcome.

Per cell: source -> injection -> split -> detector.fit -> detector.score -> metrics. Cells
are independent and deterministic given their spec, so the in-process, process-pool and Ray
executors give the same numbers. The store writes a cell only once it is complete.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterable

import numpy as np

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.registry import load_dataset
from mmadbench.datasets.splits import Splits, prepare
from mmadbench.detectors.base import create_detector, get_detector_class, load_plugin_file
from mmadbench.errors import ConfigError, MmadbenchError
from mmadbench.provenance import git_revision, resolve_device, versions
from mmadbench.version import __version__

from . import memory, metrics
from .config import Cell, SweepConfig, load_sweep
from .store import CellRecord, ResultsStore

logger = logging.getLogger(__name__)


@dataclass
class Outcome:
    """A finished cell: its row for the store and, when it ran, its scores."""

    cell_id: str
    row: dict
    scores: dict[str, np.ndarray] | None = None


@dataclass(frozen=True)
class RunOptions:
    """How cells run: where the data is, on which device, and the limits of one cell."""

    data_root: str | None = None
    device: str = "cpu"
    sweep: str = ""
    time_limit_s: float | None = None
    memory_limit_mb: float | None = None
    plugins: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class SweepSummary:
    """What a run did: cells in the sweep, and how many ran, were already done, or failed."""

    out: Path
    total: int
    ran: int
    already_done: int
    failed: int
    incompatible: int
    wall_s: float
    detector_s: float  # time inside fit and score, summed over the cells that ran
    workers: int = 1
    sweep_changed: bool = False  # the stored sweep.toml was rewritten (a new report is due)

    @property
    def harness_share(self) -> float:
        """Share of the workers' wall time spent outside detector fit and score."""
        capacity = self.wall_s * self.workers
        return max(0.0, 1 - self.detector_s / capacity) if capacity and self.ran else 0.0


def base_row(cell: Cell, options: RunOptions) -> dict:
    """The configuration part of a cell's row (everything but its outcome)."""
    return {
        "sweep": options.sweep, "dataset": cell.dataset.name, "dataset_options": dict(cell.dataset.options),
        "kind": cell.injection.kind, "ratio": cell.injection.ratio, "generator": cell.injection.generator,
        "protocol": "one_class" if cell.injection.kind == "one_class" else "injection",
        "normal_class": getattr(cell.injection, "normal_class", None),
        "split": asdict(cell.split), "detector": cell.detector.name, "label": cell.detector.display,
        "params": dict(cell.detector.params), "seed": cell.seed, "device": options.device, "versions": versions(),
        "git_rev": git_revision(), "harness_version": __version__,
    }


def _torch_threads() -> int | None:
    """torch's CPU thread count in the process that ran the cell (it changes the order of float
    sums, hence trained networks); None when the cell never loaded torch."""
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def failed_outcome(cell: Cell, options: RunOptions, status: str, error: str) -> Outcome:
    """An outcome for a cell that produced no numbers (error, timeout, out of memory)."""
    row = base_row(cell, options)
    row.update(status=status, error=error[:2000], finished_at=_now())
    return Outcome(cell.cell_id, row)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@functools.lru_cache(maxsize=2)
def _dataset(name: str, options: tuple, data_root: str | None) -> MultiModalData:
    return load_dataset(name, data_root, **dict(options))


@functools.lru_cache(maxsize=4)
def _splits(cell_key: tuple, data_root: str | None) -> Splits:
    dataset, injection, split, seed = cell_key
    return prepare(_dataset(dataset.name, dataset.options, data_root), injection, split, seed)


def execute_cell(cell: Cell, options: RunOptions) -> Outcome:
    """Run one cell in this process and return its outcome; never raises for detector errors."""
    row = base_row(cell, options)
    scores = None
    try:
        memory.reset_peak()
        splits = _splits(cell.data_key, options.data_root)
        row.update(n_train=len(splits.train), n_val=len(splits.val), n_test=len(splits.test))
        reason = get_detector_class(cell.detector.name).capabilities.incompatibility(splits.train)
        if reason:
            row.update(status="skipped", error=reason)
        else:
            measured, scores = _evaluate(cell, splits, options.device)
            row.update(measured, status="ok")
    except MemoryError as exc:
        row.update(status="oom", error=f"MemoryError: {exc}")
    except Exception as exc:  # isolate the failure: record it, keep the sweep going
        logger.warning("cell %s (%s on %s) failed: %s: %s", cell.cell_id, cell.detector.display,
                       cell.dataset.label, type(exc).__name__, exc)
        logger.debug("%s", traceback.format_exc())
        row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:2000])
    try:
        row.update(memory.peaks(options.device))
    except Exception as exc:  # e.g. a CUDA error after a failed cell: the row still gets written
        logger.debug("peak memory unavailable: %s", exc)
    row["finished_at"], row["torch_threads"] = _now(), _torch_threads()
    return Outcome(cell.cell_id, row, scores)


def _evaluate(cell: Cell, splits: Splits, device: str) -> tuple[dict, dict[str, np.ndarray]]:
    detector = create_detector(cell.detector.name, dict(cell.detector.params), random_state=cell.seed, device=device)
    start = time.perf_counter()
    fitted = detector.fit(splits.train, splits.val)
    fit_s = time.perf_counter() - start
    if fitted is not detector:
        raise MmadbenchError(f"{cell.detector.name}.fit must return self")
    start = time.perf_counter()
    val_scores = np.asarray(detector.score(splits.val), dtype=np.float64)
    mid = time.perf_counter()
    test_scores = np.asarray(detector.score(splits.test), dtype=np.float64)
    end = time.perf_counter()
    m = metrics.compute(val_scores, splits.val.anomaly, test_scores, splits.test.anomaly, splits.test.anomaly_type)
    epochs = getattr(detector, "n_epochs_", None)
    own = getattr(detector, "threshold_", None)
    measured = {**m.as_dict(), "fit_s": fit_s, "score_s_per_1k": 1000 * (end - mid) / len(splits.test),
                "detector_s": end - start + fit_s,
                "fit_s_per_epoch": fit_s / epochs if epochs else None,
                **metrics.own_threshold_metrics(test_scores, splits.test.anomaly, own)}
    scores = {"test_scores": test_scores, "test_truth": splits.test.anomaly,
              "test_types": splits.test.anomaly_type.astype(str), "val_scores": val_scores,
              "val_truth": splits.val.anomaly}
    return measured, scores


class _Progress:
    """A tqdm bar on a terminal (done/total, elapsed, remaining, current detector), log lines otherwise."""

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


def _order(cell: Cell) -> tuple:
    """Cells sharing prepared data run back to back."""
    return (repr(cell.data_key), cell.detector.display)


def run_sweep(sweep: SweepConfig | str | Path, out: str | Path = "results", data_root: str | Path | None = None,
              device: str | None = None, rerun: bool = False, plugins: Iterable[str | Path] = (),
              executor: str = "inprocess", workers: int = 1, time_limit_s: float | None = None,
              memory_limit_mb: float | None = None, ray_address: str | None = None,
              retry_failed: bool = False) -> SweepSummary:
    """Run every cell of `sweep` not yet in `out/<sweep name>/` and return a summary.

    executor: "inprocess" (default), "process" (`workers` local processes) or "ray".
    A time or memory limit needs a separate process, so with "inprocess" it uses one worker.
    `rerun` runs every cell again; `retry_failed` only those that ended in error, timeout or oom.
    """
    from . import executors, provenance_manifest

    start = time.perf_counter()
    plugins = tuple(str(Path(p).resolve()) for p in plugins)
    for plugin in plugins:
        load_plugin_file(plugin)
    config = sweep if isinstance(sweep, SweepConfig) else load_sweep(sweep)
    options = RunOptions(data_root=str(data_root) if data_root else None,
                         device=resolve_device(device or config.device), sweep=config.name,
                         time_limit_s=time_limit_s or config.time_limit_s,
                         memory_limit_mb=memory_limit_mb or config.memory_limit_mb, plugins=plugins)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    cells = config.expand()
    folder = Path(out) / config.name
    counts = {"ran": 0, "error": 0, "skipped": 0}
    detector_s = 0.0
    with ResultsStore(folder) as store:
        done = set() if rerun else store.done_ids(("ok", "skipped") if retry_failed else None)
        todo = sorted((c for c in cells if c.cell_id not in done), key=_order)
        sweep_changed = provenance_manifest.stale(folder, config)
        if todo or not (folder / provenance_manifest.MANIFEST).is_file():
            provenance_manifest.write(folder, config, options)
        elif sweep_changed:  # e.g. new [[report.tables]]: the manifest still describes the run that made the cells
            provenance_manifest.write_sweep(folder, config)
        logger.info("sweep %r: %d cells, %d already done, %d to run on %s", config.name, len(cells),
                    len(cells) - len(todo), len(todo), options.device)
        progress = _Progress(len(todo))

        def finish(cell: Cell, outcome: Outcome) -> None:
            nonlocal detector_s
            if outcome.scores is not None:
                store.save_scores(cell.cell_id, **outcome.scores)
            else:
                store.drop_scores(cell.cell_id)  # a failed re-run leaves no stale scores
            store.write(CellRecord(cell.cell_id, outcome.row))
            status = outcome.row["status"]
            counts["ran"] += 1
            counts["error"] += status not in ("ok", "skipped")
            counts["skipped"] += status == "skipped"
            detector_s += outcome.row.get("detector_s") or 0.0
            progress.step(cell, status)

        try:
            executors.make(executor, workers, options, ray_address).run(todo, finish)
        finally:
            progress.close()
    summary = SweepSummary(folder, len(cells), counts["ran"], len(cells) - len(todo), counts["error"],
                           counts["skipped"], time.perf_counter() - start, detector_s,
                           1 if executor == "inprocess" and workers == 1 else workers, sweep_changed)
    logger.info("sweep %r done: %s", config.name, json.dumps({k: str(v) for k, v in asdict(summary).items()}))
    return summary
