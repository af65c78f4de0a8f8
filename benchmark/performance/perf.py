"""`make perf`: where the time goes, measured in one run on this machine.

    python -m mmadbench.benchmark.performance.perf --data-root ../shared/data --out results/perf

Measures, for every deep detector: training milliseconds per sample per epoch and scoring
seconds per 1,000 samples on MNIST (when the data root has it) and on the embedded digits, with a
profile of one training epoch split into forward, backward, optimiser, augmentation and data
movement (from `torch.profiler`, through the named scopes of the TorchDetector loop) and the time
outside the loop (setup, and what needs the trained network: k-NN references, thresholds). Then
the harness: its overhead per cell on a sweep of cheap cells, and the process pool's throughput
with 2 workers against the in-process executor on single-threaded CPU-bound cells. Writes
`perf.md` and `perf.csv`; figures from the previous `perf.csv` stand beside the new ones.
"""

from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.execution.provenance import hardware, require_clean_revision, write_manifest
from mmadbench.benchmark.measure.evaluate import fit_views
from mmadbench.benchmark.measure.identity import git_revision, versions
from mmadbench.benchmark.performance.perf_targets import (
    Target,
    bench_wall_s,
    speed_targets,
    targets_markdown,
    timed_command,
    warm_rerun_s,
)
from mmadbench.datasets.registry import load_dataset
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors.registry import create_detector
from mmadbench.errors import MmadbenchError

logger = logging.getLogger(__name__)

DEEP = ("tnbcl", "tbnn", "cmad", "cmml", "moddis", "cae_occ")
REPEATS = 3  # each timing is the median of this many (short measures vary by tens of per cent)
TIMED_EPOCHS = {"moddis": {"max_steps": 100 * (1 + REPEATS), "window": 100, "tol": 1e-12}}  # windows, never settled
SCOPES = {"mmadbench.forward": "forward", "mmadbench.backward": "backward", "mmadbench.optimizer": "optimiser"}
AUGMENTATION_OPS = ("aten::grid_sampler_2d", "aten::affine_grid_generator")
MOVEMENT_OPS = ("aten::copy_", "aten::index", "aten::cat", "aten::stack", "aten::to", "aten::contiguous", "aten::clone")
POOL_DETECTORS = ("cmad", "moddis", "iforest", "ocsvm")  # cells of about 0.2 to 2 s


@dataclass
class DetectorPerf:
    """One deep detector on one dataset: speed, and where one profiled epoch spends its time."""

    detector: str
    dataset: str
    threads: int
    n_train: int
    ms_per_sample_epoch: float
    score_s_per_1k: float
    outside_loop_s: float
    profile_ms: dict[str, float] = field(default_factory=dict)


def _splits(dataset: str, root: str | None, n_train: int, seed: int = 0):
    """Train / val / test of `dataset` (anomaly type all, 1:1), the clean pool cut to about
    n_train / 0.6 samples first so that training has about n_train."""
    data = load_dataset(dataset, root)
    keep = min(len(data), int(n_train / 0.6))
    if keep < len(data):
        data = data.subset(np.sort(np.random.default_rng(seed).choice(len(data), keep, replace=False)))
    return prepare(data, InjectionConfig("all", "1:1"), SplitConfig(), seed)


def profile_epoch(detector: str, splits, device: str) -> dict[str, float]:
    """Milliseconds of one training epoch by part: the loop's named scopes, augmentation and data
    movement inside the forward scope (taken out of it), and what lies outside every scope."""
    from torch.profiler import ProfilerActivity, profile

    det = create_detector(detector, _one_epoch(detector), random_state=0, device=device)
    train, val = fit_views(splits, det.capabilities)
    start = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        det.fit(train, val)
    wall_ms = (time.perf_counter() - start) * 1000
    parts = dict.fromkeys([*SCOPES.values(), "augmentation", "data movement"], 0.0)
    for event in prof.events():
        if event.name in SCOPES:
            parts[SCOPES[event.name]] += event.cpu_time_total / 1000
            for child in _descendants(event):
                if child.name in AUGMENTATION_OPS:
                    parts["augmentation"] += child.cpu_time_total / 1000
                elif child.name in MOVEMENT_OPS and event.name == "mmadbench.forward":
                    parts["data movement"] += child.self_cpu_time_total / 1000
    parts["forward"] -= parts["augmentation"] + parts["data movement"]
    parts["outside the loop (setup, k-NN, thresholds, Python)"] = wall_ms - sum(
        parts[k] for k in ("forward", "backward", "optimiser", "augmentation", "data movement")
    )
    return {k: round(v, 1) for k, v in parts.items()}


