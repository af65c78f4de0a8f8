"""Do the seed papers' claims hold on the measured cells? (`mmadbench compare` writes claims.md through reproduction.py.)

A claim (`claims.toml`, shipped with the package) says which published methods beat which, in
which tables, settings and metrics. Each reproduction of one of those tables (a sweep folder's
`[[reproduces]]`, so one per dataset or stand-in) tests it on its own rows: for every form of a
winning method (each display name it maps to) against every rival it measured, the difference
per seed (the seeds share split and injection, so the comparison is paired) and the 95 % t
interval of that difference over seeds.

A comparison "holds" when the interval lies above zero, is "reversed" when it lies below, and
is "inside the interval" otherwise: with three seeds a difference that small is not a finding
either way. A form's verdict on one dataset: the claim reproduces when every measured comparison
holds, does not reproduce when any is reversed, and is not shown otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.errors import DataError

from . import stats
from .compare import Measured, load_measured, seed_values
from .config import Reproduction, load_toml
from .published import load_published

logger = logging.getLogger(__name__)

SIDE_SEPARATOR = " @ "
HOLDS, REVERSED, INSIDE = "holds", "reversed", "inside the interval"


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: each of `better` beats each of `than` in every setting and metric."""

    paper: str
    claim: str
    where: str
    tables: tuple[str, ...]
    metrics: tuple[str, ...]
    settings: tuple[str, ...]
    better: tuple[str, ...]
    than: tuple[str, ...]


def _claim(index: int, table: dict) -> Claim:
    lists = ("tables", "metrics", "settings", "better", "than")
    missing = [k for k in ("paper", "claim", "where", *lists) if not table.get(k)]
    if missing:
        raise DataError(f"claims.toml: claim[{index}] needs {', '.join(missing)}")
    return Claim(
        paper=table["paper"],
        claim=table["claim"],
        where=table["where"],
        **{k: tuple(str(v) for v in table[k]) for k in lists},
    )


def load_claims(path: Path | None = None) -> list[Claim]:
    """The papers' claims (`path`: another claims file in the same form, for tests)."""
    if path is None:
        text = resources.files("mmadbench.benchmark").joinpath("claims.toml").read_text()
    else:
        text = Path(path).read_text()
    parsed = load_toml(text, "claims file")
    return [_claim(i, table) for i, table in enumerate(parsed.get("claim", []))]


def _side(side: str, setting: str) -> tuple[str, str]:
    """A side's published method and the setting its figure comes from."""
    method, _, own = side.partition(SIDE_SEPARATOR)
    return method.strip(), (own.strip() or setting)


def _verdict(interval: stats.Interval) -> str:
    if interval.n < 2:
        return "one seed: no interval"
    if interval.low > 0:
        return HOLDS
    return REVERSED if interval.high < 0 else INSIDE


def _rivals(claim: Claim, rep: Reproduction, published: pd.DataFrame) -> list[str]:
    """The claim's rivals that the paper itself compared in the reproduced tables on that dataset
    (Table IV, for one, has no MUVAD or MODDIS): the claim is tested as the paper made it."""
    tables = set(claim.tables) & set(rep.tables)
    shown = published[
        (published.paper == claim.paper) & published.table.isin(tables) & (published.dataset == rep.dataset)
    ]
    return [rival for rival in claim.than if _side(rival, "")[0] in set(shown.method)]


def _compare(
    measured: Measured, rep: Reproduction, claim: Claim, setting: str, metric: str, rivals: list[str]
) -> list[dict]:
    """Every form of every winning method against every rival, at one setting and metric."""
    rows = []
    for better in claim.better:
        method, own = _side(better, setting)
        for name in rep.display_names(method, own):
            mine = seed_values(measured, rep, claim.paper, method, own, metric, name)
            for rival in rivals:
                rival_method, rival_setting = _side(rival, setting)
                for rival_name in rep.display_names(rival_method, rival_setting):
                    if rival_name == name:  # a setting with no row of its own falls back to the plain one
                        continue
                    theirs = seed_values(measured, rep, claim.paper, rival_method, rival_setting, metric, rival_name)
                    rows.append(_row(claim, rep, setting, metric, name, rival_name, mine.values, theirs.values))
    return rows


