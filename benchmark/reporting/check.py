"""`mmadbench check-results`: re-run sweeps into a scratch folder and diff their tables against
the committed ones, so a reader can confirm that the published numbers come out of the code.

Timing tables are left out of the comparison (they measure the machine, not the method); every
other table, in every format, must match byte for byte, and the README's results block must be
the one the committed tables make.
"""

from __future__ import annotations

import difflib
import json
import logging
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from mmadbench.benchmark.execution.provenance import hardware
from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.measure.config import load_sweep
from mmadbench.benchmark.reporting import leaderboard
from mmadbench.benchmark.reporting.report import current_readme_block, readme_block, write_report

logger = logging.getLogger(__name__)

EXCLUDED = ("_timing.",)  # file names holding timings


@dataclass
class CheckReport:
    """What the check compared and what differed (empty `problems`: everything regenerated)."""

    compared: int = 0
    problems: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    machine: str = ""

    @property
    def ok(self) -> bool:
        return not self.problems


def _compared_files(folder: Path) -> dict[str, Path]:
    return {
        p.name: p
        for p in sorted((folder / "tables").glob("*"))
        if p.is_file() and not any(x in p.name for x in EXCLUDED)
    }


def _diff(committed: Path, fresh: Path, lines: int = 12) -> str:
    diff = difflib.unified_diff(
        committed.read_text().splitlines(), fresh.read_text().splitlines(), str(committed), str(fresh), lineterm="", n=0
    )
    return "\n".join(list(diff)[:lines])


def compare_tables(committed: Path, fresh: Path, report: CheckReport) -> None:
    """Every non-timing table of `committed` against the one of the same name in `fresh`."""
    compare_files(_compared_files(committed), _compared_files(fresh), committed / "tables", fresh / "tables", report)


def compare_files(
    old: dict[str, Path], new: dict[str, Path], old_dir: Path, new_dir: Path, report: CheckReport
) -> None:
    """Files of one name in both sets must be byte-identical; a file in one set only is a problem."""
    for name in sorted(old.keys() | new.keys()):
        if name not in new:
            report.problems.append(f"{old_dir / name}: not produced by the re-run")
        elif name not in old:
            report.problems.append(f"{new_dir / name}: produced by the re-run but not committed")
        else:
            report.compared += 1
            if old[name].read_bytes() != new[name].read_bytes():
                report.problems.append(f"{old[name]} differs:\n{_diff(old[name], new[name])}")


LEADERBOARD_SUFFIXES = (".md", ".tex", ".csv")


def _rebuilt_folder(committed: Path, scratch: Path) -> Path:
    """A copy of a sweep folder whose cells.csv is exported afresh from its committed database
    (the committed cells.csv where no database is committed)."""
    copy = scratch / committed.name
    copy.mkdir(parents=True, exist_ok=True)
    if (committed / "results.sqlite").is_file():
        for name in ("results.sqlite", "sweep.toml"):
            if (committed / name).is_file():
                shutil.copy2(committed / name, copy / name)
        write_report(copy, figures=False)
    else:
        shutil.copy2(committed / "cells.csv", copy / "cells.csv")
    return copy


def check_leaderboard(board_dir: Path, scratch: Path, report: CheckReport) -> None:
    """Rebuild the leaderboard in `board_dir` from the sweep folders its manifest names (their
    cells exported afresh from the committed databases) and compare every md, tex and csv file."""
    manifest = json.loads((board_dir / "manifest.json").read_text())
    config = leaderboard.LeaderboardConfig(**manifest["config"])
    missing = [name for name in manifest["folders"] if not (board_dir.parent / name / "cells.csv").is_file()]
    if missing:
        report.problems.append(f"{board_dir}: its manifest names folder(s) {missing} that are not beside it")
        return
    folders = [_rebuilt_folder(board_dir.parent / name, scratch / "sweeps") for name in manifest["folders"]]
    fresh = scratch / board_dir.name
    leaderboard.write(folders, fresh, config)
    rebuilt = json.loads((fresh / "manifest.json").read_text())
    if {**manifest, "git_revisions": None} != {**rebuilt, "git_revisions": None}:
        report.problems.append(
            f"{board_dir / 'manifest.json'}: its entries, cliques or settings differ from the rebuilt one's"
        )
    old = {p.name: p for p in board_dir.iterdir() if p.suffix in LEADERBOARD_SUFFIXES}
    new = {p.name: p for p in fresh.iterdir() if p.suffix in LEADERBOARD_SUFFIXES}
    compare_files(old, new, board_dir, fresh, report)


def check_results(
    sweeps: list[str | Path],
    results: str | Path = "results",
    data_root: str | Path | None = None,
    readme: str | Path | None = None,
    scratch: str | Path | None = None,
    device: str | None = None,
    board: str | Path | None = None,
) -> CheckReport:
    """Re-run each sweep from nothing into `scratch` (a temporary folder by default) and compare
    its tables with those in `results/<sweep name>/`; check the README block against the first;
    rebuild the leaderboard in `board` (if given) from the committed databases and compare it."""
    report = CheckReport(machine=hardware().get("cpu", ""))
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="mmadbench-check-") as tmp:
        out = Path(scratch or tmp)
        for sweep in sweeps:
            name = load_sweep(sweep).name
            logger.info("check-results: re-running %s into %s", sweep, out)
            summary = run_sweep(sweep, out=out, data_root=data_root, device=device, rerun=True)
            write_report(summary.out)
            compare_tables(Path(results) / name, summary.out, report)
        if readme is not None and sweeps:
            first = Path(results) / load_sweep(sweeps[0]).name
            if current_readme_block(readme) != readme_block(readme, first):
                report.problems.append(
                    f"{readme}: its results block is not the one {first}'s tables make (run `make report`)"
                )
        if board is not None:
            logger.info("check-results: rebuilding the leaderboard %s from its folders' databases", board)
            check_leaderboard(Path(board), out / "leaderboard-check", report)
            if readme is not None and leaderboard.current_readme_block(readme) != leaderboard.readme_block(
                readme, board
            ):
                report.problems.append(
                    f"{readme}: its leaderboard block is not the one {board} makes (run `make leaderboard`)"
                )
    report.wall_s = time.perf_counter() - start
    return report
