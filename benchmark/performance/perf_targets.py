"""The speed targets of `make perf`: each one's figure before the speed work, its goal and today's.

The "before" figures are inputs, not measurements of this run: the speed issue's own figures
(measured on a fresh clone of this 2-core machine before the work) or, where it gave none, the
first `make perf` (ed2d49e). Today's figures come from this run, from the shell commands a user
types (timed here in fresh processes), and from the manifests of the committed `make bench` run.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

FIRST_PERF = "ed2d49e"  # the first `make perf`, before the speed work
# detector -> train ms per sample per epoch on MNIST with 2 threads, from that run
FIRST_PERF_MNIST_2T = {"tbnn": 0.512, "cmad": 0.255, "cmml": 0.295, "moddis": 0.010, "cae_occ": 1.105}
BENCH_SWEEPS = ("default", "default-oneclass")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Target:
    """One target: what is measured, the figure before, the goal, today's figure (None: not
    measured, with `note` saying why)."""

    name: str
    unit: str
    before: float | None
    before_source: str
    goal: float
    after: float | None
    lower_is_better: bool = True
    note: str = ""

    @property
    def met(self) -> bool | None:
        if self.after is None:
            return None
        return self.after <= self.goal if self.lower_is_better else self.after >= self.goal


def timed_command(command: list[str], cwd: Path | None = None, repeats: int = 3) -> float | None:
    """Median wall seconds of `command` in fresh processes; None when it fails (a failing
    command's time is no figure, and the run's other measures must still be written)."""
    walls = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, cwd=cwd)
        if done.returncode != 0:
            logger.warning("%s failed (exit %d); not timed", " ".join(command), done.returncode)
            return None
        walls.append(time.perf_counter() - start)
    return float(np.median(walls))


def bench_wall_s(results: Path) -> tuple[float | None, str]:
    """Wall seconds of the last `make bench` whose cells are committed: from the start of its
    first sweep (manifest) to the last cell of its second (cells.csv), and the revision."""
    starts, ends, revisions = [], [], set()
    for name in BENCH_SWEEPS:
        manifest, cells = results / name / "manifest.json", results / name / "cells.csv"
        if not (manifest.is_file() and cells.is_file()):
            return None, f"no {name} results under {results}"
        finished = pd.to_datetime(pd.read_csv(cells, usecols=["finished_at"]).finished_at)
        whole = [r for r in json.loads(manifest.read_text())["runs"] if r.get("cells_to_run") == len(finished)]
        if not whole:
            return None, f"no run of {name} ran all its cells"
        starts.append(datetime.fromisoformat(whole[-1]["started_at"]))  # the last run that made every cell
        ends.append(finished.max())
        revisions.add(whole[-1]["git_revision"])
    wall = (max(ends) - min(starts)).total_seconds()
    return wall, f"make bench at {', '.join(sorted(revisions))}"


def pending_cells(sweep: Path, folder: Path) -> int:
    """How many cells of `sweep` the store in `folder` lacks (a re-run would run them)."""
    from mmadbench.benchmark.execution.store import ResultsStore
    from mmadbench.benchmark.measure.cell import DataCache, expand
    from mmadbench.benchmark.measure.config import load_sweep
    from mmadbench.device import resolve_device

    config = load_sweep(sweep)
    cells = expand(config, DataCache(None), resolve_device(config.device))
    with ResultsStore(folder) as store:
        done = store.done_ids()
    return sum(c.cell_id not in done for c in cells)


def warm_rerun_s(results: Path) -> tuple[float | None, str]:
    """Seconds of `make bench`'s command when every cell is already in the stores (nothing runs),
    or None when the stores are absent (they are not committed) or lack cells of this revision."""
    sweeps = [Path("configs") / f"{name}.toml" for name in BENCH_SWEEPS]
    folders = [results / name for name in BENCH_SWEEPS]
    if not all((f / "results.sqlite").is_file() for f in folders):
        return None, "no results.sqlite of the default sweeps here: run make bench first"
    pending = sum(pending_cells(s, f) for s, f in zip(sweeps, folders))
    if pending:
        return None, f"the stores lack {pending} cells of this revision: run make bench first"
    command = [sys.executable, "-m", "mmadbench", "run", *map(str, sweeps), "--out", str(results)]
    command += ["--executor", "process", "--workers", "2"]
    return timed_command(command), "both default sweeps, every cell done"


def speed_targets(
    frame: pd.DataFrame, harness: dict[str, float], shell: dict[str, float | None], notes: dict[str, str]
) -> list[Target]:
    """Every target of the speed issue, from this run's measures (`frame`: perf.csv's rows)."""
    value = frame.set_index("measure")["value"]

    def measured(key: str) -> float | None:
        got = value.get(key)
        return None if got is None or pd.isna(got) else float(got)

    mnist = "mnist · 2 thread(s)"
    rows = [
        Target(
            "TN-BCL MNIST training",
            "ms per pair per epoch",
            3.9,
            "the issue (full cell, 6,000 pairs)",
            2.2,
            measured(f"tnbcl · {mnist} · train ms per sample per epoch"),
        ),
        Target(
            "TN-BCL MNIST scoring",
            "s per 1,000 pairs",
            2.07,
            "the issue",
            0.8,
            measured(f"tnbcl · {mnist} · score s per 1k"),
        ),
    ]
    for det, before in FIRST_PERF_MNIST_2T.items():
        rows.append(
            Target(
                f"{det} MNIST training (≥ 2× faster)",
                "ms per sample per epoch",
                before,
                f"make perf at {FIRST_PERF}",
                before / 2,
                measured(f"{det} · {mnist} · train ms per sample per epoch"),
            )
        )
    rows += [
        Target(
            "make bench, 3 seeds",
            "minutes",
            21.9,
            "make bench at d4385ed (in-process)",
            10.0,
            None if shell.get("bench_s") is None else shell["bench_s"] / 60,
            note=notes.get("bench_s", ""),
        ),
        Target("make bench warm re-run", "s", None, "–", 5.0, shell.get("warm_s"), note=notes.get("warm_s", "")),
        Target(
            "process pool, 2 workers, vs in-process",
            "× throughput",
            0.83,
            "the issue (80 cells)",
            1.7,
            harness.get("pool speed-up cold"),
            lower_is_better=False,
            note=notes.get("pool", ""),
        ),
        Target("mmadbench list detectors", "s", 2.8, "the issue", 1.0, shell.get("list_s")),
        Target("import mmadbench", "s", None, "–", 0.5, shell.get("import_s")),
        Target(
            "make test (after install)",
            "s",
            300.0,
            "the issue",
            180.0,
            shell.get("test_s"),
            note=notes.get("test_s", ""),
        ),
    ]
    return rows


def targets_markdown(targets: list[Target]) -> list[str]:
    """The targets table: one row each, with whether it is met."""

    def num(x: float | None) -> str:
        return "–" if x is None else f"{x:.3g}"

    lines = [
        "| target | unit | before | before: source | goal | now | met | note |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for t in targets:
        met = "not measured" if t.met is None else ("yes" if t.met else "**no**")
        goal = ("≤ " if t.lower_is_better else "≥ ") + num(t.goal)
        lines.append(
            f"| {t.name} | {t.unit} | {num(t.before)} | {t.before_source} | {goal} | {num(t.after)} | {met} | {t.note} |"
        )
    return lines
