"""The transcribed published figures match the papers' own tables, row by row.

The papers' text is in ../shared/papers (the development machines and CI have it); on a
machine without it the cross-check is skipped and the file's shape is still checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mmadbench.benchmark.reproduction.published import PAPERS, load_published

PAPERS_DIR = Path(__file__).resolve().parent.parent.parent / "shared" / "papers"
FILES = {"peng2024": "tnbcl-peng2024.md", "laakom2023": "cae-occ-laakom2023.md"}


def test_shape_and_counts():
    df = load_published()
    assert set(df.paper) == set(PAPERS)
    counts = df.groupby(["paper", "table"]).size().to_dict()
    # Tables I-IV: methods x 4 metrics (III lacks MUVAD; IV lacks MUVAD and MODDIS); V: rows x 9 ratios
    assert counts[("peng2024", "I")] == 28 and counts[("peng2024", "III")] == 24 and counts[("peng2024", "IV")] == 20
    assert counts[("peng2024", "V")] == (7 + 7 + 6 + 5) * 9 and counts[("peng2024", "VI")] == 18
    assert counts[("laakom2023", "I")] == 5 * 9 and counts[("laakom2023", "III")] == 9
    assert not df.duplicated(["paper", "table", "dataset", "method", "setting", "metric"]).any()
    assert df.value.between(0, 10).all()


def _section(text: str, table: str) -> str:
    """The lines of one table: from its 'TABLE <n>' heading to the next heading or figure."""
    start = re.search(rf"^TABLE {table}\b.*$", text, re.M)
    assert start, table
    rest = text[start.end() :]
    end = re.search(r"^(TABLE [IVX]+\b|Fig\. \d)", rest, re.M)
    return rest[: end.start() if end else len(rest)]


def _row_key(row) -> tuple:
    """The rows of the paper's table: one per method, except the CAE per-class table (a row per class)."""
    if row.paper == "laakom2023" and row.table in ("I", "III"):
        return (row.paper, row.table, row.setting)
    return (row.paper, row.table, row.dataset, row.method)


@pytest.mark.skipif(not PAPERS_DIR.is_dir(), reason=f"the papers' text is not at {PAPERS_DIR}")
def test_every_row_appears_in_the_paper_table():
    df = load_published().assign(text=load_published_text())
    texts = {paper: (PAPERS_DIR / name).read_text() for paper, name in FILES.items()}
    rows: dict[tuple, list[str]] = {}
    for row in df.itertuples():
        rows.setdefault(_row_key(row), []).append(row.text)
    for key, values in rows.items():
        section = re.sub(r"[ \t]+", "\t", re.sub(r"</?b>", "", _section(texts[key[0]], key[1])))
        sequence = "\t".join(values)
        assert re.search(rf"(^|\t){re.escape(sequence)}(\t|$)", section, re.M), (key, sequence)


def load_published_text():
    """The values as written in the file (so 0.49 stays '0.49', as the paper prints it)."""
    import csv
    from importlib import resources

    with resources.files("mmadbench.benchmark.reproduction").joinpath("published.csv").open() as f:
        return [row["value"] for row in csv.DictReader(f)]