def _row(claim, rep, setting, metric, name, rival, mine, theirs) -> dict:
    row = {
        "paper": claim.paper,
        "claim": claim.claim,
        "data": rep.stand_in or rep.dataset,
        "form": name,
        "rival": rival,
        "setting": setting,
        "metric": metric,
        "difference": np.nan,
        "ci95": np.nan,
        "n": 0,
        "verdict": "not measured",
    }
    if mine is None or theirs is None:
        return row
    seeds = mine.index.intersection(theirs.index)
    interval = stats.t_interval((mine[seeds] - theirs[seeds]).to_numpy(float))
    row.update(difference=interval.mean, ci95=interval.half_width, n=interval.n, verdict=_verdict(interval))
    return row


def evaluate_claims(folders: list[Path], claims: list[Claim] | None = None) -> pd.DataFrame:
    """One row per comparison a claim makes on each reproduction that covers its tables."""
    rows, published = [], load_published()
    for folder in folders:
        measured = load_measured(Path(folder))
        for rep in measured.reproductions:
            for claim in claims if claims is not None else load_claims():
                if rep.paper != claim.paper or not set(rep.tables) & set(claim.tables):
                    continue
                rivals = _rivals(claim, rep, published)
                for setting in claim.settings:
                    for metric in claim.metrics:
                        rows += _compare(measured, rep, claim, setting, metric, rivals)
    return pd.DataFrame(rows)


def summarise(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Each claim's verdict per data and winning form, with the counts behind it."""
    rows = []
    for (paper, claim, data, form), part in comparisons.groupby(["paper", "claim", "data", "form"], sort=False):
        counts = part.verdict.value_counts()
        held, reversed_, measured = counts.get(HOLDS, 0), counts.get(REVERSED, 0), part.n.ge(2).sum()
        detail = ""
        if measured == 0:
            outcome = "not measured"
        elif reversed_:
            worst = part[part.verdict == REVERSED].sort_values("difference").iloc[0]
            outcome, detail = "does not reproduce", f"furthest below {worst.rival} at {worst.setting}, {worst.metric}"
        elif held == measured:
            outcome = "reproduces"
        else:
            outcome, detail = "not shown", "a difference inside its interval"
        rows.append(
            {
                "paper": paper,
                "claim": claim,
                "data": data,
                "form": form,
                "outcome": outcome,
                "verdict": f"{outcome} ({detail})" if detail else outcome,
                "holds": int(held),
                "inside": int(counts.get(INSIDE, 0)),
                "reversed": int(reversed_),
                "not_measured": int(len(part) - measured),
            }
        )
    return pd.DataFrame(rows)


def _signed(value: float, half: float) -> str:
    if pd.isna(value):
        return "–"
    return f"{value:+.4f} ± {half:.4f}" if pd.notna(half) else f"{value:+.4f}"


def to_markdown(comparisons: pd.DataFrame, claims: list[Claim]) -> str:
    """The verdicts first, then every comparison behind them."""
    lines = ["# The papers' claims, tested on the measured cells", ""]
    lines += [
        "Each row pits one form of the winning method against one rival on one dataset, at one "
        "setting and metric: the mean difference over seeds (paired: a seed fixes split and "
        "injection) ± the half-width of its 95 % t interval. *holds*: the interval lies above zero; "
        "*reversed*: below zero; *inside the interval*: not a finding either way.",
        "",
    ]
    if comparisons.empty:
        return "\n".join([*lines, "No sweep folder reproduces a table that a claim rests on.", ""])
    summary = summarise(comparisons)
    where = {(c.paper, c.claim): c.where for c in claims}
    lines += ["## Verdicts", ""]
    for (paper, claim), part in summary.groupby(["paper", "claim"], sort=False):
        lines += [f"### {paper}: {claim}", "", f"{where.get((paper, claim), '')}", ""]
        lines += [
            "| data | form | verdict | holds | inside | reversed | not measured |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r.data} | {r.form} | {r.verdict} | {r.holds} | {r.inside} | {r.reversed} | {r.not_measured} |"
            for r in part.itertuples()
        ]
        lines.append("")
    lines += ["## Comparisons", ""]
    for (paper, claim), part in comparisons.groupby(["paper", "claim"], sort=False):
        lines += [f"### {paper}: {claim}", ""]
        lines += [
            "| data | form | rival | setting | metric | difference (n) | verdict |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r.data} | {r.form} | {r.rival} | {r.setting} | {r.metric} | {_signed(r.difference, r.ci95)} ({r.n}) "
            f"| {r.verdict} |"
            for r in part.itertuples()
        ]
        lines.append("")
    return "\n".join(lines)
