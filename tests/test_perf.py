"""`make perf`'s pieces on toy data: a detector's speed and profile, and the report with the
previous figures beside the new ones (timings are printed, never compared with a threshold)."""

from __future__ import annotations

import pandas as pd

from mmadbench.benchmark.performance.perf import measure_detector, write_outputs
from mmadbench.testing import toy_splits


def test_measure_profile_and_report(tmp_path):
    run = measure_detector("cmad", "toy", toy_splits(), "cpu", n_score=50)
    assert run.ms_per_sample_epoch > 0 and run.score_s_per_1k > 0
    assert {"forward", "backward", "optimiser", "data movement"} <= set(run.profile_ms)
    assert all(v >= 0 for k, v in run.profile_ms.items() if not k.startswith("outside"))
    harness = {"pool speed-up": 1.5}
    write_outputs([run], harness, tmp_path, threads="1", previous=None)
    first = pd.read_csv(tmp_path / "perf.csv")
    write_outputs([run], {"pool speed-up": 1.8}, tmp_path, threads="1", previous=first)
    text = (tmp_path / "perf.md").read_text()
    assert "cmad | toy | 1 |" in text and "1.800 (before 1.500)" in text
    assert (tmp_path / "manifest.json").is_file()


def test_targets_table_says_what_is_met_and_what_was_not_measured(tmp_path):
    from mmadbench.benchmark.performance.perf_targets import Target, bench_wall_s

    assert Target("a", "s", 2.0, "x", 1.0, 0.5).met is True
    assert Target("pool", "×", 0.8, "x", 1.7, 1.4, lower_is_better=False).met is False
    assert Target("b", "s", None, "–", 1.0, None).met is None
    run = measure_detector("cmad", "toy", toy_splits(), "cpu", n_score=50)
    shell = ({"import_s": 0.1, "list_s": 2.0, "bench_s": None}, {"bench_s": "no results here"})
    write_outputs([run], {"pool speed-up cold": 1.8, "cold cells": 96}, tmp_path, "1", None, shell)
    text = (tmp_path / "perf.md").read_text()
    assert "| import mmadbench | s | – | – | ≤ 0.5 | 0.1 | yes |" in text
    assert "| mmadbench list detectors | s | 2.8 | the issue | ≤ 1 | 2 | **no** |" in text
    assert "not measured | no results here |" in text
    assert "| ≥ 1.7 | 1.8 | yes | 96 cells" in text
    assert bench_wall_s(tmp_path / "nothing") == (None, f"no default results under {tmp_path / 'nothing'}")
