"""The committed leaderboard (results/leaderboard/) recomputed independently from the committed
cells of the folders its manifest names: per-dataset scores with plain pandas, ranks with the
ROPE written out as a loop, Wilcoxon p from scipy with Holm by hand, the Bayesian probabilities
from baycomp, the multi-comparison matrix and the hard-subset ranks. None of it calls the
leaderboard's own code, so a wrong number in a committed table fails here."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import holm_by_hand
from scipy import stats as scipy_stats

ROOT = Path(__file__).resolve().parents[1]
BOARD = ROOT / "results" / "leaderboard"
pytestmark = pytest.mark.skipif(
    not (BOARD / "manifest.json").is_file(), reason="no committed leaderboard (make leaderboard writes it)"
)
HARD_AUC = 0.95
TOL = 1e-5  # the CSV keeps six significant digits


def _manifest() -> dict:
    return json.loads((BOARD / "manifest.json").read_text())


def _source(dataset: str) -> str:
    base = dataset.split("(")[0]
    return {"digits-halves": "digits", "cifar10-folder": "cifar10"}.get(base, base)


def _cells() -> pd.DataFrame:
    frames = [pd.read_csv(ROOT / "results" / f / "cells.csv", low_memory=False) for f in _manifest()["folders"]]
    df = pd.concat(frames, ignore_index=True)
    df = df[(df.status == "ok") & df.auc.notna() & df.dropped_modality.isna()].copy()
    df["entry"] = df.display_name.str.replace(" †", "", regex=False)
    one_class = df.protocol == "one_class"
    df["setting"] = np.where(
        one_class,
        df.dataset + " · class " + df.normal_class.astype("Int64").astype(str),
        df.dataset + " · " + df.anomaly_type + " · " + df.ratio.astype(str),
    )
    return df


def _means(df: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Settings x entries: mean over seeds, only where the entry has the setting's full seed set."""
    seeds = df.groupby(["setting", "entry"]).seed.nunique().unstack()
    means = df.groupby(["setting", "entry"])[metric].mean().unstack()
    return means.where(seeds.eq(seeds.max(axis=1), axis=0))


@pytest.fixture(scope="module")
def cells() -> pd.DataFrame:
    return _cells()


@pytest.fixture(scope="module")
def scores(cells) -> pd.DataFrame:
    """Settings x entries: mean AUC over seeds, from the committed cells.csv files."""
    return _means(cells, "auc")


