"""One leaderboard over any set of sweep folders, built from their stored cells alone (cells.csv).

An entry is a detector's display name plus the parameters it ran with: two forms of one method
are two entries. A setting is one dataset x anomaly type x ratio (or one normal class); its
score is the mean AUC over seeds. The unit of every headline test is the **dataset** (its source
data: digits and digits-halves are one), since the settings of one dataset are not independent:

1. A setting is *saturated* when its median entry is within the ROPE of its best: it is listed
   apart and left out of the ranks. A *hard* setting has a best AUC below HARD_AUC.
2. Entries with a result on fewer than `min_datasets` datasets (default: all of them) are listed
   apart. The others are compared on the unsaturated settings that every one of them ran; a
   setting some of them could not run (a pair method on three views) is listed apart with the
   entries lacking it, never imputed. Per dataset, an entry's score is its mean AUC over those
   settings.
3. Ranks within a dataset treat differences inside the ROPE as ties (`stats.rope_ranks`), then
   average over datasets. Tests: pairwise Wilcoxon signed-rank with Holm over datasets (the
   critical-difference diagram's cliques; Nemenyi as an option), the Bayesian signed-rank test
   with the ROPE against the leader, and a multi-comparison matrix (mean difference, win/tie/loss
   with the ROPE, Wilcoxon p) whose cells compare two entries alone: another entry changes them
   only by changing which settings are compared or saturated.
4. Settings left out because some ranked entry could not run them are ranked apart, per dataset
   and protocol, among the entries that ran all of them (`side_*`).

The same ranks over single settings (the per-setting view, whose units are correlated), on
AUPRC, and over the hard settings alone are reported beside the headline.
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.execution.freshness import OLD_COLUMNS
from mmadbench.benchmark.execution.provenance import write_manifest
from mmadbench.benchmark.measure.identity import git_revision
from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reporting.figures import cd_diagram, pyplot, save
from mmadbench.benchmark.reporting.readme_blocks import marked_block, readme_link, replace_block
from mmadbench.benchmark.reporting.report import DATASET_WORDS, FORMATS, write_table
from mmadbench.benchmark.reporting.table import Table

logger = logging.getLogger(__name__)

ROPE = 0.01
ALPHA = 0.05
HARD_AUC = 0.95
CHANCE_AUC = 0.55  # a dataset score below this is flagged: at chance, or worse
SOURCES = {"digits-halves": "digits", "cifar10-folder": "cifar10"}  # views of one data source
CD_TESTS = ("wilcoxon", "nemenyi")
README_START, README_END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


@dataclass(frozen=True)
class LeaderboardConfig:
    """How entries are compared: the ROPE on AUC, the fewest datasets an entry needs to be
    ranked (None: every dataset of the input), the test behind the CD diagram, the Bayesian
    test's Monte Carlo draws and seed."""

    rope: float = ROPE
    min_datasets: int | None = None
    cd_test: str = "wilcoxon"
    alpha: float = ALPHA
    samples: int = 50_000
    seed: int = 0

    def __post_init__(self) -> None:
        from mmadbench.errors import MmadbenchError

        if not 0 <= self.rope < 0.5:
            raise MmadbenchError(f"--rope must lie in [0, 0.5), got {self.rope}")
        if self.cd_test not in CD_TESTS:
            raise MmadbenchError(f"--cd must be one of {list(CD_TESTS)}, got {self.cd_test!r}")
        if self.min_datasets is not None and self.min_datasets < 2:
            raise MmadbenchError(f"--min-datasets must be at least 2, got {self.min_datasets}")


# ---- cells -> settings -> datasets -----------------------------------------------------------


