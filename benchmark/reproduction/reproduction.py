"""`mmadbench compare` end to end: the comparison, the claims, and the README's reproduction block.

The block (between `<!-- paper:start -->` and `<!-- paper:end -->`) is generated, never edited
by hand: the headline figures of each paper (measured mean ± 95 % interval (n) beside the
published value, one column per dataset or stand-in) and every claim's verdict per dataset and
form. The prose around it, which says why, is written by people.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from mmadbench.benchmark.execution.provenance import write_manifest
from mmadbench.benchmark.measure.identity import git_revision
from mmadbench.benchmark.reporting.readme_blocks import replace_block
from mmadbench.benchmark.reproduction.claims import evaluate_claims, load_claims, summarise
from mmadbench.benchmark.reproduction.claims import to_markdown as claims_markdown
from mmadbench.benchmark.reproduction.compare import compare, load_measured
from mmadbench.benchmark.reproduction.compare import to_markdown as compare_markdown
from mmadbench.benchmark.reproduction.deviations import load_reasons

logger = logging.getLogger(__name__)

START, END = "<!-- paper:start -->", "<!-- paper:end -->"
# (title, paper, tables, metrics, settings that end with one of these ("" = any), columns by)
HEADLINES = (
    (
        "TN-BCL Tables I-IV: AUC, all anomaly types at 1:1",
        "peng2024",
        ("I", "II", "III", "IV"),
        ("auc",),
        ("",),
        "data",
    ),
    (
        "TN-BCL Table VI: train hours per epoch, test seconds per 1,000 pairs, accuracy",
        "peng2024",
        ("VI",),
        ("train_hours_per_epoch", "test_seconds_per_1000", "accuracy"),
        ("",),
        "metric",
    ),
    (
        "CAE Tables I, III and IV: ROC AUC, mean of the four one-class tasks",
        "laakom2023",
        ("I", "III", "IV"),
        ("auc",),
        ("average", "average of 4 classes"),
        "data",
    ),
)
FIGURES = (
    ("roc_*_all.png", "ROC curves (Fig. 5)"),
    ("types_*.png", "detection rate per anomaly type (Fig. 6)"),
    ("tables/*_timing.md", "timing table (ms per pair per epoch, memory)"),
)


TIME_METRICS = ("train_hours_per_epoch", "test_seconds_per_1000")


def _cell(row: pd.Series) -> str:
    """Measured mean ± half-width (n) · published: three decimals for scores, three significant
    digits for times."""
    if pd.isna(row.measured):
        return f"– · {row.published:g}"
    spec = ".3g" if row.metric in TIME_METRICS else ".3f"
    half = "–" if pd.isna(row.ci95) else format(row.ci95, spec)
    return f"{format(row.measured, spec)} ± {half} ({row.n}) · {row.published:g}"


def _column(row: pd.Series) -> str:
    """A dataset, or the published dataset and what stands in for it."""
    return row.dataset if not row.data or row.data == row.dataset else f"{row.dataset}: {row.data}"


def _why_not(reason: str) -> str:
    """Why a whole dataset has no figure: its reproduction is missing, or its cells are not in yet."""
    if "no sweep folder reproduces" in reason:
        return reason.removeprefix("not measured: ")
    return "its sweep folder has no finished cells for these figures yet"


def headline(
    frame: pd.DataFrame,
    paper: str,
    tables: tuple[str, ...],
    metrics: tuple[str, ...],
    endings: tuple[str, ...],
    by: str = "data",
) -> str:
    """One Markdown table: a row per measured form, a column per data (or per metric, `by`),
    measured · published; then a line naming what nothing was measured on, with why."""
    part = frame[(frame.paper == paper) & frame.table.isin(tables) & frame.metric.isin(metrics)]
    part = part[part.setting.str.endswith(endings)]
    part = part.assign(column=part.apply(_column, axis=1) if by == "data" else part.metric)
    measured_columns = set(part.loc[part.measured.notna(), "column"])
    missing = part[~part.column.isin(measured_columns)].drop_duplicates("column")
    part = part[part.column.isin(measured_columns) & (part.measured_as != "")]
    part = part.drop_duplicates(["measured_as", "column"])  # Table I's average is also Table III's 32 x 32
    lines = []
    if not part.empty:
        columns = list(dict.fromkeys(part.column))
        lines += [f"| method | {' | '.join(columns)} |", "| --- |" + " --- |" * len(columns)]
        for label, rows in part.groupby("measured_as", sort=False):
            by_column = {r.column: _cell(r) for _, r in rows.iterrows()}
            lines.append(f"| {label} | {' | '.join(by_column.get(c, '') for c in columns)} |")
    if not missing.empty:
        reasons = missing.assign(why=missing.reason.map(_why_not)).groupby("why", sort=False).column.agg(list)
        why = [f"{', '.join(columns)} ({reason})" for reason, columns in reasons.items()]
        lines += [""] * bool(lines) + ["Not measured: " + "; ".join(why) + "."]
    return "\n".join(lines)


def sweep_wall_s(folder: Path) -> tuple[float, int]:
    """A sweep folder's wall time over all its runs (each from its start in the manifest to the
    last cell it finished) and the number of runs; (nan, 0) without that record."""
    manifest, cells = folder / "manifest.json", folder / "cells.csv"
    if not manifest.is_file() or not cells.is_file():
        return float("nan"), 0
    starts = sorted(pd.Timestamp(r["started_at"]) for r in json.loads(manifest.read_text()).get("runs", []))
    finished = pd.to_datetime(pd.read_csv(cells, usecols=["finished_at"]).finished_at.dropna(), utc=True)
    if not starts or finished.empty:
        return float("nan"), 0
    total = 0.0
    for start, end in zip(starts, [*starts[1:], None]):
        part = finished[(finished >= start) & ((finished < end) if end is not None else True)]
        total += (part.max() - start).total_seconds() if not part.empty else 0.0
    return total, len(starts)


def _wall_lines(folders: list[Path]) -> list[str]:
    """The sweeps' wall times on this machine, one line each and the total."""
    walls = {f.name: sweep_wall_s(f) for f in folders}
    known = [w for w, _ in walls.values() if w == w]
    lines = [f"- `{name}`: {w / 60:.0f} min over {runs} run(s)" for name, (w, runs) in walls.items() if w == w]
    return [*lines, f"- all together: {sum(known) / 3600:.1f} h"] if known else []