@pytest.fixture(scope="module")
def compared(scores) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The settings the headline compares and the per-dataset means of the ranked entries, both
    derived here from the cells: saturation, the entries on every dataset, and the unsaturated
    settings every one of them ran."""
    manifest = _manifest()
    rope = manifest["config"]["rope"]
    saturated = scores.max(axis=1) - scores.median(axis=1) <= rope + 1e-12
    assert sorted(scores.index[saturated]) == manifest["saturated"]
    live = scores[~saturated]
    sources = live.index.map(lambda s: _source(s.split(" · ")[0]))
    on = live.notna().groupby(sources).any()
    ranked = [e for e in live.columns if on[e].all()]
    assert sorted(ranked) == sorted(manifest["entries"]["ranked"])
    common = live[ranked].dropna()
    left_out = sorted(set(live.index) - set(common.index))
    incomplete = BOARD / "incomplete.csv"
    assert left_out == (sorted(pd.read_csv(incomplete).setting) if incomplete.is_file() else [])
    per_dataset = common.groupby(common.index.map(lambda s: _source(s.split(" · ")[0]))).mean()
    assert sorted(per_dataset.index) == sorted(manifest["datasets"])
    return common, per_dataset


def _rope_ranks(row: pd.Series, rope: float) -> pd.Series:
    """1 + entries better by more than the ROPE + half the entries within it."""
    out = {}
    for e, v in row.items():
        others = row.drop(e)
        out[e] = 1 + (others - v > rope + 1e-12).sum() + 0.5 * ((others - v).abs() <= rope + 1e-12).sum()
    return pd.Series(out)


def _average_ranks(values: pd.DataFrame, rope: float) -> pd.Series:
    return pd.DataFrame([_rope_ranks(values.loc[u], rope) for u in values.index]).mean()


def _wilcoxon(a: pd.Series, b: pd.Series) -> float:
    d = a - b
    return 1.0 if np.allclose(d, 0) else scipy_stats.wilcoxon(d).pvalue


def _holm_matrix(values: pd.DataFrame) -> dict[tuple[str, str], float]:
    pairs = list(combinations(values.columns, 2))
    adjusted = holm_by_hand([_wilcoxon(values[a], values[b]) for a, b in pairs])
    out = {}
    for (a, b), p in zip(pairs, adjusted):
        out[a, b] = out[b, a] = p
    return out


def test_the_board_ranks_enough_entries_on_enough_datasets_and_seeds():
    manifest = _manifest()
    assert len(manifest["entries"]["ranked"]) >= 20 and len(manifest["datasets"]) >= 5
    board = pd.read_csv(BOARD / "leaderboard.csv")
    assert set(board.entry) == set(manifest["entries"]["ranked"])


def test_per_dataset_scores_match(compared):
    _, per_dataset = compared
    table = pd.read_csv(BOARD / "datasets.csv").pivot(index="dataset", columns="entry", values="mean_auc")
    assert sorted(table.index) == sorted(per_dataset.index)
    assert np.allclose(table.loc[per_dataset.index, per_dataset.columns], per_dataset, atol=TOL)


def _cliques(order: list[str], p: dict[tuple[str, str], float]) -> list[list[str]]:
    """Maximal runs of the rank order in which no two entries differ (every Holm p >= 0.05)."""
    runs = []
    for i in range(len(order)):
        j = i
        while j + 1 < len(order) and all(p[order[k], order[j + 1]] >= 0.05 for k in range(i, j + 1)):
            j += 1
        if j > i and not any(set(order[i : j + 1]) <= set(run) for run in runs):
            runs.append(order[i : j + 1])
    return runs


def test_headline_ranks_and_wilcoxon_holm_match(compared, cells):
    common, per_dataset = compared
    rope = _manifest()["config"]["rope"]
    board = pd.read_csv(BOARD / "leaderboard.csv").set_index("entry")
    ranks = _average_ranks(per_dataset, rope)
    assert np.allclose(board.avg_rank_auc, ranks[board.index], atol=TOL)
    assert board.avg_rank_auc.is_monotonic_increasing
    auprc = _means(cells, "auprc").loc[common.index, per_dataset.columns]
    auprc_ranks = _average_ranks(auprc.groupby(auprc.index.map(lambda s: _source(s.split(" · ")[0]))).mean(), rope)
    assert np.allclose(board.avg_rank_auprc, auprc_ranks[board.index], atol=TOL)
    assert np.allclose(board.mean_auc, per_dataset.mean()[board.index], atol=TOL)
    leader = board.index[0]
    holm = _holm_matrix(per_dataset[board.index])
    expected = [holm[leader, e] for e in board.index[1:]]
    assert np.allclose(board.p_holm_vs_leader.iloc[1:], expected, rtol=TOL, atol=1e-9)
    assert _manifest()["cliques"] == _cliques(list(board.index), holm)  # the CD diagram's bars


def test_bayesian_probabilities_match_baycomp(compared):
    baycomp = pytest.importorskip("baycomp", reason="baycomp is in the test extra: pip install -e '.[test]'")
    _, per_dataset = compared
    config = _manifest()["config"]
    board = pd.read_csv(BOARD / "leaderboard.csv").set_index("entry")
    leader = board.index[0]
    for entry in board.index[1:]:
        draws = baycomp.SignedRankTest.sample(
            per_dataset[entry].to_numpy(),
            per_dataset[leader].to_numpy(),
            rope=config["rope"],
            random_state=config["seed"],
            nsamples=config["samples"],
        )
        entry_better, equal, leader_better = np.bincount(np.argmax(draws, axis=1), minlength=3) / len(draws)
        row = board.loc[entry]
        assert (row.p_leader_better, row.p_equivalent, row.p_entry_better) == pytest.approx(
            (leader_better, equal, entry_better), abs=TOL
        )


def test_the_multi_comparison_matrix_matches(compared):
    _, per_dataset = compared
    rope = _manifest()["config"]["rope"]
    matrix = pd.read_csv(BOARD / "matrix.csv")
    assert len(matrix) == per_dataset.shape[1] * (per_dataset.shape[1] - 1)
    for row in matrix.itertuples():
        diff = per_dataset[row.row] - per_dataset[row.column]
        assert row.mean_diff == pytest.approx(diff.mean(), abs=TOL)
        assert (row.wins, row.losses) == ((diff > rope).sum(), (diff < -rope).sum())
        assert row.p == pytest.approx(_wilcoxon(per_dataset[row.row], per_dataset[row.column]), rel=TOL)


def test_the_hard_subset_and_per_setting_ranks_match(scores, compared):
    common, _ = compared
    rope = _manifest()["config"]["rope"]
    hard = common[scores.loc[common.index].max(axis=1) < HARD_AUC]
    for stem, units in (("hard", hard), ("settings_view", common)):
        if not (BOARD / f"{stem}.csv").is_file():
            assert len(units) < 2, f"{stem}.csv missing though {len(units)} settings qualify"
            continue
        table = pd.read_csv(BOARD / f"{stem}.csv").set_index("entry")
        assert (table.units == len(units)).all()
        ranks = _average_ranks(units[table.index], rope)
        assert np.allclose(table.avg_rank, ranks[table.index], atol=TOL)
        leader = table.index[0]
        holm = _holm_matrix(units[table.index])
        assert np.allclose(
            table.p_holm_vs_leader.iloc[1:], [holm[leader, e] for e in table.index[1:]], rtol=TOL, atol=1e-9
        )