def load_cells(folders: list[Path]) -> pd.DataFrame:
    """Finished cells of every folder (ablation cells aside), with entry, setting and source;
    a cell stored in two folders counts once."""
    frames = []
    for folder in folders:
        path = Path(folder) / "cells.csv"
        if not path.is_file():
            logger.warning("%s has no cells.csv: left out of the leaderboard", folder)
            continue
        frame = pd.read_csv(path, low_memory=False).rename(columns=OLD_COLUMNS)
        missing = sorted({"display_name", "anomaly_type", "auc", "auprc", "seed"} - set(frame.columns))
        if missing:
            from mmadbench.errors import MmadbenchError

            raise MmadbenchError(f"{path} has no column(s) {missing}: not a sweep folder's cells.csv")
        frames.append(frame.assign(folder=Path(folder).name))
    if not frames:
        from mmadbench.errors import MmadbenchError

        raise MmadbenchError("no cells.csv in the given folders; give sweep folders such as results/default")
    df = pd.concat(frames, ignore_index=True).drop_duplicates("cell_id")
    keep = df.status.eq("ok") & df.auc.notna()
    if "dropped_modality" in df:
        keep &= df.dropped_modality.isna()
    df = df[keep].copy()
    df["entry"] = entry_labels(df)
    df["setting"] = setting_names(df)
    df["source"] = df.dataset.map(source_of)
    return _one_cell_each(df)


def _one_cell_each(df: pd.DataFrame) -> pd.DataFrame:
    """One cell per (setting, entry, seed): two folders measuring the same thing (under other ids,
    e.g. the default and robustness sweeps) count once, the first folder's; a warning names any
    whose AUCs differ."""
    key = ["setting", "entry", "seed"]
    spread = df.groupby(key).auc.agg(lambda a: a.max() - a.min())
    differing = spread[spread > 1e-12]
    if len(differing):
        logger.warning(
            "%d (setting, entry, seed) measured twice with different AUCs; the first folder's is kept", len(differing)
        )
    return df.drop_duplicates(key, keep="first")


def _params_key(params: object) -> str:
    try:
        return json.dumps(json.loads(params), sort_keys=True) if isinstance(params, str) else "{}"
    except ValueError:
        return str(params)


def entry_labels(df: pd.DataFrame) -> pd.Series:
    """Each row's entry: its display name (dagger dropped), and, where one name ran with several
    parameter sets, the parameters that tell them apart."""
    name = df.display_name.astype(str).str.replace(" †", "", regex=False)
    params = df.params.map(_params_key) if "params" in df else pd.Series("{}", index=df.index)
    labels = name.copy()
    for base, group in params.groupby(name):
        forms = sorted(set(group))
        if len(forms) < 2:
            continue
        decoded = [json.loads(f) for f in forms]
        differing = sorted({k for d in decoded for k in d if len({json.dumps(x.get(k)) for x in decoded}) > 1})
        for form, values in zip(forms, decoded):
            shown = ", ".join(f"{k}={values.get(k)}" for k in differing)
            labels[(name == base) & (params == form)] = f"{base} [{shown}]"
    return labels


def setting_names(df: pd.DataFrame) -> pd.Series:
    """ "dataset · anomaly type · ratio", or "dataset · class c" under the one-class protocol."""
    one_class = df.protocol.eq("one_class") if "protocol" in df else pd.Series(False, index=df.index)
    injected = df.dataset.astype(str) + " · " + df.anomaly_type.astype(str) + " · " + df.ratio.astype(str)
    classes = df.dataset.astype(str) + " · class " + df.normal_class.astype("Int64").astype(str)
    return injected.where(~one_class, classes)


def source_of(dataset: str) -> str:
    """The data a dataset label stands for: its loader name without options and setting."""
    base = str(dataset).split(" [")[0].split("(")[0]
    return SOURCES.get(base, base)


