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