def _descendants(event):
    stack = list(event.cpu_children)
    while stack:
        e = stack.pop()
        yield e
        if e.name not in AUGMENTATION_OPS:
            stack.extend(e.cpu_children)


def _one_epoch(detector: str) -> dict:
    return {"max_steps": 100, "window": 100, "tol": 1e-12} if detector == "moddis" else {"epochs": 1}


def _timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def measure_detector(
    detector: str, dataset: str, splits, device: str, n_score: int = 2000, threads: int = 1
) -> DetectorPerf:
    """Fit 1 + REPEATS epochs (the first pays one-off costs; the median of the rest is reported),
    score `n_score` samples REPEATS times (median), with `threads` torch threads."""
    import torch

    torch.set_num_threads(threads)
    params = TIMED_EPOCHS.get(detector, {"epochs": 1 + REPEATS})
    det = create_detector(detector, params, random_state=0, device=device)
    train, val = fit_views(splits, det.capabilities)
    start = time.perf_counter()
    det.fit(train, val)
    fit_s = time.perf_counter() - start
    per_sample = [s / n for s, n in zip(det.epoch_seconds_[1:], det.epoch_samples_[1:])]
    test = splits.test.blind()
    rows = np.arange(min(n_score, len(test)))
    test = test.subset(rows)
    det.score(test.subset(np.arange(min(64, len(test)))))  # warm the scoring path
    score_s = float(np.median([_timed(det.score, test) for _ in range(REPEATS)]))
    return DetectorPerf(
        detector,
        dataset,
        threads,
        len(splits.train),
        1000 * float(np.median(per_sample)),
        1000 * score_s / len(test),
        fit_s - sum(det.epoch_seconds_),
        profile_epoch(detector, splits, device),
    )


def harness_overhead(detectors: tuple[str, ...], workers: int) -> dict[str, float]:
    """Seconds per cell outside fit and score, and cells per second, on a digits sweep of cheap
    single-threaded cells, in-process and on a pool of `workers` processes."""
    from mmadbench.benchmark.execution.runner import run_sweep

    sweep = (
        'name = "perf"\nseeds = [0, 1]\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\n'
        'types = ["attribute", "cross_modal", "mixed", "all"]\nratios = ["1:1"]\n'
        + "".join(f'[[detectors]]\nname = "{d}"\n' for d in detectors)
    )
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "perf.toml"
        path.write_text(sweep)
        run_sweep(path, out=Path(tmp) / "warm")  # encodes digits once (cached), imports everything
        for executor, n in (("inprocess", 1), ("process", workers)):
            runs = [
                run_sweep(path, out=Path(tmp) / f"{executor}{i}", executor=executor, workers=n) for i in range(REPEATS)
            ]
            out[f"{executor} cells per s"] = float(np.median([r.ran / r.wall_s for r in runs]))
            out[f"{executor} harness s per cell"] = float(
                np.median([max(0.0, r.wall_s * n - r.detector_s) / r.ran for r in runs])
            )
            summary = runs[-1]
        cold = Path(tmp) / "perf-cold.toml"  # the default bench's shape: 3 seeds, 2 ratios (96 cells)
        cold.write_text(sweep.replace("seeds = [0, 1]", "seeds = [0, 1, 2]").replace('["1:1"]', '["9:1", "1:1"]'))
        run_sweep(cold, out=Path(tmp) / "warm")  # encodes the data of the new splits' seeds
        for executor, n in (("inprocess", 1), ("process", workers)):
            wall, cells = _cold_run(cold, Path(tmp) / f"cold-{executor}", executor, n)
            out[f"{executor} cold cells per s"] = cells / wall
        out["cold cells"] = float(cells)
    out["pool speed-up"] = out["process cells per s"] / out["inprocess cells per s"]
    out["pool speed-up cold"] = out["process cold cells per s"] / out["inprocess cold cells per s"]
    out["cells"] = float(summary.ran)
    return out


def _cold_run(sweep: Path, out: Path, executor: str, workers: int) -> tuple[float, int]:
    """Wall seconds and cells of `mmadbench run` in a fresh process (imports, data loading from
    the encoding cache and every warm-up included), as a user starting a sweep sees it."""
    command = [sys.executable, "-m", "mmadbench", "run", str(sweep), "--out", str(out), "--no-report"]
    command += ["--executor", executor, "--workers", str(workers)]
    start = time.perf_counter()
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    wall = time.perf_counter() - start
    line = next(x for x in done.stdout.splitlines() if " cells: " in x)
    return wall, int(line.split(" cells: ")[1].split(" run")[0])


def _previous(out: Path) -> pd.DataFrame | None:
    path = out / "perf.csv"
    return pd.read_csv(path) if path.is_file() else None