def per_setting(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Settings x entries: the metric's mean over seeds; NaN where an entry has fewer seeds than
    the setting's fullest entry (a cell failed on some seed), so a mean never pools fewer seeds."""
    grouped = df.groupby(["setting", "entry"])
    seeds = grouped.seed.nunique().unstack()
    full = seeds.eq(seeds.max(axis=1), axis=0)
    return grouped[metric].mean().unstack().where(full)


def saturation(auc: pd.DataFrame, rope: float) -> pd.Series:
    """Per setting: the median entry is within `rope` of the best (the setting cannot rank)."""
    return (auc.max(axis=1) - auc.median(axis=1)) <= rope + 1e-12


def dataset_scores(scores: pd.DataFrame, sources: pd.Series) -> pd.DataFrame:
    """Datasets x entries: the mean over each dataset's settings, NaN for an entry lacking any."""
    rows = {}
    for source, settings in sources.groupby(sources):
        part = scores.loc[settings.index]
        rows[source] = part.mean().where(part.notna().all())
    return pd.DataFrame(rows).T


# ---- the analysis ----------------------------------------------------------------------------


@dataclass
class Ranking:
    """Entries ranked over units (datasets or settings): ranks, tests and the values behind them."""

    unit: str  # "dataset" or "setting"
    values: pd.DataFrame  # units x ranked entries
    average_ranks: pd.Series
    p_holm: pd.DataFrame  # pairwise Wilcoxon, Holm over every pair
    cliques: list[list[str]]
    friedman: stats.Friedman | None
    nemenyi: float | None

    @property
    def leader(self) -> str:
        return str(self.average_ranks.index[0])


def rank_units(values: pd.DataFrame, unit: str, config: LeaderboardConfig) -> Ranking | None:
    """Rank the entries (columns) over the units (rows) with ROPE ties, and test them."""
    values = values.dropna()  # a unit missing an entry's score cannot rank it
    if values.shape[0] < 2 or values.shape[1] < 2:
        return None
    ranks, means = stats.rope_ranks(values, config.rope).mean(), values.mean()
    order = sorted(values.columns, key=lambda e: (round(ranks[e], 9), -means[e], str(e)))  # ties: higher AUC
    average = ranks[order]
    p = stats.pairwise_wilcoxon_holm(values[average.index])
    k, n = values.shape[1], values.shape[0]
    nemenyi = stats.nemenyi_cd(k, n, config.alpha)
    cliques = (
        stats.significance_cliques(average, p, config.alpha)
        if config.cd_test == "wilcoxon"
        else stats.cliques(average, nemenyi)
    )
    return Ranking(unit, values[average.index], average, p, cliques, stats.friedman(average, n), nemenyi)


@dataclass
class Leaderboard:
    """Everything the leaderboard's tables and figures show."""

    config: LeaderboardConfig
    cells: pd.DataFrame
    auc: pd.DataFrame  # settings x entries
    auprc: pd.DataFrame
    sources: pd.Series  # setting -> dataset source
    saturated: pd.Series  # setting -> bool
    hard: pd.Series  # setting -> bool
    ranked: list[str] = field(default_factory=list)
    apart: dict[str, list[str]] = field(default_factory=dict)  # entry -> the datasets it is on
    incomplete: dict[str, list[str]] = field(default_factory=dict)  # setting -> ranked entries lacking it
    common: list[str] = field(default_factory=list)  # the unsaturated settings every ranked entry ran
    datasets: list[str] = field(default_factory=list)  # the datasets the ranked entries share
    by_dataset: Ranking | None = None
    by_dataset_auprc: Ranking | None = None
    by_setting: Ranking | None = None
    hard_settings: Ranking | None = None
    bayes: pd.DataFrame | None = None  # entry -> P(leader better), P(equivalent), P(entry better)
    side: dict[str, Ranking] = field(default_factory=dict)  # "<dataset> <protocol>" -> left-out settings ranked


def build(folders: list[Path], config: LeaderboardConfig = LeaderboardConfig()) -> Leaderboard:
    """The leaderboard of the cells stored in `folders`."""
    cells = load_cells(folders)
    auc, auprc = per_setting(cells, "auc"), per_setting(cells, "auprc")
    sources = cells.groupby("setting").source.first().reindex(auc.index)
    board = Leaderboard(
        config, cells, auc, auprc.reindex(index=auc.index, columns=auc.columns), sources,
        saturation(auc, config.rope), auc.max(axis=1) < HARD_AUC,
    )  # fmt: skip
    live = ~board.saturated
    on = auc[live].notna().groupby(sources[live]).any()  # datasets x entries: any live result there
    need = config.min_datasets or len(on)
    candidates = [e for e in auc.columns if on[e].sum() >= need]
    common = auc.index[live & auc[candidates].notna().all(axis=1)] if candidates else auc.index[:0]
    board.incomplete = {
        s: sorted(e for e in candidates if pd.isna(auc.loc[s, e])) for s in auc.index[live] if s not in set(common)
    }
    per_dataset = dataset_scores(auc.loc[common, candidates], sources[common])
    ranked = list(per_dataset.columns) if len(per_dataset) >= 2 else []
    board.apart = {e: sorted(on.index[on[e]]) for e in auc.columns if e not in ranked}
    board.ranked, board.datasets = ranked, list(per_dataset.index) if ranked else []
    board.common = list(common) if ranked else []
    board.by_dataset = rank_units(per_dataset, "dataset", config) if ranked else None
    if candidates and not ranked:
        logger.warning(
            "no leaderboard: the settings every one of %d entries ran cover %d dataset(s); the entries "
            "lacking most settings: %s",
            len(candidates),
            len(per_dataset),
            ", ".join(
                e for e, _ in Counter(e for lacking in board.incomplete.values() for e in lacking).most_common(5)
            ),
        )
    board.side = side_views(board, candidates, config)
    if board.by_dataset is not None:
        order = list(board.by_dataset.average_ranks.index)
        complete = auc.loc[common, order]
        board.by_dataset_auprc = rank_units(
            dataset_scores(board.auprc.loc[common, order], sources[common]), "dataset", config
        )
        board.by_setting = rank_units(complete, "setting", config)
        board.hard_settings = rank_units(complete[board.hard[common]], "setting", config)
        board.bayes = bayes_against_leader(board.by_dataset, config)
    return board


def side_views(board: Leaderboard, candidates: list[str], config: LeaderboardConfig) -> dict[str, Ranking]:
    """The settings left out of the headline, ranked apart: per dataset and protocol, the entries
    with a result on every such setting, over those settings (unit: the setting, correlated)."""
    views = {}
    left = pd.Series(list(board.incomplete), dtype=object)
    if left.empty:
        return views
    protocol = left.map(lambda s: "one-class" if " · class " in s else "injected")
    for (source, kind), settings in left.groupby([left.map(board.sources), protocol]):
        values = board.auc.loc[list(settings), candidates]
        ranking = rank_units(values.loc[:, values.notna().all()], "setting", config)
        if ranking is not None:
            views[f"{source} {kind}"] = ranking
    return views


def bayes_against_leader(r: Ranking, config: LeaderboardConfig) -> pd.DataFrame:
    """P(leader better), P(practically equivalent), P(entry better) over the datasets."""
    rows = {}
    for entry in r.values.columns[1:]:
        lead, equal, other = stats.bayesian_signed_rank(
            r.values[r.leader], r.values[entry], config.rope, samples=config.samples, seed=config.seed
        )
        rows[entry] = {"p_leader_better": lead, "p_equivalent": equal, "p_entry_better": other}
    return pd.DataFrame.from_dict(rows, orient="index")


# ---- tables ---------------------------------------------------------------------------------


def _plain(frame: pd.DataFrame, heading: str = "Entry") -> tuple[pd.DataFrame, pd.DataFrame]:
    frame.index.name = None
    return frame, pd.DataFrame(False, index=frame.index, columns=frame.columns)


def _reach_note(r: Ranking, comparisons: int) -> str:
    smallest = min(1.0, comparisons * stats.smallest_wilcoxon_p(len(r.values)))
    if smallest < ALPHA:
        return ""
    return (
        f" With {len(r.values)} {r.unit}s and {comparisons} Holm-corrected comparisons the smallest p the "
        f"test can give is {smallest:.2g}: no difference can reach p < {ALPHA} with this many {r.unit}s."
    )


def leaderboard_table(board: Leaderboard) -> Table | None:
    """The headline: entries by average rank over datasets, with AUPRC, Bayesian probabilities and
    Wilcoxon-Holm p against the leader."""
    r = board.by_dataset
    if r is None:
        return None
    auprc_ranks = board.by_dataset_auprc.average_ranks if board.by_dataset_auprc is not None else pd.Series()
    rows = {}
    for entry, rank in r.average_ranks.items():
        bayes = board.bayes.loc[entry] if entry != r.leader else None
        rows[entry] = {
            "Avg rank (AUC)": f"{rank:.2f}",
            "Mean AUC": f"{r.values[entry].mean():.4f}",
            "Avg rank (AUPRC)": f"{auprc_ranks.get(entry, np.nan):.2f}",
            "P(leader better)": "–" if bayes is None else f"{bayes.p_leader_better:.2f}",
            "P(equivalent)": "–" if bayes is None else f"{bayes.p_equivalent:.2f}",
            "P(entry better)": "–" if bayes is None else f"{bayes.p_entry_better:.2f}",
            "p vs leader": "–" if entry == r.leader else f"{r.p_holm.loc[r.leader, entry]:.3g}",
        }
    text, bold = _plain(pd.DataFrame.from_dict(rows, orient="index"))
    numbers = pd.DataFrame(
        {
            "entry": r.average_ranks.index,
            "avg_rank_auc": r.average_ranks.to_numpy(),
            "mean_auc": r.values.mean()[r.average_ranks.index].to_numpy(),
            "avg_rank_auprc": auprc_ranks.reindex(r.average_ranks.index).to_numpy(dtype=float),
            "p_holm_vs_leader": [np.nan if e == r.leader else r.p_holm.loc[r.leader, e] for e in r.average_ranks.index],
        }
    )
    if board.bayes is not None:
        numbers = numbers.merge(board.bayes, left_on="entry", right_index=True, how="left")
    tied = [e for e in r.average_ranks.index if r.p_holm.loc[r.leader, e] >= ALPHA or e == r.leader]
    bold.loc[tied, "Avg rank (AUC)"] = True
    means = r.values.mean()
    bold.loc[means.index[means >= means.max() - board.config.rope - 1e-12], "Mean AUC"] = True
    saturated = int(board.saturated.sum())
    near_chance = r.values.columns[(r.values < CHANCE_AUC).any()]
    chance = (
        f"At chance or below (AUC < {CHANCE_AUC:g}) on at least one dataset: "
        + ", ".join(f"{e} ({_chance_datasets(r.values[e])})" for e in near_chance)
        + ". A detector at chance is a question, not a result: either it cannot see this kind of anomaly "
        "at all (a cross-modal swap leaves each modality normal, so a detector that scores the "
        "modalities apart, as late fusion does, is blind to it by construction) or its implementation "
        "or fit to the data is wrong; docs/detectors.md says what is known of each."
        if len(near_chance)
        else ""
    )
    notes = (
        f"Unit: the dataset. {len(r.values)} datasets ({', '.join(DATASET_WORDS.get(d, d) for d in r.values.index)}), "
        f"{len(board.common)} unsaturated settings that every ranked entry ran, {_seed_range(board)} seeds each; "
        f"{saturated} saturated setting(s) and {len(board.incomplete)} setting(s) some ranked entry lacks are left "
        "out (listed apart). An entry's score on a dataset is its mean AUC over those settings; ranks within a dataset treat "
        f"differences within the ROPE of {board.config.rope:g} as ties, then are averaged over datasets.",
        f"P(...): Bayesian signed-rank test over datasets against the leader ({r.leader}) with the ROPE "
        f"(Benavoli et al., JMLR 2017; {board.config.samples} draws). p: two-sided Wilcoxon signed-rank "
        f"over datasets against the leader, Holm-corrected over all pairs." + _reach_note(r, _pairs(r)),
        f"Bold: the leader and every entry whose p against it is >= {ALPHA}; the highest mean AUC and "
        f"every mean within {board.config.rope:g} of it."
        + (f" Friedman chi2_F = {r.friedman.chi2:.2f} (p = {r.friedman.p_chi2:.3g})." if r.friedman else ""),
    ) + ((chance,) if chance else ())
    return Table("Leaderboard: entries ranked over datasets", "leaderboard", text, bold, "Entry", notes, numbers)


def _chance_datasets(scores: pd.Series) -> str:
    low = scores[scores < CHANCE_AUC]
    return ", ".join(f"{DATASET_WORDS.get(d, d)} {v:.2f}" for d, v in low.items())


def _pairs(r: Ranking) -> int:
    k = r.values.shape[1]
    return k * (k - 1) // 2


def _seed_range(board: Leaderboard) -> str:
    seeds = board.cells.groupby(["setting", "entry"]).seed.nunique()
    return f"{seeds.min()}" if seeds.min() == seeds.max() else f"{seeds.min()}-{seeds.max()}"


def ranking_table(r: Ranking | None, stem: str, title: str, note: str) -> Table | None:
    """Average ranks of one view (per setting, hard settings) with p against its leader."""
    if r is None:
        return None
    rows = {
        e: {
            "Avg rank": f"{rank:.2f}",
            "Mean AUC": f"{r.values[e].mean():.4f}",
            "p vs leader": "–" if e == r.leader else f"{r.p_holm.loc[r.leader, e]:.3g}",
        }
        for e, rank in r.average_ranks.items()
    }
    text, bold = _plain(pd.DataFrame.from_dict(rows, orient="index"))
    bold.loc[[e for e in text.index if e == r.leader or r.p_holm.loc[r.leader, e] >= ALPHA], "Avg rank"] = True
    full = f"{note} {len(r.values)} {r.unit}s." + _reach_note(r, _pairs(r))
    numbers = pd.DataFrame(
        {
            "entry": r.average_ranks.index,
            "avg_rank": r.average_ranks.to_numpy(),
            "mean_auc": r.values.mean()[r.average_ranks.index].to_numpy(),
            "p_holm_vs_leader": [np.nan if e == r.leader else r.p_holm.loc[r.leader, e] for e in r.average_ranks.index],
            "units": len(r.values),
        }
    )
    return Table(title, stem, text, bold, "Entry", (full,), numbers)


def datasets_table(board: Leaderboard) -> Table | None:
    """Each ranked entry's score on each dataset (its mean AUC over the compared settings there)."""
    r = board.by_dataset
    if r is None:
        return None
    values = r.values.T
    text = values.map(lambda v: f"{v:.4f}")
    text.columns = [DATASET_WORDS.get(d, d) for d in values.columns]
    text, bold = _plain(text)
    best = values.max() - board.config.rope - 1e-12
    bold[:] = (values >= best).to_numpy()
    counts = board.sources[board.common].value_counts()
    note = (
        "Mean AUC over the dataset's compared settings ("
        + ", ".join(f"{DATASET_WORDS.get(d, d)} {counts.get(d, 0)}" for d in values.columns)
        + f") and seeds. Bold: within {board.config.rope:g} of the dataset's best."
    )
    numbers = values.rename_axis("entry").reset_index().melt("entry", var_name="dataset", value_name="mean_auc")
    return Table("Entries on each dataset (mean AUC)", "datasets", text, bold, "Entry", (note,), numbers)


def matrix_table(r: Ranking | None, rope: float) -> Table | None:
    """Multi-comparison matrix over datasets: row minus column mean AUC, wins/ties/losses of the
    row with the ROPE, and the Wilcoxon p (unadjusted: the matrix stands without the pool)."""
    if r is None:
        return None
    names = list(r.average_ranks.index)
    cells, numbers = {}, []
    for a in names:
        cells[a] = {}
        for b in names:
            if a == b:
                cells[a][b] = "–"
                continue
            diff = r.values[a] - r.values[b]
            win, loss = int((diff > rope).sum()), int((diff < -rope).sum())
            tie = len(diff) - win - loss
            p = stats.wilcoxon_p(r.values[a], r.values[b])
            cells[a][b] = f"{diff.mean():+.3f} {win}/{tie}/{loss} p={p:.2g}"
            numbers.append({"row": a, "column": b, "mean_diff": diff.mean(), "wins": win, "ties": tie, "losses": loss, "p": p})  # fmt: skip
    text, bold = _plain(pd.DataFrame.from_dict(cells, orient="index")[names])
    note = (
        f"Row minus column over {len(r.values)} datasets: mean AUC difference, wins/ties/losses of the row "
        f"(a difference within {rope:g} is a tie), two-sided Wilcoxon p (not adjusted: each cell compares "
        "two entries alone, on the compared settings)."
    )
    return Table(
        "Multi-comparison matrix (AUC, over datasets)", "matrix", text, bold, "Entry", (note,), pd.DataFrame(numbers)
    )


def saturated_table(board: Leaderboard) -> Table | None:
    """Settings left out of the ranks: their best and median AUC."""
    sat = board.auc[board.saturated]
    if sat.empty:
        return None
    rows = {
        s: {
            "Entries": str(int(sat.loc[s].notna().sum())),
            "Best AUC": f"{sat.loc[s].max():.4f}",
            "Median AUC": f"{sat.loc[s].median():.4f}",
        }
        for s in sat.index
    }
    text, bold = _plain(pd.DataFrame.from_dict(rows, orient="index"))
    note = (
        f"Saturated: the median entry is within {board.config.rope:g} of the best, so the setting cannot rank entries."
    )
    return Table("Saturated settings (left out of the ranks)", "saturated", text, bold, "Setting", (note,))


def apart_table(board: Leaderboard) -> Table | None:
    """Entries measured on too few datasets: listed, not ranked."""
    if not board.apart:
        return None
    need = board.config.min_datasets or len(set(board.sources[~board.saturated]))
    rows = {e: {"Datasets": str(len(d)), "On": ", ".join(d) or "–"} for e, d in sorted(board.apart.items())}
    text, bold = _plain(pd.DataFrame.from_dict(rows, orient="index"))
    note = f"Ranked entries need a result on at least {need} datasets."
    return Table("Entries listed apart (too few datasets)", "apart", text, bold, "Entry", (note,))


def incomplete_table(board: Leaderboard) -> Table | None:
    """Unsaturated settings left out because some ranked entries have no result there."""
    if not board.incomplete:
        return None
    rows = {
        s: {"Entries with a result": str(int(board.auc.loc[s].notna().sum())), "Lacking": ", ".join(e) or "–"}
        for s, e in board.incomplete.items()
    }
    text, bold = _plain(pd.DataFrame.from_dict(rows, orient="index"))
    note = (
        "Ranked entries are compared on the settings every one of them ran; these settings lack a result "
        "(skipped: the detector cannot run there, or the cell failed) for the entries named, so they are "
        "left out of every rank rather than imputed."
    )
    return Table(
        "Settings left out of the ranks (not every ranked entry ran them)", "incomplete", text, bold, "Setting", (note,)
    )


def tables(board: Leaderboard) -> list[Table]:
    """Every table of the leaderboard, headline first."""
    found = [
        leaderboard_table(board),
        datasets_table(board),
        ranking_table(
            board.by_setting,
            "settings_view",
            "Per-setting view: entries ranked over single settings",
            "Unit: the setting. Settings of one dataset are not independent, so these p-values overstate "
            "the evidence; the headline ranks over datasets.",
        ),
        ranking_table(
            board.hard_settings,
            "hard",
            f"Hard settings (best AUC below {HARD_AUC}): entries ranked over them alone",
            "Unit: the setting (correlated within a dataset).",
        ),
        *[
            ranking_table(
                r,
                f"side_{name.replace(' ', '_')}",
                f"Left out of the headline: {DATASET_WORDS.get(name.split(' ')[0], name.split(' ')[0])} "
                f"{name.split(' ', 1)[1]} settings, ranked over themselves",
                "Settings some ranked entry could not run (see incomplete), ranked among the entries that ran "
                "every one of them. Unit: the setting, within one dataset: not independent, and not comparable "
                "with the headline.",
            )
            for name, r in sorted(board.side.items())
        ],
        matrix_table(board.by_dataset, board.config.rope),
        saturated_table(board),
        incomplete_table(board),
        apart_table(board),
    ]
    return [t for t in found if t is not None]


# ---- figures and writing ---------------------------------------------------------------------


def bayes_figure(board: Leaderboard, stem: Path) -> list[Path]:
    """Stacked bars per entry: P(leader better), P(equivalent), P(entry better)."""
    if board.bayes is None or board.bayes.empty:
        return []
    plt = pyplot()
    b = board.bayes.iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(b) + 1.4))
    left = np.zeros(len(b))
    for column, colour, label in (
        ("p_leader_better", "#4c72b0", f"{board.by_dataset.leader} better"),
        ("p_equivalent", "#bbbbbb", "practically equivalent"),
        ("p_entry_better", "#dd8452", "entry better"),
    ):
        ax.barh(b.index, b[column], left=left, color=colour, label=label)
        left += b[column].to_numpy()
    ax.set(xlim=(0, 1), xlabel=f"posterior probability (Bayesian signed-rank, ROPE {board.config.rope:g})")
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7, loc="lower right", ncol=3, bbox_to_anchor=(1, 1))
    return save(fig, stem)


