"""`make perf`'s pieces on toy data: a detector's speed and profile, and the report with the
previous figures beside the new ones (timings are printed, never compared with a threshold)."""

from __future__ import annotations

import pandas as pd

from mmadbench.benchmark.perf import measure_detector, write_outputs
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