def shell_measures(results: Path, time_tests: bool) -> tuple[dict[str, float | None], dict[str, str]]:
    """What a user waits for at the shell, each in fresh processes: `import mmadbench`,
    `mmadbench list detectors`, the test suite (when `time_tests`), `make bench`'s warm re-run;
    and the wall time of the committed `make bench` run. Returns (figures, notes)."""
    python = sys.executable
    figures: dict[str, float | None] = {
        "import_s": timed_command([python, "-c", "import mmadbench"]),
        "list_s": timed_command([python, "-m", "mmadbench", "list", "detectors"]),
    }
    notes: dict[str, str] = {}
    figures["bench_s"], notes["bench_s"] = bench_wall_s(results)
    figures["warm_s"], notes["warm_s"] = warm_rerun_s(results)
    if time_tests:  # `make test`'s three commands
        commands = [["ruff", "check", "."], ["ruff", "format", "--check", "."], ["pytest", "-q", "-m", "not slow"]]
        times = [timed_command([python, "-m", *c], repeats=1) for c in commands]
        figures["test_s"] = None if None in times else sum(times)
        notes["test_s"] = "ruff check, ruff format --check, pytest -m 'not slow'; once" + (
            "" if figures["test_s"] is not None else ": a command failed"
        )
    else:
        figures["test_s"], notes["test_s"] = None, "not timed (run with --time-tests)"
    return figures, notes


def write_outputs(
    runs: list[DetectorPerf],
    harness: dict[str, float],
    out: Path,
    threads: str,
    previous: pd.DataFrame | None,
    shell: tuple[dict[str, float | None], dict[str, str]] | None = None,
) -> None:
    """perf.csv (one row per measure) and perf.md (the targets, then tables with the previous
    figures beside)."""
    out.mkdir(parents=True, exist_ok=True)
    rev = git_revision()
    rows = []
    for r in runs:
        key = f"{r.detector} · {r.dataset} · {r.threads} thread(s)"
        rows.append({"measure": f"{key} · train ms per sample per epoch", "value": r.ms_per_sample_epoch})
        rows.append({"measure": f"{key} · score s per 1k", "value": r.score_s_per_1k})
        rows.append({"measure": f"{key} · outside the loop s", "value": r.outside_loop_s})
        rows += [{"measure": f"{key} · profile ms · {k}", "value": v} for k, v in r.profile_ms.items()]
    rows += [{"measure": f"harness · {k}", "value": v} for k, v in harness.items()]
    figures, notes = shell or ({}, {})
    rows += [{"measure": f"shell · {k}", "value": v} for k, v in figures.items() if v is not None]
    frame = pd.DataFrame(rows)
    notes = {**notes, "pool": f"{harness.get('cold cells', 0):.0f} cells, fresh processes"}
    targets = speed_targets(frame, harness, figures, notes)
    frame["revision"] = rev
    if previous is not None and "measure" in previous:
        before = previous.set_index("measure")
        frame["before"] = frame.measure.map(before.value)
        frame["before_revision"] = str(before.revision.iloc[0]) if len(before) else ""
    frame.to_csv(out / "perf.csv", index=False)
    (out / "perf.md").write_text(_markdown(runs, harness, frame, threads, rev, targets))
    write_manifest(
        out,
        {
            "benchmark": "perf",
            "command": sys.argv,
            "git_revisions": [rev],
            "versions": [versions()],
            "hardware": hardware(),
            "threads": threads,
            "detectors": sorted({r.detector for r in runs}),
            "datasets": sorted({r.dataset for r in runs}),
        },
    )


