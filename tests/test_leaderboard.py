"""The leaderboard across sweep folders: ranks with practical-equivalence ties, saturated settings
kept out, datasets as the unit, and every statistic checked against an independent computation
(baycomp for the Bayesian signed-rank test, scipy and a hand-written Holm for Wilcoxon)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import holm_by_hand
from scipy import stats as scipy_stats

from mmadbench.benchmark.reporting import leaderboard, stats
from mmadbench.benchmark.reporting.leaderboard import LeaderboardConfig


def test_rope_ranks_tie_differences_inside_the_margin_and_keep_the_rank_sum():
    scores = pd.DataFrame({"a": [0.900, 0.90], "b": [0.895, 0.80], "c": [0.70, 0.80]})
    plain = stats.rope_ranks(scores, 0.0)
    assert plain.loc[1].tolist() == [1.0, 2.5, 2.5]  # exact ties share the average rank
    assert plain.loc[0].tolist() == list(stats.ranks(scores).loc[0])
    roped = stats.rope_ranks(scores, 0.01)
    assert roped.loc[0, "a"] == roped.loc[0, "b"] == 1.5  # 0.005 apart: inside the margin, a tie
    assert np.allclose(roped.sum(axis=1), 6.0)


def test_bayesian_signed_rank_matches_baycomp():
    baycomp = pytest.importorskip("baycomp", reason="baycomp is in the test extra: pip install -e '.[test]'")
    rng = np.random.default_rng(3)
    a = rng.uniform(0.6, 0.95, 8)
    for shift, rope in ((0.02, 0.01), (0.0, 0.01), (-0.03, 0.0), (0.004, 0.01)):
        b = a - shift + rng.normal(0, 0.01, 8)
        ours = stats.bayesian_signed_rank(a, b, rope, samples=20_000, seed=7)
        theirs = baycomp.SignedRankTest.sample(b, a, rope=rope, random_state=7, nsamples=20_000)
        left, equal, right = np.bincount(np.argmax(theirs, axis=1), minlength=3) / len(theirs)
        if rope == 0:  # baycomp's two-region form: (b better, a better)
            assert ours[0] == pytest.approx(right, abs=1e-12) and ours[2] == pytest.approx(left, abs=1e-12)
        else:  # baycomp's x is our b: its right region is "a better"
            assert ours == pytest.approx((right, equal, left), abs=1e-12)


def test_bayesian_signed_rank_limits():
    a = np.array([0.9, 0.8, 0.85, 0.7, 0.95, 0.75])
    assert stats.bayesian_signed_rank(a, a - 0.1, 0.01)[0] > 0.95  # a clearly better everywhere
    assert stats.bayesian_signed_rank(a, a - 0.001, 0.01)[1] > 0.95  # inside the rope everywhere


def test_pairwise_wilcoxon_holm_and_its_cliques_match_scipy():
    rng = np.random.default_rng(0)
    base = rng.uniform(0.6, 0.9, 12)
    scores = pd.DataFrame({"a": base + 0.05, "b": base + 0.05 + rng.normal(0, 0.01, 12), "c": base})
    p = stats.pairwise_wilcoxon_holm(scores)
    raw = [scipy_stats.wilcoxon(scores[x] - scores[y]).pvalue for x, y in (("a", "b"), ("a", "c"), ("b", "c"))]
    expected = holm_by_hand(raw)
    assert [p.loc["a", "b"], p.loc["a", "c"], p.loc["b", "c"]] == pytest.approx(expected)
    ranks = stats.rope_ranks(scores).mean().sort_values()
    (clique,) = stats.significance_cliques(ranks, p)
    assert sorted(clique) == ["a", "b"]  # a and b cannot be told apart; c differs from both


def test_five_datasets_can_never_show_significance_and_the_bound_is_scipys():
    assert stats.smallest_wilcoxon_p(5) == 0.0625
    assert scipy_stats.wilcoxon([0.1, 0.2, 0.3, 0.4, 0.5]).pvalue == pytest.approx(0.0625)


def _cells(tmp_path: Path, name: str, rows: list[dict]) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    pd.DataFrame(rows).to_csv(folder / "cells.csv", index=False)
    return folder


def _row(dataset, entry, seed, auc, ratio="1:1", params=None, **extra):
    return {
        "cell_id": f"{dataset}-{entry}-{seed}-{ratio}-{json.dumps(params)}",
        "dataset": dataset,
        "protocol": "injection",
        "anomaly_type": "all",
        "ratio": ratio,
        "normal_class": None,
        "display_name": entry,
        "detector": entry,
        "params": json.dumps(params or {}),
        "seed": seed,
        "status": "ok",
        "auc": auc,
        "auprc": auc - 0.1,
        "dropped_modality": None,
        **extra,
    }


def _suite(tmp_path: Path) -> list[Path]:
    """Five datasets, five entries (one in two forms), a saturated setting, one entry on two datasets."""
    rows = []
    quality = {"good": 0.90, "close": 0.895, "mid": 0.80, "weak": 0.65}
    for d, dataset in enumerate(["mnist", "cifar10-folder", "av-digits", "mfeat(views=pix+fou)", "digits"]):
        for seed in range(3):
            for entry, q in quality.items():
                rows.append(_row(dataset, entry, seed, q - 0.02 * d + 0.001 * seed))
                rows.append(_row(dataset, entry, seed, 0.9995, ratio="9:1"))  # every entry saturated here
            rows.append(_row(dataset, "knn", seed, 0.85 - 0.02 * d, params={"k": 5}))
            rows.append(_row(dataset, "knn", seed, 0.75 - 0.02 * d, params={"k": 50}))
            rows.append(_row(dataset, "knn", seed, 0.9995, ratio="9:1", params={"k": 5}))
            rows.append(_row(dataset, "knn", seed, 0.9995, ratio="9:1", params={"k": 50}))
            if d < 2:
                rows.append(_row(dataset, "rare", seed, 0.99))
                rows.append(_row(dataset, "rare", seed, 0.9995, ratio="9:1"))
    half = len(rows) // 2
    return [_cells(tmp_path, "one", rows[:half]), _cells(tmp_path, "two", rows[half:])]


def test_the_leaderboard_ranks_over_datasets_with_saturated_settings_and_sparse_entries_apart(tmp_path):
    board = leaderboard.build(_suite(tmp_path), LeaderboardConfig(samples=2000))
    assert board.saturated.sum() == 5  # the 9:1 setting of each dataset
    assert board.apart == {"rare": ["cifar10", "mnist"]}
    assert len(board.datasets) == 5  # digits and digits-halves would be one; here five sources
    ranks = board.by_dataset.average_ranks
    assert set(ranks.index) == {"good", "close", "mid", "weak", "knn [k=5]", "knn [k=50]"}
    assert ranks["good"] == ranks["close"] == 1.5  # 0.005 apart on every dataset: a tie, never a rank
    # with five datasets Holm-corrected Wilcoxon can reach nothing: every entry in one clique
    assert board.by_dataset.cliques == [list(ranks.index)]
    twin = ({"good", "close"} - {board.by_dataset.leader}).pop()
    assert board.bayes.loc[twin, "p_equivalent"] > 0.9 and board.bayes.loc["weak", "p_leader_better"] > 0.9


def test_the_leaderboard_writes_tables_figures_and_a_manifest(tmp_path):
    out = tmp_path / "board"
    written = leaderboard.write(_suite(tmp_path), out, LeaderboardConfig(samples=2000))
    names = {p.name for p in written}
    assert {
        "leaderboard.md",
        "settings_view.md",
        "matrix.md",
        "saturated.md",
        "apart.md",
        "cd.png",
        "bayes.png",
    } <= names
    for stem in ("leaderboard", "matrix", "saturated"):
        assert (out / f"{stem}.tex").is_file() and (out / f"{stem}.csv").is_file()
    text = (out / "leaderboard.md").read_text()
    assert "Unit: the dataset" in text and "no difference can reach p < 0.05" in text
    matrix = pd.read_csv(out / "matrix.csv")
    row = matrix[(matrix.row == "good") & (matrix.column == "weak")].iloc[0]
    assert row.wins == 5 and row.ties == 0 and row.mean_diff == pytest.approx(0.25, abs=1e-9)
    assert json.loads((out / "manifest.json").read_text())["entries"]["apart"] == ["rare"]


def test_status_counts_current_cells_and_says_why_the_others_are_not(tmp_path):
    from mmadbench import cli
    from mmadbench.benchmark.execution.freshness import status
    from mmadbench.testing import toy_data

    data = toy_data(n=120)
    path = tmp_path / "pairs.npz"
    np.savez(path, labels=data.labels, kinds=np.array(["image:image", "text:text"]), **data.modalities)
    sweep = tmp_path / "s.toml"
    sweep.write_text(
        f'name = "s"\nseeds = [0, 1]\n[[datasets]]\nname = "paired"\noptions = {{ path = "{path}" }}\n'
        '[anomalies]\ntypes = ["all"]\nratios = ["1:1"]\n[[detectors]]\nname = "knn"\n'
    )
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "s"
    (result,) = status([folder], None)
    assert result.is_current and result.line() == "s: 2 of 2 cells current (2 stored)"
    changed = {k: v.copy() for k, v in data.modalities.items()}
    changed["text"][0, 0] += 1.0  # the data changes under the committed cells
    np.savez(path, labels=data.labels, kinds=np.array(["image:image", "text:text"]), **changed)
    (result,) = status([folder], None)
    assert not result.is_current and result.reasons == {"data changed": 2}
    assert "0 of 2 cells current" in result.line() and "2 data changed" in result.line()
    manifest = json.loads((folder / "manifest.json").read_text())
    for run in manifest["runs"]:
        run["hardware"]["cpu"] = "Some Other CPU"
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (result,) = status([folder], None)
    assert (
        "2 data changed (the cells ran on Some Other CPU, this is " in result.line() and "may differ" in result.line()
    )


def test_identical_inputs_split_the_bayesian_ties_evenly():
    a = np.array([0.8, 0.7, 0.9])
    left, _, right = stats.bayesian_signed_rank(a, a, rope=0.0, samples=2000)
    assert left == pytest.approx(0.5) and right == pytest.approx(0.5)


def test_a_unit_missing_a_score_is_left_out_of_the_ranks():
    values = pd.DataFrame({"a": [0.9, 0.8, np.nan], "b": [0.7, 0.6, 0.5]}, index=["d1", "d2", "d3"])
    r = leaderboard.rank_units(values, "dataset", LeaderboardConfig(samples=100))
    assert list(r.values.index) == ["d1", "d2"] and r.average_ranks["a"] == 1.0


def test_old_column_names_are_read_and_a_cell_measured_twice_counts_once(tmp_path):
    rows = [_row(d, e, s, a) for d in ("mnist", "digits") for s in range(3) for e, a in (("x", 0.9), ("y", 0.6))]
    old = pd.DataFrame(rows).rename(columns={"display_name": "label", "anomaly_type": "kind"})
    (tmp_path / "old").mkdir()
    old.to_csv(tmp_path / "old" / "cells.csv", index=False)
    again = pd.DataFrame(rows).assign(cell_id=lambda f: f.cell_id + "-other-sweep")
    (tmp_path / "again").mkdir()
    again.to_csv(tmp_path / "again" / "cells.csv", index=False)
    cells = leaderboard.load_cells([tmp_path / "old", tmp_path / "again"])
    assert len(cells) == len(rows) and set(cells.entry) == {"x", "y"}


def test_a_setting_some_ranked_entry_could_not_run_is_left_out_not_imputed(tmp_path):
    rows = []
    for d, dataset in enumerate(["mnist", "digits", "av-digits"]):
        for seed in range(3):
            for entry, q in (("pair", 0.9), ("any", 0.8), ("other", 0.7)):
                rows.append(_row(dataset, entry, seed, q - 0.05 * d))
    for seed, ratio in ((s, r) for s in range(3) for r in ("1:1", "9:1")):  # the pair method is skipped there
        rows.append(_row("mfeat(views=pix+fou+kar)", "pair", seed, np.nan, ratio=ratio, status="skipped"))
        rows.append(_row("mfeat(views=pix+fou+kar)", "any", seed, 0.95 - (ratio == "9:1") * 0.05, ratio=ratio))
        rows.append(_row("mfeat(views=pix+fou+kar)", "other", seed, 0.60, ratio=ratio))
        for entry, q in (("pair", 0.9), ("any", 0.8), ("other", 0.7)):
            rows.append(_row("mfeat(views=pix+fou)", entry, seed, q))
    board = leaderboard.build([_cells(tmp_path, "s", rows)], LeaderboardConfig(samples=500))
    assert board.incomplete == {f"mfeat(views=pix+fou+kar) · all · {r}": ["pair"] for r in ("1:1", "9:1")}
    (side,) = board.side.values()  # the left-out settings, ranked among the entries that ran them
    assert list(side.average_ranks.index) == ["any", "other"] and len(side.values) == 2
    assert set(board.ranked) == {"pair", "any", "other"} and len(board.datasets) == 4
    assert board.by_dataset.values.loc["mfeat", "any"] == pytest.approx(0.8)  # two views only
    tables = {t.stem: t for t in leaderboard.tables(board)}
    assert "pair" in tables["incomplete"].frame.loc["mfeat(views=pix+fou+kar) · all · 1:1", "Lacking"]
    assert "side_mfeat_injected" in tables


def test_an_entry_missing_a_seed_on_a_setting_lacks_that_setting_and_rank_ties_go_to_the_higher_auc(tmp_path):
    rows = [
        _row(d, e, s, a) for d in ("mnist", "digits", "mfeat") for s in range(3) for e, a in (("x", 0.9), ("y", 0.7))
    ]
    rows += [_row(d, "z", s, 0.95 if d == "mnist" else 0.5) for d in ("mnist", "digits", "mfeat") for s in range(2)]
    board = leaderboard.build([_cells(tmp_path, "s", rows)], LeaderboardConfig(samples=200))
    assert board.auc["z"].isna().all() and board.apart == {"z": []} and board.ranked == ["x", "y"]
    rows = [_row(d, e, s, a) for d in ("mnist", "digits") for s in range(3) for e, a in (("b", 0.80), ("a", 0.79))]
    rows += [_row(d, e, s, 0.5) for d in ("mnist", "digits") for s in range(3) for e in ("c", "d")]
    board = leaderboard.build([_cells(tmp_path, "t", rows)], LeaderboardConfig(samples=200))
    assert list(board.by_dataset.average_ranks.index)[:2] == ["b", "a"]  # a ROPE tie: b's mean is higher


def test_check_results_rebuilds_the_leaderboard_and_its_readme_block(tmp_path):
    from mmadbench.benchmark.reporting.check import CheckReport, check_leaderboard

    results = tmp_path / "results"
    results.mkdir()
    folders = _suite(results)
    board = results / "leaderboard"
    leaderboard.write(folders, board, LeaderboardConfig(samples=500))
    report = CheckReport()
    check_leaderboard(board, tmp_path / "scratch", report)
    assert report.ok and report.compared >= 15  # md, tex and csv of every table
    (board / "matrix.md").write_text((board / "matrix.md").read_text().replace("+", "-", 1))
    check_leaderboard(board, tmp_path / "scratch2", report)
    assert len(report.problems) == 1 and "matrix.md differs" in report.problems[0]

    readme = tmp_path / "README.md"
    readme.write_text(f"# x\n\n{leaderboard.README_START}\nold\n{leaderboard.README_END}\n\nafter\n")
    assert leaderboard.update_readme(readme, board)
    block = leaderboard.current_readme_block(readme)
    assert block == leaderboard.readme_block(readme, board) and readme.read_text().endswith("after\n")
    assert "Leaderboard: entries ranked over datasets" in block and "results/leaderboard/" in block
    assert "Saturated settings (5)" in block


def test_an_entry_at_chance_is_named_under_the_headline(tmp_path):
    rows = [
        _row(d, e, s, a - 0.02 * i)
        for i, d in enumerate(("mnist", "digits", "mfeat"))
        for s in range(3)
        for e, a in (("fine", 0.9), ("coin", 0.53), ("ok", 0.8))
    ]
    board = leaderboard.build([_cells(tmp_path, "s", rows)], LeaderboardConfig(samples=200))
    notes = " ".join(leaderboard.leaderboard_table(board).notes)
    assert (
        "At chance or below (AUC < 0.55) on at least one dataset: coin (digits (8×8) 0.51, mfeat 0.49, MNIST 0.53)"
        in notes
    )
    assert "fine (" not in notes and "ok (" not in notes
