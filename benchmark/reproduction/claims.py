"""Do the seed papers' claims hold on the measured cells? (claims.md, via reproduction.py.)

A claim (`claims.toml`, shipped with the package) says which published methods beat which, in
which tables, datasets, settings and metrics; each is transcribed so that it holds on the
paper's own figures (a test checks this). Each reproduction of one of those tables (a sweep
folder's `[[reproduces]]`, so one per dataset or stand-in) tests it on its own rows: every form
of a winning method (each display name it maps to) against every rival the paper compared in
that table, by the difference per seed (a seed fixes split and injection, so the comparison is
paired) and the 95 % t interval of that difference over the seeds both sides measured.

A comparison "holds" when the interval lies above zero, is "reversed" when it lies below, and
is "inside the interval" otherwise: with three seeds a difference that small is not a finding
either way. A rival the sweep has no row for is a comparison "not measured", never dropped. A
form's outcome on one dataset: the claim reproduces when every comparison holds, reproduces
where measured when the others have no interval, does not reproduce when any is reversed, and
is not shown otherwise.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.measure.config import Reproduction, load_toml
from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reproduction.compare import (
    NOT_MEASURED,
    ONE_SEED,
    Measured,
    SeedValues,
    as_measured,
    seed_values,
)
from mmadbench.benchmark.reproduction.published import load_published
from mmadbench.errors import DataError

logger = logging.getLogger(__name__)

SIDE_SEPARATOR = " @ "
HOLDS, REVERSED, INSIDE = "holds", "reversed", "inside the interval"


@dataclass(frozen=True)
class Claim:
    """One claim of a paper: each of `better` beats each of `than` in every setting and metric of
    `tables`, on the published `datasets` (empty: every dataset of those tables)."""

    paper: str
    claim: str
    where: str
    tables: tuple[str, ...]
    metrics: tuple[str, ...]
    settings: tuple[str, ...]
    better: tuple[str, ...]
    than: tuple[str, ...]
    datasets: tuple[str, ...] = ()


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
        datasets=tuple(str(v) for v in table.get("datasets", ())),
    )


def load_claims(path: Path | None = None) -> list[Claim]:
    """The papers' claims (`path`: another claims file in the same form, for tests)."""
    if path is None:
        text = resources.files("mmadbench.benchmark.reproduction").joinpath("claims.toml").read_text()
    else:
        text = Path(path).read_text()
    parsed = load_toml(text, "claims file")
    return [_claim(i, table) for i, table in enumerate(parsed.get("claim", []))]


def side(text: str, setting: str) -> tuple[str, str]:
    """A claim side's published method and the setting its figure comes from."""
    method, _, own = text.partition(SIDE_SEPARATOR)
    return method.strip(), (own.strip() or setting)


def _verdict(interval: stats.Interval) -> str:
    """Where the paired difference's interval lies with respect to zero."""
    if interval.n == 0:
        return NOT_MEASURED
    if interval.n < 2:
        return ONE_SEED
    if interval.low > 0:
        return HOLDS
    return REVERSED if interval.high < 0 else INSIDE


def _applies(claim: Claim, rep: Reproduction) -> bool:
    """Whether a reproduction covers one of the claim's tables on one of its datasets."""
    return (
        rep.paper == claim.paper
        and bool(set(rep.tables) & set(claim.tables))
        and (not claim.datasets or rep.dataset in claim.datasets)
    )


def _rivals(claim: Claim, rep: Reproduction, published: pd.DataFrame) -> list[str]:
    """The claim's rivals that the paper itself compared in the reproduced tables on that dataset
    (Table IV, for one, has no MUVAD or MODDIS): the claim is tested as the paper made it."""
    tables = set(claim.tables) & set(rep.tables)
    shown = published[
        (published.paper == claim.paper) & published.table.isin(tables) & (published.dataset == rep.dataset)
    ]
    return [rival for rival in claim.than if side(rival, "")[0] in set(shown.method)]


