"""ROC figures come from the database alone when score files are absent (a sweep that spans
sessions commits its database, not its score files)."""

from __future__ import annotations

import shutil

import numpy as np

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.benchmark.measure.roc import GRID, stored_curve
from mmadbench.benchmark.reporting.figures import _mean_curve
from mmadbench.benchmark.reporting.report import load_frame

SWEEP = """
name = "roc"
seeds = [0, 1]
device = "cpu"
[[datasets]]
name = "digits"
[anomalies]
types = ["all"]
ratios = ["1:1"]
[[detectors]]
name = "knn"
"""


def test_the_mean_curve_is_the_same_from_rows_as_from_score_files(tmp_path):
    summary = run_sweep(parse_sweep(SWEEP), out=tmp_path)
    with ResultsStore(summary.out) as store:
        rows = load_frame(store)
        from_files = _mean_curve(rows, store)
        shutil.rmtree(summary.out / "scores")
        from_rows = _mean_curve(rows, store)
    assert from_files is not None and from_rows is not None
    np.testing.assert_allclose(from_rows[0], from_files[0], atol=1e-4)
    assert len(from_rows[0]) == len(GRID)


def test_a_test_split_of_one_class_keeps_no_curve():
    assert stored_curve({"test_truth": np.zeros(4, bool), "test_scores": np.arange(4.0)}) is None
    curve = stored_curve({"test_truth": np.array([0, 1, 0, 1], bool), "test_scores": np.array([0.1, 0.9, 0.2, 0.8])})
    assert curve[0] == 0.0 and curve[-1] == 1.0
