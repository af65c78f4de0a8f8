"""The report's aggregation and the rules that keep a table from misleading: spread over seeds,
bold only for a real best, degenerate thresholds marked, settings never pooled."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from mmadbench.benchmark.reporting import report, report_oneclass
from mmadbench.benchmark.reporting.report import METRICS, _aggregate, degenerate_thresholds, with_setting


def _rows(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_mean_and_95_percent_interval_over_seeds():
    df = _rows(
        display_name=["a", "a", "b", "b"],
        auc=[0.8, 0.9, 0.7, 0.7],
        fpr=[0.1, 0.2, 0.3, 0.3],
        tpr=[0.9, 0.8, 0.5, 0.5],
        accuracy=[0.9, 0.8, 0.6, 0.6],
    )
    agg = report.aggregate(df, METRICS, ["display_name"])
    # half-width t_{0.975, 1} x s / sqrt(2) = 12.706 x 0.0707 / 1.414: past 1, so shown clipped
    assert agg.text.loc["a", "AUC"] == "0.8500 [0.2147, 1.0000]" and agg.clipped
    assert agg.text.loc["b", "AUC"] == "0.7000 ± 0.0000"
    row = agg.numbers.set_index(["metric", "display_name"]).loc[("auc", "a")]
    assert row["n"] == 2 and row["std"] == pytest.approx(0.0707107) and row["ci95"] == pytest.approx(0.6353102)


def test_bold_is_the_best_its_practical_equals_and_what_a_paired_test_cannot_tell_apart():
    df = _rows(
        display_name=["a"] * 3 + ["b"] * 3 + ["c"] * 3 + ["d"] * 3 + ["e"] * 3,
        seed=[0, 1, 2] * 5,
        # b: 0.01 below a on every seed (inside the margin); c: 0.05 below on every seed (a real
        # difference, though the marginal intervals of a and c overlap); d: noisy, mean 0.05 below,
        # the paired test cannot tell; e: far below
        auc=[0.90, 0.80, 0.95, 0.89, 0.79, 0.94, 0.85, 0.75, 0.90, 0.70, 0.90, 0.90, 0.60, 0.61, 0.62],
        fpr=[0.1] * 15,
        tpr=[0.9] * 15,
        accuracy=[0.9] * 15,
    )
    agg = report.aggregate(df, METRICS, ["display_name"])
    assert agg.bold.loc["a", "AUC"] and agg.bold.loc["b", "AUC"]
    assert not agg.bold.loc["c", "AUC"]  # marginal intervals overlap, yet it is worse on every seed
    assert agg.bold.loc["d", "AUC"]
    assert not agg.bold.loc["e", "AUC"]


def test_a_difference_inside_the_margin_never_decides_a_bold_even_when_consistent():
    df = _rows(
        display_name=["a"] * 3 + ["b"] * 3,
        seed=[0, 1, 2] * 2,
        auc=[0.995, 0.996, 0.997, 0.990, 0.991, 0.992],
        fpr=[0.1] * 6,
        tpr=[0.9] * 6,
        accuracy=[0.9] * 6,
    )
    bold = report.aggregate(df, METRICS, ["display_name"]).bold
    assert bold.loc["a", "AUC"] and bold.loc["b", "AUC"]  # 0.005 apart, below the 0.01 margin
    assert not report.aggregate(df, METRICS, ["display_name"], rope=0.001).bold.loc["b", "AUC"]


def test_one_seed_bolds_the_single_best():
    df = _rows(display_name=["a", "b"], auc=[0.9, 0.8], fpr=[0.1, 0.3], tpr=[0.9, 0.5], accuracy=[0.9, 0.6])
    text, bold = _aggregate(df, METRICS, ["display_name"])
    assert text.loc["a", "AUC"] == "0.9000"
    assert bold.loc["a", "AUC"] and not bold.loc["b", "AUC"]
    assert bold.loc["a", "FPR"] and not bold.loc["b", "FPR"]  # lower is better


def test_an_auc_interval_below_one_half_is_marked_below_chance():
    df = _rows(
        display_name=["inv"] * 3 + ["ok"] * 3,
        auc=[0.30, 0.31, 0.32, 0.45, 0.55, 0.50],
        fpr=[0.1] * 6,
        tpr=[0.9] * 6,
        accuracy=[0.9] * 6,
    )
    text = report.aggregate(df, METRICS, ["display_name"]).text
    assert text.loc["inv", "AUC"].endswith("(below chance)") and "below" not in text.loc["ok", "AUC"]


def test_a_threshold_that_flags_nothing_or_everything_is_marked_and_never_bold():
    df = _rows(
        display_name=["quiet", "loud", "fair", "worse"],
        auc=[0.6, 0.5, 0.9, 0.8],
        fpr=[0.0, 1.0, 0.2, 0.3],
        tpr=[0.0, 1.0, 0.8, 0.7],
        accuracy=[0.5, 0.5, 0.8, 0.7],
    )
    text, bold = _aggregate(df, METRICS, ["display_name"])
    assert text.loc["quiet", "FPR"] == "0.0000 (flags none)" and not bold.loc["quiet", "FPR"]
    assert text.loc["loud", "TPR"] == "1.0000 (flags all)" and not bold.loc["loud", "TPR"]
    assert bold.loc["fair", "FPR"] and bold.loc["fair", "TPR"] and bold.loc["fair", "Accuracy"]
    assert text.loc["quiet", "AUC"] == "0.6000"  # threshold-free columns are unaffected


def test_degenerate_in_some_seeds_only_is_counted():
    df = _rows(display_name=["a", "a", "a"], fpr=[0.0, 0.1, 1.0], tpr=[0.0, 0.7, 1.0])
    assert degenerate_thresholds(df, ["display_name"])["a"] == "flags none or all in 2 of 3"


def test_two_samplers_on_one_dataset_are_never_pooled():
    df = _rows(
        dataset=["digits"] * 3 + ["mfeat"],
        protocol=["injection"] * 4,
        ratio=["1:1"] * 4,
        sampler=["uniform", "holdout", "uniform", "uniform"],
        holdout_classes=["[]", json.dumps([9]), "[]", "[]"],
    )
    assert with_setting(df).tolist() == ["digits [uniform]", "digits [holdout holdout 9]", "digits [uniform]", "mfeat"]


def _one_class(label: str, cls: int, fpr: float, tpr: float, own_fpr=np.nan) -> dict:
    return {
        "dataset": "d",
        "display_name": label,
        "normal_class": cls,
        "seed": 0,
        "status": "ok",
        "fpr": fpr,
        "tpr": tpr,
        "own_fpr": own_fpr,
        "precision_at_n": 0.5,
        "auc": 0.6,
    }


def test_one_class_recall_is_youden_for_all_and_own_threshold_has_its_own_column():
    df = pd.DataFrame(
        [
            _one_class("cae", 0, 0.2, 0.6, own_fpr=0.05),
            _one_class("cae", 1, 0.2, 0.6, own_fpr=0.05),
            _one_class("knn", 0, 0.1, 0.9),
            _one_class("knn", 1, 0.1, 0.9),
            _one_class("quiet", 0, 0.0, 0.0),
            _one_class("quiet", 1, 0.0, 0.0),
        ]
    )
    table = report_oneclass.tables(df)[0]
    assert table.frame.loc["cae", "Recall"].startswith("0.800")  # 1 - Youden FPR, not its own 0.95
    assert table.frame.loc["cae", "Recall (own threshold)"].startswith("0.950")
    assert not table.bold["Recall (own threshold)"].any()
    assert "flags none or all" in table.frame.loc["quiet", "Recall"]  # recall 1.0 that means nothing
    assert table.bold.loc["knn", "Recall"] and not table.bold.loc["quiet", "Recall"]


def test_markdown_carries_the_validation_truth_note():
    df = _rows(
        display_name=["tnbcl" + report.VAL_TRUTH_MARK, "knn"],
        auc=[0.9, 0.8],
        fpr=[0.1, 0.2],
        tpr=[0.9, 0.8],
        accuracy=[0.9, 0.8],
    )
    text, bold = _aggregate(df, METRICS, ["display_name"])
    md = report.to_markdown(report.Table("t", "t", text, bold))
    assert report.VAL_TRUTH_NOTE in md


def _timed(label: str, fit_s: float, score: float, transductive: bool = False, **extra) -> dict:
    return {
        "dataset": "d",
        "display_name": label,
        "status": "ok",
        "device": "cpu",
        "threads": 1,
        "isolated": False,
        "transductive": transductive,
        "fit_s": fit_s,
        "fit_s_per_epoch": np.nan,
        "score_s_per_1k": score,
        "accuracy": 0.8,
        "fpr": 0.2,
        "tpr": 0.8,
        "peak_rss_mb": 10.0,
        **extra,
    }


def test_timing_is_the_median_so_a_one_off_first_cell_does_not_count():
    df = pd.DataFrame(
        [
            _timed("ae", 129.8, 0.1),
            _timed("ae", 0.8, 0.1),
            _timed("ae", 0.9, 0.1),
            _timed("knn", 1.0, 0.1),
            _timed("knn", 1.0, 0.1),
            _timed("knn", 1.0, 0.1),
        ]
    )
    table = report.timing_table(df)[0]
    assert table.frame.loc["ae", "Train (s)"] == "0.900" and table.bold.loc["ae", "Train (s)"]
    assert any("Median over 3 cells per method; 1 CPU thread(s) per cell" in n for n in table.notes)
    assert any("one cell at a time" in n for n in table.notes)
    pooled = report.timing_table(df, report.concurrency([{"executor": "process", "workers": 2}]))[0]
    assert any("up to 2 cells at once (worker processes)" in n for n in pooled.notes)
    assert report.concurrency([{"executor": "inprocess", "workers": 2}, {}]) == 1


def test_a_transductive_detector_is_never_bold_for_training_it_does_not_do():
    df = pd.DataFrame(
        [_timed("muvad", 0.004, 0.15, transductive=True), _timed("knn", 0.03, 0.03), _timed("lof", 0.04, 0.04)]
    )
    table = report.timing_table(df)[0]
    assert table.frame.loc["muvad", "Train (s)"] == "0.004 (transductive)"
    assert not table.bold.loc["muvad", "Train (s)"] and table.bold.loc["knn", "Train (s)"]
    assert table.bold.loc["knn", "Test s / 1k samples"]  # its cost shows where it is spent
    assert report.TRANSDUCTIVE_NOTE in report.to_markdown(table)


def test_a_missing_figure_is_a_dash_and_never_bold():
    df = pd.DataFrame(
        [
            _timed("pca", 0.1, 0.1),
            _timed("tbnn", 4.0, 0.1, fit_s_per_epoch=0.4),
            _timed("cmad", 0.8, 0.1, fit_s_per_epoch=0.08),
        ]
    )
    table = report.timing_table(df)[0]
    assert table.frame.loc["pca", "Train s / epoch"] == "–" and not table.bold.loc["pca", "Train s / epoch"]
    assert table.bold.loc["cmad", "Train s / epoch"]
    with_sizes = report.timing_table(df.assign(n_train=200))[0]  # Table VI's time per pair
    assert with_sizes.frame.loc["tbnn", "Train ms / sample / epoch"] == "2.000"


def _ranked_rows(aucs: dict[str, dict[str, list[float]]]) -> pd.DataFrame:
    rows = []
    for ratio, per_detector in aucs.items():
        for label, values in per_detector.items():
            for seed, auc in enumerate(values):
                rows.append(
                    {
                        "dataset": "d",
                        "anomaly_type": "all",
                        "ratio": ratio,
                        "protocol": "injection",
                        "normal_class": None,
                        "display_name": label,
                        "seed": seed,
                        "status": "ok",
                        "auc": auc,
                        "fpr": 0.1,
                        "tpr": 0.9,
                        "accuracy": 0.9,
                    }
                )
    return pd.DataFrame(rows)


def test_a_saturated_setting_is_flagged_noted_and_left_out_of_the_ranks():
    df = _ranked_rows(
        {
            "9:1": {"a": [1.0, 1.0, 1.0], "b": [1.0, 0.9995, 1.0], "c": [1.0, 1.0, 0.9998]},  # saturated
            "1:1": {"a": [0.90, 0.91, 0.92], "b": [0.70, 0.71, 0.72], "c": [0.50, 0.51, 0.52]},
            "4:1": {"a": [0.80, 0.81, 0.82], "b": [0.85, 0.86, 0.87], "c": [0.40, 0.41, 0.42]},
        }
    )
    ranking = report.report_ranks.rank(df)
    assert ranking.flags["d · all · 9:1"] == "saturated"
    assert list(ranking.scores.index) == ["d · all · 1:1", "d · all · 4:1"]
    assert ranking.average_ranks.to_dict() == {"a": 1.5, "b": 1.5, "c": 3.0}
    table = report.report_ranks.rank_table(ranking)
    assert "1 of 3 settings do not discriminate and are left out (1 saturated)" in table.notes[0]
    assert table.frame.loc["c", "Settings below chance"] == "1"  # 4:1: interval wholly below 0.5
    metric = report.metric_tables(df, ranking.flags)[0]
    assert "Does not discriminate (left out of the ranks): 9:1 (saturated)." in metric.notes


def test_settings_where_every_interval_overlaps_do_not_discriminate():
    df = _ranked_rows(
        {
            "1:1": {"a": [0.80, 0.90, 0.70], "b": [0.82, 0.72, 0.88]},
            "4:1": {"a": [0.90, 0.91, 0.92], "b": [0.60, 0.61, 0.62]},
        }
    )
    ranking = report.report_ranks.rank(df)
    assert ranking.flags.to_dict() == {"d · all · 1:1": "intervals overlap", "d · all · 4:1": ""}
    assert not ranking.ranked  # one setting left: nothing to rank over


def test_the_one_class_csv_keeps_mean_std_half_width_and_n():
    rows = [_one_class("knn", c, 0.1 + 0.01 * s, 0.9) | {"seed": s} for c in (0, 1) for s in range(3)]
    table = report_oneclass.tables(pd.DataFrame(rows))[0]
    recall = table.numbers.set_index(["metric", "display_name"]).loc[("recall", "knn")]
    assert recall["n"] == 3 and recall["mean"] == pytest.approx(0.89) and recall["ci95"] > 0


def test_cells_that_reused_a_training_leave_their_train_time_out():
    df = pd.DataFrame(
        [
            _timed("tnbcl", 100.0, 1.0, fit_reused=False),
            _timed("tnbcl", 0.5, 1.2, fit_reused=True),
            _timed("tnbcl", 0.4, 1.1, fit_reused=True),
        ]
    )
    table = report.timing_table(df)[0]
    assert table.frame.loc["tnbcl", "Train (s)"] == "100.000"  # only the cell that trained
    assert table.frame.loc["tnbcl", "Test s / 1k samples"] == "1.100"  # every cell scored
    assert any(n.startswith("2 cells loaded the network") for n in table.notes)