def write(folders: list[Path], out: Path, config: LeaderboardConfig = LeaderboardConfig()) -> list[Path]:
    """Tables (md, tex, csv), the CD diagram and the Bayesian figure under `out`, with a manifest."""
    folders = sorted((Path(f) for f in folders), key=lambda f: f.name)
    board = build(folders, config)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for old in [*out.glob("*.md"), *out.glob("*.tex"), *out.glob("*.csv"), *out.glob("*.p[nd][gf]")]:
        old.unlink()
    written = []
    for table in tables(board):
        write_table(table, out, FORMATS)
        written.append(out / f"{table.stem}.md")
    r = board.by_dataset
    if r is not None:
        test = "Wilcoxon-Holm" if config.cd_test == "wilcoxon" else "Nemenyi"
        title = (
            f"Average ranks by AUC over {len(r.values)} datasets; bars join entries not significantly "
            f"different ({test}, alpha = {config.alpha})"
        )
        cd = r.nemenyi if config.cd_test == "nemenyi" else None
        written += cd_diagram(r.average_ranks, cd, title, out / "cd", groups=r.cliques)
    written += bayes_figure(board, out / "bayes")
    write_manifest(
        out,
        {
            "benchmark": "leaderboard",
            "git_revisions": [git_revision()],
            "folders": [f.name for f in folders],
            "config": {k: v for k, v in vars(config).items()},
            "entries": {"ranked": board.ranked, "apart": sorted(board.apart)},
            "datasets": board.datasets,
            "cliques": board.by_dataset.cliques if board.by_dataset is not None else [],
            "saturated": sorted(board.auc.index[board.saturated]),
            "incomplete": {s: e for s, e in sorted(board.incomplete.items())},
        },
    )
    logger.info(
        "leaderboard: %d ranked entries over %d datasets, %d apart",
        len(board.ranked),
        len(board.datasets),
        len(board.apart),
    )
    return written


