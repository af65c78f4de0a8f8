"""Scaling benchmark: fit + score seconds of detectors on synthetic two-view data of growing size.

    python -m mmadbench.benchmark.performance.scaling --detectors scone,muvad,moddis \
        --sizes 1000,10000,100000 --out results/multiview-scaling

Each run fits on N clean samples and scores N samples (10 % planted anomalies of every kind),
in a subprocess under a time limit; once a detector exceeds the limit its larger sizes are
skipped. Writes scaling.csv (one row per detector and size), scaling.md (seconds per size,
the growth exponent = least-squares slope of log seconds on log N, machine information) and
manifest.json (command, git revision, library versions, hardware).
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import platform
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from mmadbench.benchmark.execution.provenance import hardware, require_clean_revision, write_manifest
from mmadbench.benchmark.measure.identity import git_revision, versions
from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import MmadbenchError

logger = logging.getLogger(__name__)


def make_multiview(
    n: int,
    classes: int = 10,
    dims: tuple[int, ...] = (20, 30),
    latent: int = 8,
    spread: float = 0.3,
    noise: float = 0.05,
    seed: int = 0,
) -> MultiModalData:
    """Class-structured multi-view vectors: a latent point per sample (class centre + spread),
    seen through one random linear map per view plus noise, so neighbours agree across views."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    z = rng.normal(size=(classes, latent))[labels] + spread * rng.normal(size=(n, latent))
    maps = [rng.normal(size=(latent, d)) / np.sqrt(latent) for d in dims]
    views = {
        f"view{i}": (z @ m + noise * rng.normal(size=(n, m.shape[1]))).astype(np.float32) for i, m in enumerate(maps)
    }
    return MultiModalData(views, {name: "vector" for name in views}, labels, name="synthetic-multiview")


@dataclass
class Run:
    """One detector at one size: seconds to fit and to score, and the test AUC as a sanity check."""

    detector: str
    n: int
    status: str  # ok | timeout | error | skipped
    fit_s: float = float("nan")
    score_s: float = float("nan")
    auc: float = float("nan")
    cpu_s: float = float("nan")  # process CPU seconds of fit + score: less sensitive to a shared machine
    note: str = ""

    @property
    def total_s(self) -> float:
        return self.fit_s + self.score_s


def measure(detector: str, n: int, seed: int = 0, device: str = "cpu") -> Run:
    """Fit `detector` on n clean samples and score n samples (10 % anomalies of every kind), timed
        after a warm-up run on 100 samples (library imports and lazy initialisation excluded). The
    detector sees what it would in a cell: training labels only if it declares them, test data blind
    and shuffled."""
    from sklearn.metrics import roc_auc_score

    from mmadbench.datasets.injection import Ratio, UniformNoise, inject
    from mmadbench.detectors import create_detector, get_detector_class

    labels = get_detector_class(detector).capabilities.requires_labels
    data = make_multiview(2 * n, seed=seed)
    train, test = data.subset(np.arange(n)), data.subset(np.arange(n, 2 * n))
    test = inject(test, "all", Ratio.parse("9:1"), UniformNoise().fit(train), np.random.default_rng(seed))
    order = np.random.default_rng([seed, 7]).permutation(n)  # scored blind and shuffled, as in a cell
    fit_view, score_view = train.blind(labels=labels), test.blind().subset(order)
    warm = make_multiview(100, seed=seed + 1).blind(labels=labels)  # imports and first-call set-up stay out
    create_detector(detector, random_state=seed, device=device).fit(warm).score(warm)
    det = create_detector(detector, random_state=seed, device=device)
    start, cpu = time.perf_counter(), time.process_time()
    det.fit(fit_view)
    fitted = time.perf_counter()
    scores = np.empty(n)
    scores[order] = det.score(score_view)
    done, cpu = time.perf_counter(), time.process_time() - cpu
    return Run(detector, n, "ok", fitted - start, done - fitted, float(roc_auc_score(test.anomaly, scores)), cpu)


def measure_in_subprocess(detector: str, n: int, limit_s: float, seed: int, device: str) -> Run:
    """`measure` in a fresh interpreter, killed after limit_s seconds (recorded as a timeout)."""
    cmd = [
        sys.executable,
        "-m",
        "mmadbench.benchmark.performance.scaling",
        "--one",
        detector,
        "--sizes",
        str(n),
        "--seed",
        str(seed),
        "--device",
        device,
    ]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=limit_s)
    except subprocess.TimeoutExpired:
        return Run(detector, n, "timeout", note=f"over {limit_s:g} s")
    if proc.returncode != 0:
        return Run(detector, n, "error", note=(proc.stderr.strip().splitlines() or ["?"])[-1][:200])
    return Run(**json.loads(proc.stdout.strip().splitlines()[-1]))


def growth_exponent(runs: list[Run]) -> float:
    """Least-squares slope of log(fit + score seconds) on log(N) over the finished sizes."""
    ok = [r for r in runs if r.status == "ok" and r.total_s > 0]
    if len(ok) < 2:
        return float("nan")
    return float(np.polyfit(np.log([r.n for r in ok]), np.log([r.total_s for r in ok]), 1)[0])


