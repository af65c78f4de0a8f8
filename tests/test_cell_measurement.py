"""What a cell's time and memory measure: the cell itself, not the process around it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure import memory
from mmadbench.benchmark.measure.config import parse_sweep

PLUGINS = Path(__file__).resolve().parent / "plugins"
resettable = pytest.mark.skipif(
    memory.rss_mb() is None or not Path("/proc/self/clear_refs").exists(),
    reason="needs Linux /proc to reset the RSS high-water mark",
)


@resettable
def test_peak_memory_is_the_cells_own_above_its_start():
    held = np.ones(300 * 2**20 // 8)  # 300 MB the process holds before the cell starts
    baseline = memory.start()
    small = memory.peaks(baseline)
    assert small["peak_rss_mb"] < 50 and small["rss_baseline_mb"] >= 300
    baseline = memory.start()
    block = np.ones(200 * 2**20 // 8)
    del block
    grown = memory.peaks(baseline)["peak_rss_mb"]
    assert 190 < grown < 260  # the 200 MB the cell allocated, not the 300 MB held before it
    del held


def _sweep(detector: str, types=("attribute", "cross_modal")) -> str:
    return (
        f'name = "m"\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\ntypes = {list(types)}\n'
        f'ratios = ["1:1"]\n[[detectors]]\nname = "{detector}"\n'
    ).replace("'", '"')


def _rows(folder: Path):
    with ResultsStore(folder) as store:
        return store.frame().sort_values("anomaly_type")


@pytest.mark.slow
def test_a_workers_start_up_does_not_count_against_the_time_limit(tmp_path, registry):
    plugin = PLUGINS / "slow_start.py"
    registry.load_plugin_file(plugin)
    summary = run_sweep(
        parse_sweep(_sweep("test-quick", types=("attribute",))), out=tmp_path, plugins=[plugin], time_limit_s=3
    )
    assert _rows(summary.out).status.tolist() == ["ok"]  # 6 s of imports in the worker, 3 s limit


@pytest.mark.slow
def test_isolate_runs_every_cell_in_a_fresh_process(tmp_path):
    shared = run_sweep(parse_sweep(_sweep("knn")), out=tmp_path / "shared", executor="process", workers=1)
    isolated = run_sweep(parse_sweep(_sweep("knn")), out=tmp_path / "isolated", isolate=True)
    a, b = _rows(shared.out), _rows(isolated.out)
    # one warm-up per detector and process: once in a shared worker, before every isolated cell
    assert a.warmup_s.notna().sum() == 1 and b.warmup_s.notna().sum() == 2
    assert not a.isolated.astype(bool).any() and b.isolated.astype(bool).all()
    np.testing.assert_array_equal(a.auc.to_numpy(), b.auc.to_numpy())