@dataclass(frozen=True)
class Contest:
    """One comparison a claim makes on one reproduction: where, at which setting and metric."""

    measured: Measured
    rep: Reproduction
    claim: Claim
    setting: str
    metric: str

    def forms(self, text: str, exclude: str | None = None) -> list[tuple[str, SeedValues | None]]:
        """The sweep's rows for one claim side, each with its per-seed values; a side the sweep
        has no row for (or only `exclude`'s, the other side's) is one unmeasured entry named as
        published, so a missing rival counts against "every baseline" instead of vanishing."""
        method, setting = side(text, self.setting)
        names = [n for n in self.rep.display_names(method, setting) if n != exclude]
        if not names:
            return [(text, None)]
        paper = self.claim.paper
        return [(n, seed_values(self.measured, self.rep, paper, method, setting, self.metric, n)) for n in names]

    def row(self, form: str, mine: SeedValues | None, rival: str, theirs: SeedValues | None) -> dict:
        """The paired difference over the seeds both sides measured."""
        out = {
            "paper": self.claim.paper,
            "claim": self.claim.claim,
            "data": self.rep.stand_in or self.rep.dataset,
            "form": form,
            "rival": rival,
            "setting": self.setting,
            "metric": self.metric,
            "difference": np.nan,
            "ci95": np.nan,
            "n": 0,
            "verdict": NOT_MEASURED,
        }
        if mine is None or theirs is None or mine.per_seed is None or theirs.per_seed is None:
            return out
        seeds = mine.per_seed.index.intersection(theirs.per_seed.index)
        interval = stats.t_interval((mine.per_seed[seeds] - theirs.per_seed[seeds]).to_numpy(float))
        out.update(difference=interval.mean, ci95=interval.half_width, n=interval.n, verdict=_verdict(interval))
        return out

    def rows(self, rivals: list[str]) -> list[dict]:
        """Every form of every winning method against every rival."""
        return [
            self.row(form, mine, rival_form, theirs)
            for better in self.claim.better
            for form, mine in self.forms(better)
            for rival in rivals
            for rival_form, theirs in self.forms(rival, exclude=form)
        ]


def evaluate_claims(folders: list[Path | Measured], claims: list[Claim] | None = None) -> pd.DataFrame:
    """One row per comparison a claim makes on each reproduction that covers its tables."""
    claims = load_claims() if claims is None else claims
    rows, published = [], load_published()
    for folder in folders:
        measured = as_measured(folder)
        for rep, claim in ((r, c) for r in measured.reproductions for c in claims if _applies(c, r)):
            rivals = _rivals(claim, rep, published)
            for setting, metric in ((s, m) for s in claim.settings for m in claim.metrics):
                rows += Contest(measured, rep, claim, setting, metric).rows(rivals)
    return pd.DataFrame(rows)


def _outcome(part: pd.DataFrame) -> tuple[str, str]:
    """A form's outcome on one dataset from its comparisons, and the detail that decides it."""
    counts = part.verdict.value_counts()
    held, reversed_, with_interval = counts.get(HOLDS, 0), counts.get(REVERSED, 0), int(part.n.ge(2).sum())
    if with_interval == 0:
        return (ONE_SEED, "") if part.n.ge(1).any() else (NOT_MEASURED, "")
    if reversed_:
        first = part[part.verdict == REVERSED].iloc[0]
        more = f" and {reversed_ - 1} more" if reversed_ > 1 else ""
        return "does not reproduce", f"below {first.rival} at {first.setting}, {first.metric}{more}"
    if held == len(part):
        return "reproduces", ""
    if held == with_interval:
        return "reproduces where measured", f"{len(part) - with_interval} of {len(part)} comparisons have no interval"
    return "not shown", f"{with_interval - held} of {with_interval} differences inside their interval"


def summarise(comparisons: pd.DataFrame) -> pd.DataFrame:
    """Each claim's verdict per data and winning form, with the counts behind it."""
    rows = []
    for (paper, claim, data, form), part in comparisons.groupby(["paper", "claim", "data", "form"], sort=False):
        outcome, detail = _outcome(part)
        counts = part.verdict.value_counts()
        rows.append(
            {
                "paper": paper,
                "claim": claim,
                "data": data,
                "form": form,
                "outcome": outcome,
                "verdict": f"{outcome} ({detail})" if detail else outcome,
                "holds": int(counts.get(HOLDS, 0)),
                "inside": int(counts.get(INSIDE, 0)),
                "reversed": int(counts.get(REVERSED, 0)),
                "no_interval": int(part.n.lt(2).sum()),
            }
        )
    return pd.DataFrame(rows)


def _signed(value: float, half: float) -> str:
    """A signed difference ± its half-width ('–' when nothing was measured)."""
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
            "| data | form | verdict | holds | inside | reversed | no interval |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        lines += [
            f"| {r.data} | {r.form} | {r.verdict} | {r.holds} | {r.inside} | {r.reversed} | {r.no_interval} |"
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