def readme_block(readme: str | Path, out: str | Path) -> str:
    """The README's leaderboard block, made from the committed files in `out` alone: the headline
    table, the CD diagram and the saturated settings by name."""
    readme, out = Path(readme), Path(out)
    manifest = json.loads((out / "manifest.json").read_text())
    block = [README_START, ""]
    if (out / "leaderboard.md").is_file():
        block.append((out / "leaderboard.md").read_text())
    if (out / "cd.png").is_file():
        block.append(f"![Critical-difference diagram of the leaderboard]({readme_link(out / 'cd.png', readme)})\n")
    saturated = manifest.get("saturated", [])
    incomplete = manifest.get("incomplete", {})
    if incomplete:
        lacking = sorted({e for entries in incomplete.values() for e in entries})
        block.append(
            f"Left out because some ranked entry has no result there ({len(incomplete)} settings; lacking: "
            f"{', '.join(lacking)}): ranked apart among the entries that ran them, in the `side_*` tables.\n"
        )
    block.append(
        f"Saturated settings ({len(saturated)}), left out of the ranks: "
        + ("; ".join(saturated) if saturated else "none")
        + f". Every table, in md, tex and csv: [{readme_link(out, readme)}/]({readme_link(out, readme)}/).\n"
    )
    block.append(README_END)
    return "\n".join(block)


def update_readme(readme: str | Path, out: str | Path) -> bool:
    """Replace the README's leaderboard block; False (with a warning) where it has no markers."""
    return replace_block(readme, README_START, README_END, readme_block(readme, out))


def current_readme_block(readme: str | Path) -> str | None:
    """The leaderboard block the README holds now, markers included; None without markers."""
    return marked_block(Path(readme).read_text(), README_START, README_END)
