"""The report's aggregation and the rules that keep a table from misleading: spread over seeds,
bold only for a real best, degenerate thresholds marked, settings never pooled."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from mmadbench.benchmark import report, report_oneclass
from mmadbench.benchmark.report import METRICS, _aggregate, degenerate_thresholds, with_setting


def _rows(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


def test_mean_and_spread_over_seeds_and_one_bold_best():
    df = _rows(label=["a", "a", "b", "b"], auc=[0.8, 0.9, 0.7, 0.7], fpr=[0.1, 0.2, 0.3, 0.3],
               tpr=[0.9, 0.8, 0.5, 0.5], accuracy=[0.9, 0.8, 0.6, 0.6])
    text, bold = _aggregate(df, METRICS, ["label"])
    assert text.loc["a", "AUC"] == "0.8500 ± 0.0707"  # mean ± sample std over the two seeds
    assert text.loc["b", "AUC"] == "0.7000 ± 0.0000"
    assert bold.loc["a", "AUC"] and not bold.loc["b", "AUC"]
    assert bold.loc["a", "FPR"] and not bold.loc["b", "FPR"]  # lower is better


def test_a_threshold_that_flags_nothing_or_everything_is_marked_and_never_bold():
    df = _rows(label=["quiet", "loud", "fair", "worse"], auc=[0.6, 0.5, 0.9, 0.8], fpr=[0.0, 1.0, 0.2, 0.3],
               tpr=[0.0, 1.0, 0.8, 0.7], accuracy=[0.5, 0.5, 0.8, 0.7])
    text, bold = _aggregate(df, METRICS, ["label"])
    assert text.loc["quiet", "FPR"] == "0.0000 (flags none)" and not bold.loc["quiet", "FPR"]
    assert text.loc["loud", "TPR"] == "1.0000 (flags all)" and not bold.loc["loud", "TPR"]
    assert bold.loc["fair", "FPR"] and bold.loc["fair", "TPR"] and bold.loc["fair", "Accuracy"]
    assert text.loc["quiet", "AUC"] == "0.6000"  # threshold-free columns are unaffected


def test_degenerate_in_some_seeds_only_is_counted():
    df = _rows(label=["a", "a", "a"], fpr=[0.0, 0.1, 1.0], tpr=[0.0, 0.7, 1.0])
    assert degenerate_thresholds(df, ["label"])["a"] == "flags none or all in 2 of 3"


def test_two_generators_on_one_dataset_are_never_pooled():
    df = _rows(dataset=["digits"] * 3 + ["mfeat"], protocol=["injection"] * 4, ratio=["1:1"] * 4,
               generator=["uniform", "holdout", "uniform", "uniform"],
               holdout_classes=["[]", json.dumps([9]), "[]", "[]"])
    assert with_setting(df).tolist() == ["digits [uniform]", "digits [holdout holdout 9]", "digits [uniform]", "mfeat"]


def _one_class(label: str, cls: int, fpr: float, tpr: float, own_fpr=np.nan) -> dict:
    return {"dataset": "d", "label": label, "normal_class": cls, "status": "ok", "fpr": fpr, "tpr": tpr,
            "own_fpr": own_fpr, "precision_at_n": 0.5, "auc": 0.6}


def test_one_class_recall_is_youden_for_all_and_own_threshold_has_its_own_column():
    df = pd.DataFrame([_one_class("cae", 0, 0.2, 0.6, own_fpr=0.05), _one_class("cae", 1, 0.2, 0.6, own_fpr=0.05),
                       _one_class("knn", 0, 0.1, 0.9), _one_class("knn", 1, 0.1, 0.9),
                       _one_class("quiet", 0, 0.0, 0.0), _one_class("quiet", 1, 0.0, 0.0)])
    table = report_oneclass.tables(df)[0]
    assert table.frame.loc["cae", "Recall"].startswith("0.800")  # 1 - Youden FPR, not its own 0.95
    assert table.frame.loc["cae", "Recall (own threshold)"].startswith("0.950")
    assert not table.bold["Recall (own threshold)"].any()
    assert "flags none or all" in table.frame.loc["quiet", "Recall"]  # recall 1.0 that means nothing
    assert table.bold.loc["knn", "Recall"] and not table.bold.loc["quiet", "Recall"]


def test_markdown_carries_the_validation_truth_note():
    df = _rows(label=["tnbcl" + report.VAL_TRUTH_MARK, "knn"], auc=[0.9, 0.8], fpr=[0.1, 0.2], tpr=[0.9, 0.8],
               accuracy=[0.9, 0.8])
    text, bold = _aggregate(df, METRICS, ["label"])
    md = report.to_markdown(report.Table("t", "t", text, bold))
    assert report.VAL_TRUTH_NOTE in md


def _timed(label: str, fit_s: float, score: float, transductive: bool = False, **extra) -> dict:
    return {"dataset": "d", "label": label, "status": "ok", "device": "cpu", "threads": 1, "isolated": False,
            "transductive": transductive, "fit_s": fit_s, "fit_s_per_epoch": np.nan, "score_s_per_1k": score,
            "accuracy": 0.8, "fpr": 0.2, "tpr": 0.8, "peak_rss_mb": 10.0, **extra}


def test_timing_is_the_median_so_a_one_off_first_cell_does_not_count():
    df = pd.DataFrame([_timed("ae", 129.8, 0.1), _timed("ae", 0.8, 0.1), _timed("ae", 0.9, 0.1),
                       _timed("knn", 1.0, 0.1), _timed("knn", 1.0, 0.1), _timed("knn", 1.0, 0.1)])
    table = report.timing_table(df)[0]
    assert table.frame.loc["ae", "Train (s)"] == "0.900" and table.bold.loc["ae", "Train (s)"]
    assert any("Median over 3 cells per method; 1 CPU thread(s) per cell" in n for n in table.notes)


def test_a_transductive_detector_is_never_bold_for_training_it_does_not_do():
    df = pd.DataFrame([_timed("muvad", 0.004, 0.15, transductive=True), _timed("knn", 0.03, 0.03),
                       _timed("lof", 0.04, 0.04)])
    table = report.timing_table(df)[0]
    assert table.frame.loc["muvad", "Train (s)"] == "0.004 (transductive)"
    assert not table.bold.loc["muvad", "Train (s)"] and table.bold.loc["knn", "Train (s)"]
    assert table.bold.loc["knn", "Test s / 1k samples"]  # its cost shows where it is spent
    assert report.TRANSDUCTIVE_NOTE in report.to_markdown(table)


def test_a_missing_figure_is_a_dash_and_never_bold():
    df = pd.DataFrame([_timed("pca", 0.1, 0.1), _timed("tbnn", 4.0, 0.1, fit_s_per_epoch=0.4),
                       _timed("cmad", 0.8, 0.1, fit_s_per_epoch=0.08)])
    table = report.timing_table(df)[0]
    assert table.frame.loc["pca", "Train s / epoch"] == "–" and not table.bold.loc["pca", "Train s / epoch"]
    assert table.bold.loc["cmad", "Train s / epoch"]
