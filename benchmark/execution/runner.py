"""The runner: expands a sweep into cells, hands them to an executor, stores each outcome.

Per cell (see `cell.execute_cell`): source -> split -> injection -> detector.fit ->
detector.score -> metrics. Each cell sets its own thread count and seeds, so the in-process,
process-pool and Ray executors run it alike. The store writes a cell only once it is complete.
"""

from __future__ import annotations

import json
import logging
import shutil
import sys
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from mmadbench.benchmark.execution import executors
from mmadbench.benchmark.execution.provenance import hardware, require_clean_revision, version_drift
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.cell import Cell, DataCache, Outcome, RunOptions, expand, resolve_detectors
from mmadbench.benchmark.measure.config import SweepConfig, check_device_name, freeze_params, load_sweep
from mmadbench.benchmark.measure.identity import git_revision, versions
from mmadbench.detectors.registry import get_detector_class, load_plugin_file
from mmadbench.device import resolve_device
from mmadbench.errors import ConfigError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSummary:
    """What a run did: cells in the sweep, and how many ran, were already done, or failed."""

    out: Path
    total: int
    ran: int
    already_done: int
    failed: int  # cells of this run that ended in error, timeout or oom
    incompatible: int
    wall_s: float
    detector_s: float  # time inside fit and score, summed over the cells that ran
    workers: int = 1
    sweep_changed: bool = False  # the sweep's file or cells differ from those last recorded (a new report is due)
    failed_stored: int = 0  # cells of the sweep whose stored outcome is error, timeout or oom, earlier runs' included

    @property
    def harness_share(self) -> float:
        """Share of the workers' wall time spent outside detector fit and score."""
        capacity = self.wall_s * self.workers
        return max(0.0, 1 - self.detector_s / capacity) if capacity and self.ran else 0.0


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
        logger.info(
            "[%d/%d] %s %s %s %s: %s (elapsed %.0fs, eta %.0fs)",
            self.done,
            self.total,
            cell.dataset.display_name,
            cell.protocol.anomaly_type,
            cell.protocol.ratio,
            cell.detector.display,
            status,
            elapsed,
            eta,
        )

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _order(cell: Cell) -> tuple:
    """Per dataset and seed (one training split), each detector's cells back to back: the cell
    that trains first, then those that reuse its network. A run cut short then leaves no trained
    network whose other cells are still to run (kept networks are not committed)."""
    return (
        repr(cell.dataset),
        repr(cell.split),
        cell.seed,
        cell.detector.display,
        str(cell.dropped_modality),
        repr(cell.protocol),
    )


def _check_drift(store: ResultsStore, done: set[str], accept_drift: bool) -> list[str]:
    """Library versions of the stored cells that differ from this environment's. A resumed sweep
    would mix the two, so that stops unless the caller accepts (and records) the drift."""
    now = versions()
    drift = sorted({d for stored in store.stored_versions(done) for d in version_drift(stored, now)})
    if drift and not accept_drift:
        raise ConfigError(
            f"the results in {store.folder} were made with other library versions ({'; '.join(drift)}); "
            "resuming would mix them. Re-run every cell (--rerun), write to a new --out, or accept and "
            "record the drift (--accept-drift)"
        )
    return drift


def _run_record(
    config: SweepConfig, options: RunOptions, executor: str, workers: int, drift: list[str], todo: int, smoke: bool
) -> dict:
    """What a run of the sweep was: command, revision, machine and how its cells ran."""
    return {
        "started_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": sys.argv,
        "git_revision": git_revision(),
        "versions": versions(),
        "hardware": hardware(),
        "device": options.device,
        "threads": config.threads,
        "executor": executor,
        "workers": workers,
        "isolate": options.isolate,
        "reuse_training": options.trained_folder is not None,
        "cells_to_run": todo,
        "accepted_drift": drift,
        "smoke": smoke,  # test parameters, one seed: the report marks everything as not results
    }


def smoke(config: SweepConfig) -> SweepConfig:
    """The sweep as a quick end-to-end check: its first seed, every detector at its fast test
    parameters (`test_params`, under the sweep's own), written as "<name>-smoke" so it never
    mixes with the sweep's real results."""
    specs = []
    for spec in resolve_detectors(config.detectors):
        fast = dict(freeze_params(get_detector_class(spec.name).test_params))
        specs.append(replace(spec, params=tuple(sorted({**fast, **dict(spec.params)}.items()))))
    return replace(config, name=f"{config.name}-smoke", seeds=config.seeds[:1], detectors=tuple(specs))


