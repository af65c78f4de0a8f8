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
from pathlib import Path

import pandas as pd

from .claims import evaluate_claims, load_claims, summarise
from .claims import to_markdown as claims_markdown
from .compare import compare
from .compare import to_markdown as compare_markdown
from .deviations import load_reasons
from .provenance import git_revision, write_manifest

logger = logging.getLogger(__name__)

START, END = "<!-- paper:start -->", "<!-- paper:end -->"
# (title, paper, tables, metric, settings that end with one of these; "" = any)
HEADLINES = (
    ("TN-BCL Tables I-IV: AUC, all anomaly types at 1:1", "peng2024", ("I", "II", "III", "IV"), "auc", ("",)),
    (
        "CAE Tables I, III and IV: ROC AUC, mean of the four one-class tasks",
        "laakom2023",
        ("I", "III", "IV"),
        "auc",
        ("average", "average of 4 classes"),
    ),
)


def _cell(row: pd.Series) -> str:
    if pd.isna(row.measured):
        return f"– · {row.published:g}"
    half = "–" if pd.isna(row.ci95) else f"{row.ci95:.3f}"
    return f"{row.measured:.3f} ± {half} ({row.n}) · {row.published:g}"


def _column(row: pd.Series) -> str:
    """A dataset, or the published dataset and what stands in for it."""
    return row.dataset if not row.data or row.data == row.dataset else f"{row.dataset}: {row.data}"


def _why_not(reason: str) -> str:
    """Why a whole dataset has no figure: its reproduction is missing, or its cells are not in yet."""
    if "no sweep folder reproduces" in reason:
        return reason.removeprefix("not measured: ")
    return "its sweep folder has no finished cells for these figures yet"


def headline(frame: pd.DataFrame, paper: str, tables: tuple[str, ...], metric: str, endings: tuple[str, ...]) -> str:
    """One Markdown table: a row per measured form, a column per data, measured · published; then
    a line naming the datasets nothing was measured on, with why."""
    part = frame[(frame.paper == paper) & frame.table.isin(tables) & (frame.metric == metric)]
    part = part[part.setting.str.endswith(endings)]
    part = part.assign(column=part.apply(_column, axis=1))
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
        why = [f"{r.column} ({_why_not(r.reason)})" for r in missing.itertuples()]
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


def readme_block(frame: pd.DataFrame, comparisons: pd.DataFrame, folders: list[Path], claims_link: str) -> str:
    """The README's generated reproduction block (`claims_link`: claims.md relative to the README)."""
    names = ", ".join(f"`{Path(f).name}`" for f in sorted(folders, key=lambda f: Path(f).name))
    block = [
        START,
        "",
        f"Generated by `mmadbench compare` at {git_revision()} from {names}. Each cell: measured mean ± "
        "half-width of the 95 % t interval over seeds (n) · the published figure; – where nothing "
        "was measured.",
        "",
    ]
    for title, paper, tables, metric, endings in HEADLINES:
        table = headline(frame, paper, tables, metric, endings)
        if table:
            block += [f"**{title}**", "", table, ""]
    if not comparisons.empty:
        summary = summarise(comparisons)
        block += [f"**The papers' claims** (details: [{claims_link}]({claims_link}))", ""]
        block += ["| paper | claim | data | form | verdict |", "| --- | --- | --- | --- | --- |"]
        block += [f"| {r.paper} | {r.claim} | {r.data} | {r.form} | {r.verdict} |" for r in summary.itertuples()]
        block.append("")
    walls = _wall_lines(sorted(folders, key=lambda f: Path(f).name))
    if walls:
        block += ["**Wall time of the sweeps** (each run from its start to its last cell, summed over runs)", ""]
        block += [*walls, ""]
    block.append(END)
    return "\n".join(block)


def update_readme(readme: Path, block: str) -> bool:
    """Replace the README's reproduction block; False (and a warning) when it has no markers."""
    text = readme.read_text()
    start = text.find(START)
    end = text.find(END, start + len(START)) if start >= 0 else -1
    if start < 0 or end < 0:
        logger.warning("%s has no %s ... %s markers in that order; left unchanged", readme, START, END)
        return False
    readme.write_text(text[:start] + block + text[end + len(END) :])
    return True


def write_reproduction(
    folders: list[Path], out: Path, reasons_path: Path | None = None, readme: Path | None = None
) -> list[Path]:
    """compare.md/.csv, claims.md/.csv and a manifest under `out`; the README block if asked.
    Returns the Markdown files written."""
    folders, out = [Path(f) for f in folders], Path(out).resolve()
    frame = compare(folders, load_reasons(reasons_path))
    claims = load_claims()
    comparisons = evaluate_claims(folders, claims)
    out.mkdir(parents=True, exist_ok=True)
    frame.to_csv(out / "compare.csv", index=False, float_format="%.6g")
    comparisons.to_csv(out / "claims.csv", index=False, float_format="%.6g")
    (out / "compare.md").write_text(compare_markdown(frame))
    (out / "claims.md").write_text(claims_markdown(comparisons, claims))
    write_manifest(
        out,
        {
            "benchmark": "compare",
            "git_revisions": [git_revision()],  # the code that compared; each folder's manifest has its cells'
            "folders": sorted(f.name for f in folders),
            "reasons": str(reasons_path) if reasons_path else None,
        },
    )
    written = [out / "compare.md", out / "claims.md"]
    link = Path(os.path.relpath(out / "claims.md", readme.resolve().parent if readme else Path.cwd())).as_posix()
    if readme is not None and update_readme(readme, readme_block(frame, comparisons, folders, link)):
        written.append(readme)
    logger.info("compare: %d published figures, %s", len(frame), frame.verdict.value_counts().to_dict())
    return written