def _markdown(
    runs: list[DetectorPerf],
    harness: dict[str, float],
    frame: pd.DataFrame,
    threads: str,
    rev: str,
    targets: list[Target],
) -> str:
    before = frame.set_index("measure")["before"] if "before" in frame else pd.Series(dtype=float)
    prev_rev = str(frame.before_revision.iloc[0]) if "before_revision" in frame else ""

    def cell(measure: str, value: float, digits: int) -> str:
        old = before.get(measure)
        if old is None or pd.isna(old):
            return f"{value:.{digits}f}"
        return f"{value:.{digits}f} (before {old:.{digits}f})"

    lines = [
        "# Performance",
        "",
        f"Made by `make perf` at {rev}; torch threads {threads} (per row below); machine: "
        + "; ".join(f"{k} {v}" for k, v in hardware().items())
        + (f". Figures in brackets: the previous run ({prev_rev})." if prev_rev else "."),
        "",
        "## Targets",
        "",
        *targets_markdown(targets),
        "",
        "Deep detectors: MNIST, 2 torch threads, the measures below. Times at the shell: the median",
        "of 3 fresh processes. `make bench`: from its first sweep's start (manifest) to the last",
        "cell of the second (cells.csv). The pool: one cold run of each executor on a 96-cell sweep.",
        "",
        "## Deep detectors",
        "",
        f"Training: the median of epochs 2 to {1 + REPEATS} (the first pays one-off costs); scoring: the median",
        f"of {REPEATS} passes over up to 2,000 test samples after a warm-up call; the pool: the median of",
        f"{REPEATS} runs each. MODDIS's epoch is a window of 100 SGD steps of 512 samples. Measured one",
        "detector at a time in one process, nothing else running.",
        "",
        "| detector | data | threads | training samples | train ms per sample per epoch | score s per 1,000 | outside the loop s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in runs:
        key = f"{r.detector} · {r.dataset} · {r.threads} thread(s)"
        lines.append(
            f"| {r.detector} | {r.dataset} | {r.threads} | {r.n_train} | {cell(key + ' · train ms per sample per epoch', r.ms_per_sample_epoch, 3)} "
            f"| {cell(key + ' · score s per 1k', r.score_s_per_1k, 3)} | {cell(key + ' · outside the loop s', r.outside_loop_s, 2)} |"
        )
    parts = list(runs[0].profile_ms) if runs else []
    lines += [
        "",
        "## Profile of one training epoch (ms)",
        "",
        "From `torch.profiler` over a one-epoch fit: the TorchDetector loop's scopes (forward,",
        "backward, optimiser step), augmentation and data movement (copies, indexing, concatenation)",
        "inside the forward scope, and the rest of the fit's wall time outside every scope.",
        "",
        "| detector | data | threads | " + " | ".join(parts) + " |",
        "| --- | --- | --- | " + " | ".join("---" for _ in parts) + " |",
    ]
    lines += [
        f"| {r.detector} | {r.dataset} | {r.threads} | " + " | ".join(f"{r.profile_ms[p]:.0f}" for p in parts) + " |"
        for r in runs
    ]
    lines += ["", "## Harness", "", "| measure | value |", "| --- | --- |"]
    lines += [f"| {k} | {cell('harness · ' + k, v, 3)} |" for k, v in harness.items()]
    lines += [
        "",
        f"A digits sweep of {POOL_DETECTORS}, single-threaded cells, after a warm run that encodes",
        "the data: the harness's seconds per cell outside fit and score, and the cells per second",
        "of the process pool against the in-process executor. Warm (2 seeds, 4 anomaly types, 1:1;",
        f"the median of {REPEATS} runs): both executors started from this process, which has imported",
        "everything and warmed every detector up (pool workers still start, import and warm up).",
        "Cold (3 seeds, 4 anomaly types, 9:1 and 1:1, one run each): each run is a fresh",
        "`mmadbench run` process, as a user starts a sweep, so both pay imports and warm-ups.",
        "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mmadbench.benchmark.performance.perf", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--data-root", default=None, help="folder with MNIST/ (skipped when absent)")
    parser.add_argument("--out", default="results/perf")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", default="1,2", help="torch thread counts for the detector measures")
    parser.add_argument("--mnist-train", type=int, default=2048, help="training samples on MNIST")
    parser.add_argument("--detectors", default=",".join(DEEP))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--require-clean", action="store_true", help="refuse to run from uncommitted code")
    parser.add_argument("--results", default="results", help="folder with the default sweeps' results (make bench)")
    parser.add_argument("--time-tests", action="store_true", help="also time `make test`'s commands")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    for noisy in ("mmadbench.benchmark.execution.runner", "mmadbench.benchmark.measure.cell", "mmadbench.datasets"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    if args.require_clean:
        try:
            require_clean_revision()
        except MmadbenchError as exc:
            parser.error(str(exc))
    thread_counts = [int(t) for t in str(args.threads).split(",") if t.strip()]
    out = Path(args.out)
    previous = _previous(out)
    datasets = [("digits", None, 10**6)]
    if args.data_root and (Path(args.data_root) / "MNIST").is_dir():
        datasets.append(("mnist", args.data_root, args.mnist_train))
    else:
        logger.warning("no MNIST under --data-root: measuring on digits only")
    runs = []
    for dataset, root, n_train in datasets:
        splits = _splits(dataset, root, n_train)
        for threads in thread_counts:
            for name in [d.strip() for d in args.detectors.split(",") if d.strip()]:
                run = measure_detector(name, dataset, splits, args.device, threads=threads)
                logger.info("%s", asdict(run))
                runs.append(run)
    harness = harness_overhead(POOL_DETECTORS, args.workers)
    logger.info("harness: %s", harness)
    shell = shell_measures(Path(args.results), args.time_tests)
    logger.info("shell: %s", shell)
    write_outputs(runs, harness, out, args.threads, previous, shell)  # the harness's cells: 1 thread each
    print((out / "perf.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