def machine_info() -> dict[str, str]:
    """CPU, core count, load, library versions: what the seconds depend on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        names = [
            ln.split(":", 1)[1].strip()
            for ln in Path("/proc/cpuinfo").read_text().splitlines()
            if ln.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "load average (1 min) at the end": f"{load:.2f}",
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "torch threads": str(torch.get_num_threads()),
        "platform": platform.platform(),
    }


def run_all(
    detectors: list[str], sizes: list[int], limit_s: float | None, seed: int = 0, device: str = "cpu"
) -> list[Run]:
    """Every detector at every size, smallest first; sizes past a timeout or error are skipped.
    With no limit the runs happen in this process (for tests)."""
    runs: list[Run] = []
    for name in detectors:
        stopped = ""
        for n in sorted(sizes):
            if stopped:
                runs.append(Run(name, n, "skipped", note=stopped))
                continue
            run = (
                measure(name, n, seed, device)
                if limit_s is None
                else measure_in_subprocess(name, n, limit_s, seed, device)
            )
            logger.info("%s n=%d: %s %.2f s", name, n, run.status, run.total_s)
            runs.append(run)
            if run.status != "ok":
                stopped = f"after {run.status} at N={n}"
    return runs


def write_outputs(runs: list[Run], out: Path, limit_s: float | None) -> None:
    """scaling.csv (one row per run) and scaling.md (seconds per size, growth exponent, machine)."""
    out.mkdir(parents=True, exist_ok=True)
    fields = ["detector", "n", "status", "fit_s", "score_s", "total_s", "cpu_s", "auc", "note"]
    with open(out / "scaling.csv", "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        for r in runs:
            writer.writerow({**asdict(r), "total_s": r.total_s})
    sizes = sorted({r.n for r in runs})
    lines = [
        "# Scaling: fit + score seconds on synthetic two-view data",
        "",
        "Fit on N clean samples, score N samples (10 % anomalies: attribute, cross-modal, mixed); "
        f"two vector views (20 and 30 features, 10 classes). Per-run limit: {limit_s or 'none'} s.",
        "",
        "| detector | " + " | ".join(f"N={n:,}" for n in sizes) + " | growth exponent | last step |",
        "|---|" + "---|" * len(sizes) + "---|---|",
    ]
    for name in dict.fromkeys(r.detector for r in runs):
        mine = [r for r in runs if r.detector == name]
        cells = []
        for n in sizes:
            r = next((r for r in mine if r.n == n), None)
            cells.append(
                ""
                if r is None
                else f"{r.total_s:.2f} (fit {r.fit_s:.2f}, CPU {r.cpu_s:.2f}, AUC {r.auc:.3f})"
                if r.status == "ok"
                else r.status
            )
        done = [r for r in mine if r.status == "ok"]
        lines.append(
            f"| {name} | " + " | ".join(cells) + f" | {growth_exponent(mine):.2f} | {growth_exponent(done[-2:]):.2f} |"
        )
    lines += [
        "",
        "Cells: wall-clock seconds of fit + score (fit alone, process CPU seconds of both, test AUC). "
        "Growth exponent: least-squares slope of log wall-clock seconds on log N over the finished sizes "
        "(1 = linear, 2 = quadratic); last step: the same between the two largest finished sizes.",
        "",
        "Machine:",
        "",
    ]
    lines += [f"- {k}: {v}" for k, v in machine_info().items()]
    (out / "scaling.md").write_text("\n".join(lines) + "\n")
    write_manifest(
        out,
        {
            "benchmark": "scaling",
            "command": sys.argv,
            "git_revisions": [git_revision()],
            "versions": [versions()],
            "hardware": hardware(),
            "time_limit_s": limit_s,
            "runs": len(runs),
            "detectors": sorted({r.detector for r in runs}),
            "sizes": sizes,
        },
    )


def main(argv: list[str] | None = None) -> int:
    """Command line: run the sizes and write the tables, or (--one) measure one run and print JSON."""
    parser = argparse.ArgumentParser(
        prog="python -m mmadbench.benchmark.performance.scaling", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--detectors", default="scone,muvad,moddis")
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--out", default="results/multiview-scaling")
    parser.add_argument("--time-limit", type=float, default=600.0, help="seconds per run; 0 = no limit, in-process")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--require-clean", action="store_true", help="refuse to run from uncommitted code")
    parser.add_argument("--one", metavar="DETECTOR", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.require_clean:
        try:
            require_clean_revision()
        except MmadbenchError as exc:
            parser.error(str(exc))
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    if not sizes or min(sizes) < 20:
        parser.error(f"--sizes must be integers >= 20, got {args.sizes!r}")
    if args.one:
        print(json.dumps(asdict(measure(args.one, sizes[0], args.seed, args.device))))
        return 0
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    limit = args.time_limit or None
    runs = run_all([d.strip() for d in args.detectors.split(",") if d.strip()], sizes, limit, args.seed, args.device)
    write_outputs(runs, Path(args.out), limit)
    print((Path(args.out) / "scaling.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