def _wildcard(pattern: str, path: Path) -> str:
    """What the `*` of a one-star file pattern stands for in `path` (its dataset name)."""
    head, tail = Path(pattern).name.split("*")
    return path.name[len(head) : len(path.name) - len(tail)]


def _figure_links(folder: Path, link: Callable[[Path], str]) -> list[str]:
    """Links to a folder's figures and timing tables; a pattern that matches several files names
    the dataset in each label, so the links can be told apart."""
    links = []
    for pattern, label in FIGURES:
        paths = sorted(folder.glob(pattern))
        for path in paths:
            shown = f"{label}, {_wildcard(pattern, path)}" if len(paths) > 1 else label
            links.append(f"[{shown}]({link(path)})")
    return links


def _figure_lines(folders: list[Path], link: Callable[[Path], str]) -> list[str]:
    """One line per sweep folder linking its ROC and per-type figures and its timing tables."""
    lines = []
    for folder in folders:
        if links := _figure_links(folder, link):
            lines.append(f"- `{folder.name}`: " + ", ".join(links))
    return lines


def readme_block(
    frame: pd.DataFrame,
    comparisons: pd.DataFrame,
    folders: list[Path],
    claims: Path,
    link: Callable[[Path], str],
    revision: str,
) -> str:
    """The README's generated reproduction block (`folders`: sorted by name; `claims`: claims.md;
    `link`: a path as the README links it; `revision`: the comparing code's)."""
    claims_link = link(claims)
    names = ", ".join(f"`{f.name}`" for f in folders)
    block = [
        START,
        "",
        f"Generated by `mmadbench compare` at {revision} from {names}. Each cell: measured mean ± "
        "half-width of the 95 % t interval over seeds (n) · the published figure; – where nothing "
        "was measured.",
        "",
    ]
    for title, paper, tables, metrics, endings, by in HEADLINES:
        table = headline(frame, paper, tables, metrics, endings, by)
        if table:
            block += [f"**{title}**", "", table, ""]
    figures = _figure_lines(folders, link)
    if figures:
        block += ["**Figures and timing tables** (drawn by each sweep's report from its database)", "", *figures, ""]
    if not comparisons.empty:
        summary = summarise(comparisons)
        block += [f"**The papers' claims** (details: [{claims_link}]({claims_link}))", ""]
        block += ["| paper | claim | data | form | verdict |", "| --- | --- | --- | --- | --- |"]
        block += [f"| {r.paper} | {r.claim} | {r.data} | {r.form} | {r.verdict} |" for r in summary.itertuples()]
        block.append("")
    walls = _wall_lines(folders)
    if walls:
        block += ["**Wall time of the sweeps** (each run from its start to its last cell, summed over runs)", ""]
        block += [*walls, ""]
    block.append(END)
    return "\n".join(block)


def write_reproduction(
    folders: list[Path], out: Path, reasons_path: Path | None = None, readme: Path | None = None
) -> list[Path]:
    """compare.md/.csv, claims.md/.csv and a manifest under `out`; the README block if asked.
    Returns the Markdown files written."""
    folders, out = sorted((Path(f) for f in folders), key=lambda f: f.name), Path(out).resolve()
    measured = [load_measured(f) for f in folders]  # read once for the comparison and the claims
    revision = git_revision()
    frame = compare(measured, load_reasons(reasons_path))
    claims = load_claims()
    comparisons = evaluate_claims(measured, claims)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "compare.csv", index=False, float_format="%.6g")
    comparisons.to_csv(out / "claims.csv", index=False, float_format="%.6g")
    (out / "compare.md").write_text(compare_markdown(frame))
    (out / "claims.md").write_text(claims_markdown(comparisons, claims))
    write_manifest(
        out,
        {
            "benchmark": "compare",
            "git_revisions": [revision],  # the code that compared; each folder's manifest has its cells'
            "folders": [f.name for f in folders],
            "reasons": str(reasons_path) if reasons_path else None,
        },
    )
    written = [out / "compare.md", out / "claims.md"]
    if readme is not None:
        base = readme.resolve().parent

        def link(path: Path) -> str:
            return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()

        if replace_block(
            readme, START, END, readme_block(frame, comparisons, folders, out / "claims.md", link, revision)
        ):
            written.append(readme)
    logger.info("compare: %d published figures, %s", len(frame), frame.verdict.value_counts().to_dict())
    return written
