"""Command line: `mmadbench list`, `run`, `report`, `check-results`, `fetch`.

User errors (bad names, files, ratios) print one line and exit with status 2.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from mmadbench.errors import MmadbenchError

logger = logging.getLogger("mmadbench")


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mmadbench", description="Multimodal and cross-modal anomaly detection benchmark")
    p.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    sub = p.add_subparsers(dest="command", required=True)

    ls = sub.add_parser("list", help="list registered detectors or datasets")
    ls.add_argument("what", choices=["detectors", "datasets"])
    ls.add_argument(
        "--plugin", action="append", default=[], metavar="FILE.py", help="load a detector plugin file first"
    )
    ls.add_argument("--all", action="store_true", help="also list every PyOD detector usable as pyod:<Class>[-late]")

    run = sub.add_parser("run", help="run a sweep file")
    run.add_argument("sweeps", type=Path, nargs="+", help="sweep file(s) (TOML), run one after another")
    run.add_argument("--data-root", type=Path, default=None, help="folder with the datasets (else $MMADBENCH_DATA)")
    run.add_argument(
        "--plugin", action="append", default=[], metavar="FILE.py", help="detector plugin file (repeatable)"
    )
    run.add_argument("--out", type=Path, default=Path("results"), help="output folder (a subfolder per sweep)")
    run.add_argument("--device", default=None, help="cpu, cuda or auto (default: the sweep file's, else auto)")
    run.add_argument("--rerun", action="store_true", help="run cells again even if they are in the database")
    run.add_argument("--retry-failed", action="store_true", help="run again the cells that ended in error/timeout/oom")
    run.add_argument(
        "--executor",
        default="inprocess",
        choices=["inprocess", "process", "ray"],
        help="where cells run (default: this process)",
    )
    run.add_argument("--workers", type=int, default=1, help="worker processes or Ray tasks at once")
    run.add_argument("--address", default=None, help="Ray cluster address (default: start a local one)")
    run.add_argument("--time-limit", type=float, default=None, metavar="S", help="seconds per cell (runs in a worker)")
    run.add_argument("--memory-limit", type=float, default=None, metavar="MB", help="worker memory limit per cell")
    run.add_argument(
        "--smoke",
        action="store_true",
        help="a quick end-to-end check: first seed, every detector at its fast test parameters, out to <name>-smoke",
    )
    run.add_argument(
        "--isolate",
        action="store_true",
        help="run each cell in a fresh worker process (timing-grade: no memory or caches of earlier cells)",
    )
    run.add_argument(
        "--threads",
        type=int,
        default=None,
        metavar="N",
        help="CPU threads per cell (default: the sweep file's, else 1); part of each cell's identity",
    )
    run.add_argument(
        "--accept-drift",
        action="store_true",
        help="resume a store made with other library versions (the drift is recorded in the manifest)",
    )
    run.add_argument(
        "--require-clean",
        action="store_true",
        help="refuse to run from a git checkout with uncommitted changes (for committed results)",
    )
    run.add_argument(
        "--no-reuse-training",
        action="store_true",
        help="train every cell's deep detector afresh (by default cells that differ only in anomaly type or "
        "ratio share one training: the same numbers, sooner)",
    )
    run.add_argument("--no-report", action="store_true", help="do not regenerate the report afterwards")
    run.add_argument(
        "--readme", type=Path, default=None, help="also refresh this README's results block (from the first sweep)"
    )

    check = sub.add_parser(
        "check-results",
        help="re-run sweeps into a scratch folder and diff their tables "
        "against the committed ones (timing tables excepted)",
    )
    check.add_argument("sweeps", type=Path, nargs="+", help="sweep files (TOML)")
    check.add_argument("--results", type=Path, default=Path("results"), help="folder of the committed results")
    check.add_argument("--data-root", type=Path, default=None, help="folder with the datasets (else $MMADBENCH_DATA)")
    check.add_argument("--device", default=None, help="cpu, cuda or auto (default: the sweep file's, else auto)")
    check.add_argument("--readme", type=Path, default=None, help="also check this README's results block")
    check.add_argument("--scratch", type=Path, default=None, help="keep the re-run here (default: a temporary folder)")
    check.add_argument(
        "--leaderboard",
        type=Path,
        default=None,
        help="also rebuild this leaderboard folder (e.g. results/leaderboard) from the committed databases of the "
        "folders its manifest names, and diff its md, tex and csv files",
    )

    fetch = sub.add_parser("fetch", help="download a dataset with checksum verification")
    fetch.add_argument("name", help="mnist, fashion-mnist or cifar10")
    fetch.add_argument("--root", type=Path, required=True, help="data root to download into")

    rep = sub.add_parser("report", help="regenerate tables and figures from a sweep folder's database")
    rep.add_argument(
        "folder",
        type=Path,
        nargs="?",
        default=None,
        help="one sweep's output folder, e.g. results/default (default: every sweep under --out)",
    )
    rep.add_argument("--out", type=Path, default=Path("results"), help="output root holding sweep folders")
    rep.add_argument("--format", default="md,tex,csv", help="comma-separated: md, tex, csv")
    rep.add_argument("--readme", type=Path, default=None, help="also refresh this README's results block")
    rep.add_argument("--decimals", type=int, default=None, help="decimals of the metric tables (default 4)")
    rep.add_argument(
        "--tex-layout",
        default="full",
        help="LaTeX tables: full (every metric, ratios as rows) or compact (one metric, ratios as columns: fits a column)",
    )
    rep.add_argument(
        "--tex-metric", default="AUC", help="the metric of --tex-layout compact: AUC, FPR, TPR or Accuracy"
    )

    cmp_ = sub.add_parser("compare", help="put every published figure of the seed papers beside the measured one")
    cmp_.add_argument(
        "folders", type=Path, nargs="*", help="sweep folders whose sweep files have [[reproduces]] tables"
    )
    cmp_.add_argument(
        "--out", type=Path, default=Path("results/paper"), help="where compare.md, claims.md and their CSVs go"
    )
    cmp_.add_argument(
        "--reasons",
        type=Path,
        default=None,
        help="a TOML file of [[deviation]] reasons for figures outside the interval (e.g. configs/paper-reasons.toml)",
    )
    cmp_.add_argument(
        "--readme", type=Path, default=None, help="also refresh this README's generated reproduction block"
    )

    board = sub.add_parser("leaderboard", help="one leaderboard over sweep folders, from their stored cells")
    board.add_argument("folders", type=Path, nargs="+", help="sweep folders, e.g. results/default results/suite")
    board.add_argument("--out", type=Path, default=Path("results/leaderboard"), help="where its tables and figures go")
    board.add_argument("--rope", type=float, default=0.01, help="region of practical equivalence on AUC (default 0.01)")
    board.add_argument(
        "--min-datasets", type=int, default=None, help="fewest datasets an entry needs to be ranked (default: all)"
    )
    board.add_argument("--cd", default="wilcoxon", help="test behind the CD diagram: wilcoxon (Holm) or nemenyi")
    board.add_argument(
        "--readme", type=Path, default=None, help="also refresh this README's leaderboard block (its markers)"
    )

    stat = sub.add_parser("status", help="how many of each sweep folder's cells this checkout's code still computes")
    stat.add_argument("folders", type=Path, nargs="+", help="sweep folders, e.g. results/*")
    stat.add_argument("--data-root", default=None, help="data root the sweeps read (e.g. ../shared/data)")

    browse = sub.add_parser(
        "browse", help="write the results browser (index.html) of sweep folders from their files, and one over them"
    )
    browse.add_argument("folders", type=Path, nargs="+", help="sweep folders, e.g. results/*")
    return p


def _cmd_list(args: argparse.Namespace) -> int:
    from mmadbench.datasets.registry import list_datasets
    from mmadbench.detectors.registry import describe, list_detectors, load_plugin_file

    for plugin in args.plugin:
        load_plugin_file(plugin)
    if args.what == "datasets":
        for info in list_datasets():
            print(f"{info.name:<16} {info.description}")
        return 0
    for name in list_detectors():
        info = describe(name)
        caps = info.capabilities
        kinds = "any" if caps.modality_kinds is None else ",".join(sorted(caps.modality_kinds))
        mods = (
            f"{caps.min_modalities}+" if caps.max_modalities is None else f"{caps.min_modalities}-{caps.max_modalities}"
        )
        val = "yes" if caps.uses_validation_truth else "no"
        print(
            f"{name:<20} modalities={mods:<4} kinds={kinds:<12} labels={'yes' if caps.requires_labels else 'no':<3} "
            f"val-truth={val:<3} missing={'native' if caps.handles_missing else 'impute':<6} {info.summary}"
        )
    if args.all:
        from mmadbench.detectors.pyod_models import catalog_names

        names = [n for n in catalog_names() if n not in set(list_detectors())]
        print(
            f"\nEvery PyOD detector by name ({len(names)}; early fusion, or late with -late; "
            "supervised ones such as XGBOD fail without labels):"
        )
        print("  " + " ".join(names))
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    """Run each sweep in turn; exit 1 when any of them holds failed cells, this run's or earlier ones'."""
    failed = [_run_one(args, sweep, readme=args.readme if i == 0 else None) for i, sweep in enumerate(args.sweeps)]
    if not args.no_report and args.out.is_dir():
        _write_index(args.out)
    if not any(failed):
        return 0
    print(
        f"mmadbench: {sum(failed)} cell(s) failed (error, timeout or oom) in "
        + ", ".join(f"{s} ({n})" for s, n in zip(args.sweeps, failed) if n)
        + "; their errors are in each folder's summary.md and cells.csv; run the sweep again with --retry-failed",
        file=sys.stderr,
    )
    return 1


def _run_one(args: argparse.Namespace, sweep: Path, readme: Path | None) -> int:
    """Run one sweep file, then refresh its report (imported only then: a warm re-run that runs
    nothing stays fast)."""
    from mmadbench.benchmark.execution.runner import run_sweep

    summary = run_sweep(
        sweep,
        out=args.out,
        data_root=args.data_root,
        device=args.device,
        rerun=args.rerun,
        plugins=args.plugin,
        executor=args.executor,
        workers=args.workers,
        time_limit_s=args.time_limit,
        memory_limit_mb=args.memory_limit,
        ray_address=args.address,
        retry_failed=args.retry_failed,
        threads=args.threads,
        accept_drift=args.accept_drift,
        require_clean=args.require_clean,
        isolate=args.isolate,
        smoke_test=args.smoke,
        reuse_training=not args.no_reuse_training,
    )
    summary_md = summary.out / "summary.md"
    # an edited sweep file (e.g. its [[report.tables]]) needs a new report even when no cell ran
    if summary.ran == 0 and not summary.sweep_changed and summary_md.is_file():
        logger.info("nothing new ran; the report in %s is current", summary.out)
    elif not args.no_report:
        from mmadbench.benchmark.reporting.report import update_readme, write_report

        path = write_report(summary.out)
        if readme:
            update_readme(readme, summary.out)
        logger.info("report written to %s", path)
    print(
        f"{summary.total} cells: {summary.ran} run ({summary.failed} failed, {summary.incompatible} incompatible), "
        f"{summary.already_done} already done; {summary.wall_s:.1f} s, {summary.detector_s:.1f} s in detectors "
        f"(harness share {summary.harness_share:.1%} over {summary.workers} worker(s)); results in {summary.out}"
    )
    earlier = summary.failed_stored - summary.failed
    if earlier > 0:
        print(
            f"{earlier} cell(s) of earlier runs are stored as failed and were not run again (--retry-failed runs them)"
        )
    return summary.failed_stored


def _cmd_report(args: argparse.Namespace) -> int:
    from mmadbench.benchmark.reporting.report import FORMATS, ReportStyle, update_readme, write_report

    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    bad = sorted(set(formats) - set(FORMATS))
    if bad:
        raise MmadbenchError(f"unknown report format(s) {bad}; choose from {list(FORMATS)}")
    folders = [args.folder] if args.folder else sorted(p.parent for p in args.out.glob("*/results.sqlite"))
    if not folders:
        raise MmadbenchError(f"no results database under {str(args.out)!r}; run a sweep first")
    style = ReportStyle(args.decimals, args.tex_layout, args.tex_metric)
    for folder in folders:
        print(write_report(folder, formats, style=style))
    if args.readme:
        update_readme(args.readme, folders[0])
    print(_write_index(folders[0].parent))
    return 0


def _cmd_leaderboard(args: argparse.Namespace) -> int:
    from mmadbench.benchmark.reporting.browser import write_sweep_page
    from mmadbench.benchmark.reporting.leaderboard import LeaderboardConfig, update_readme, write

    config = LeaderboardConfig(rope=args.rope, min_datasets=args.min_datasets, cd_test=args.cd)
    for path in write(list(args.folders), args.out, config):
        print(path)
    if args.readme is not None:
        update_readme(args.readme, args.out)
    print(write_sweep_page(args.out))
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    from mmadbench.benchmark.execution.freshness import status

    results = status(list(args.folders), args.data_root)
    for result in results:
        print(result.line())
    checked = [r for r in results if not r.problem]
    current = sum(r.is_current for r in checked)
    print(
        f"status: {current} of {len(checked)} sweep folder(s) current ({len(results) - len(checked)} not sweep folders)"
    )
    return 0 if current == len(checked) else 1


def _cmd_browse(args: argparse.Namespace) -> int:
    """Pages from the folders' committed files alone (nothing re-run, no database needed), then
    the page over every folder of their common parent."""
    from mmadbench.benchmark.reporting.browser import write_sweep_page

    folders = [f for f in args.folders if f.is_dir()]
    if not folders:
        raise MmadbenchError("no folder among the arguments; give sweep folders such as results/default")
    for folder in folders:
        print(write_sweep_page(folder))
    parents = {f.resolve().parent for f in folders}
    for root in sorted(parents):
        print(_write_index(root))
    return 0


def _write_index(root: Path) -> Path:
    """The results browser's page over every sweep folder under `root` (each folder's own page
    is written with its report)."""
    from mmadbench.benchmark.reporting.browser import write_index_page

    folders = sorted(p for p in root.iterdir() if p.is_dir() and (p / "index.html").is_file())
    return write_index_page(folders, root / "index.html")


def _cmd_check(args: argparse.Namespace) -> int:
    from mmadbench.benchmark.reporting.check import check_results

    report = check_results(
        args.sweeps, args.results, args.data_root, args.readme, args.scratch, args.device, args.leaderboard
    )
    for problem in report.problems:
        print(problem)
    verdict = "all match" if report.ok else f"{len(report.problems)} difference(s)"
    print(
        f"check-results: {report.compared} table files compared, {verdict}; {report.wall_s:.0f} s on {report.machine}"
    )
    return 0 if report.ok else 1


def _cmd_compare(args: argparse.Namespace) -> int:
    from mmadbench.benchmark.reporting.browser import write_sweep_page
    from mmadbench.benchmark.reproduction.reproduction import write_reproduction

    for path in write_reproduction(list(args.folders), args.out, args.reasons, args.readme):
        print(path)
    print(write_sweep_page(args.out))
    print(_write_index(args.out.parent))
    return 0


def _cmd_fetch(args: argparse.Namespace) -> int:
    from mmadbench.datasets.fetch import fetch

    for path in fetch(args.name, args.root):
        print(path)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    for noisy in ("matplotlib", "PIL", "urllib3"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    try:
        return {
            "list": _cmd_list,
            "run": _cmd_run,
            "report": _cmd_report,
            "fetch": _cmd_fetch,
            "check-results": _cmd_check,
            "compare": _cmd_compare,
            "browse": _cmd_browse,
            "leaderboard": _cmd_leaderboard,
            "status": _cmd_status,
        }[args.command](args)
    except MmadbenchError as exc:
        print(f"mmadbench: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