def run_sweep(
    sweep: SweepConfig | str | Path,
    out: str | Path = "results",
    data_root: str | Path | None = None,
    device: str | None = None,
    rerun: bool = False,
    plugins: Iterable[str | Path] = (),
    executor: str = "inprocess",
    workers: int = 1,
    time_limit_s: float | None = None,
    memory_limit_mb: float | None = None,
    ray_address: str | None = None,
    retry_failed: bool = False,
    threads: int | None = None,
    accept_drift: bool = False,
    require_clean: bool = False,
    isolate: bool = False,
    smoke_test: bool = False,
    reuse_training: bool = True,
) -> SweepSummary:
    """Run every cell of `sweep` not yet in `out/<sweep name>/` and return a summary.

    executor: "inprocess" (default), "process" (`workers` local processes) or "ray".
    A time or memory limit needs a separate process, so with "inprocess" it uses one worker.
    `rerun` runs every cell again; `retry_failed` only those that ended in error, timeout or oom.
    `threads` overrides the sweep file's thread count (a different count is a different cell).
    `accept_drift` resumes a store made with other library versions (recorded in its runs);
    `require_clean` refuses uncommitted or untracked code and untracked plugins (see provenance).
    `isolate` runs each cell in a fresh worker process, for timing-grade sweeps (rows say so).
    `smoke_test` runs the quick version of the sweep (see `smoke`).
    `reuse_training`: a deep detector trains once per training key (cells that differ only in
    anomaly type or ratio) and later cells load its network from `<folder>/trained/` (the same
    numbers; their rows say `fit_reused`). Off with `isolate`, whose cells are timing-grade.
    """
    start = time.perf_counter()
    plugins = tuple(str(Path(p).resolve()) for p in plugins)
    if require_clean:
        require_clean_revision(plugins)
    for plugin in plugins:
        load_plugin_file(plugin)
    config = sweep if isinstance(sweep, SweepConfig) else load_sweep(sweep)
    if smoke_test:
        config = smoke(config)
    if threads is not None:
        if threads < 1:
            raise ConfigError(f"--threads must be at least 1, got {threads}")
        config = replace(config, threads=threads)
    if workers < 1:
        raise ConfigError(f"--workers must be at least 1, got {workers}")
    if device is not None:
        check_device_name(device, "--device")
    options = RunOptions(
        data_root=str(data_root) if data_root else None,
        device=resolve_device(device or config.device),
        sweep=config.name,
        time_limit_s=time_limit_s or config.time_limit_s,
        memory_limit_mb=memory_limit_mb or config.memory_limit_mb,
        plugins=plugins,
        isolate=isolate,
    )
    folder = Path(out) / config.name
    if reuse_training and not isolate:
        options = replace(options, trained_folder=str((folder / "trained").resolve()))
    cache = DataCache(options.data_root)
    cells = expand(config, cache, options.device)
    counts = {"ran": 0, "error": 0, "skipped": 0}
    detector_s = 0.0
    with ResultsStore(folder) as store:
        done = set() if rerun else store.done_ids(("ok", "skipped") if retry_failed else None)
        if rerun or not store.done_ids():
            _forget_trained(options.trained_folder)  # kept networks serve a resumed store only
        todo = sorted((c for c in cells if c.cell_id not in done), key=_order)
        kept = done & {c.cell_id for c in cells}  # the stored cells this run will report beside the new ones
        drift = _check_drift(store, kept, accept_drift) if todo and not rerun else []
        ids = [c.cell_id for c in cells]
        sweep_changed = store.sweep_source() != config.source or store.current_ids() != set(ids)
        store.set_sweep(config.source, ids, _dataset_records(config, cache))
        (folder / "sweep.toml").write_text(config.source)
        if todo:
            store.add_run(_run_record(config, options, executor, workers, drift, len(todo), smoke_test))
        logger.info(
            "sweep %r: %d cells, %d already done, %d to run on %s with %d thread(s) each",
            config.name,
            len(cells),
            len(cells) - len(todo),
            len(todo),
            options.device,
            config.threads,
        )
        progress = _Progress(len(todo))

        def finish(cell: Cell, outcome: Outcome) -> None:
            nonlocal detector_s
            # scores before the row, and a failed re-run's old scores removed only after its row:
            # a kill at any point never leaves an ok row without its scores
            if outcome.scores is not None:
                store.save_scores(cell.cell_id, **outcome.scores)
            store.write(outcome.result)
            if outcome.scores is None:
                store.drop_scores(cell.cell_id)  # a failed re-run leaves no scores behind
            status = outcome.status
            counts["ran"] += 1
            counts["error"] += status not in ("ok", "skipped")
            counts["skipped"] += status == "skipped"
            detector_s += outcome.result.detector_s or 0.0
            progress.step(cell, status)

        try:
            executors.make(executor, workers, options, ray_address, cache).run(todo, finish)
        finally:
            progress.close()
        failed_stored = len((store.done_ids() - store.done_ids(("ok", "skipped"))) & set(ids))
    summary = SweepSummary(
        folder,
        len(cells),
        counts["ran"],
        len(cells) - len(todo),
        counts["error"],
        counts["skipped"],
        time.perf_counter() - start,
        detector_s,
        1 if executor == "inprocess" and workers == 1 else workers,
        sweep_changed,
        failed_stored,
    )
    logger.info("sweep %r done: %s", config.name, json.dumps({k: str(v) for k, v in asdict(summary).items()}))
    return summary


def _forget_trained(folder: str | None) -> None:
    """Remove the networks kept by earlier runs: a new store or `--rerun` trains afresh, so its
    timings and `fit_reused` describe this run (a resumed store keeps them)."""
    if folder and Path(folder).is_dir():
        shutil.rmtree(folder)


def _dataset_records(config: SweepConfig, cache: DataCache) -> dict[str, dict]:
    """Per dataset of the sweep: its content checksum, size and modality shapes (for the manifest)."""
    out = {}
    for spec in config.datasets:
        data = cache.dataset(spec)
        out[spec.display_name] = {
            "sha256": cache.fingerprint(spec),
            "samples": len(data),
            "modalities": {m: [data.kinds[m], *data[m].shape[1:]] for m in data.names},
        }
    return out
