"""The runner survives bad detectors and kills, and its executors agree on the numbers."""

from __future__ import annotations

import importlib.util
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.cell import DataCache, expand
from mmadbench.benchmark.measure.config import parse_sweep

PLUGIN = Path(__file__).resolve().parent / "plugins" / "misbehaving.py"


def _sweep(detectors: list[str], types=("attribute",), ratios=("1:1",), name="t") -> str:
    dets = "\n".join(f'[[detectors]]\nname = "{d}"\n' for d in detectors)
    return (
        f'name = "{name}"\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\n'
        f"types = {list(types)}\nratios = {list(ratios)}\n{dets}"
    ).replace("'", '"')


def _frame(folder: Path) -> pd.DataFrame:
    with ResultsStore(folder) as store:
        return store.frame()


@pytest.mark.slow
def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path, registry):
    registry.load_plugin_file(PLUGIN)
    sweep = parse_sweep(_sweep(["test-raiser", "test-sleeper", "test-hog", "test-huge", "knn"]))
    summary = run_sweep(sweep, out=tmp_path, plugins=[PLUGIN], time_limit_s=8, memory_limit_mb=2000)
    df = _frame(summary.out).set_index("display_name")
    assert df.loc["knn", "status"] == "ok" and df.loc["knn", "auc"] > 0.5
    assert df.loc["test-raiser", "status"] == "error" and "always fails" in df.loc["test-raiser", "error"]
    assert df.loc["test-sleeper", "status"] == "timeout"
    assert df.loc["test-hog", "status"] == "oom" and "exceeded the limit" in df.loc["test-hog", "error"]
    assert df.loc["test-huge", "status"] == "oom" and "MemoryError" in df.loc["test-huge", "error"]
    assert summary.failed == 4 and summary.ran == 5


def test_in_process_isolates_exceptions(tmp_path, registry):
    registry.load_plugin_file(PLUGIN)
    summary = run_sweep(parse_sweep(_sweep(["test-raiser", "test-huge", "knn"])), out=tmp_path)
    df = _frame(summary.out).set_index("display_name")
    assert df.status.to_dict() == {"knn": "ok", "test-huge": "oom", "test-raiser": "error"}


@pytest.mark.slow
def test_killed_run_resumes_with_every_cell_once(tmp_path):
    sweep = tmp_path / "kill.toml"
    sweep.write_text(
        _sweep(
            ["test-slow", "knn", "pca"],
            types=("attribute", "cross_modal", "mixed", "all"),
            ratios=("9:1", "1:1"),
            name="kill",
        ).replace('name = "test-slow"\n', 'name = "test-slow"\nparams = { seconds = 0.4 }\n')
    )
    cmd = [
        sys.executable,
        "-m",
        "mmadbench",
        "run",
        str(sweep),
        "--out",
        str(tmp_path),
        "--plugin",
        str(PLUGIN),
        "--no-report",
    ]
    proc = subprocess.Popen(cmd, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    db = tmp_path / "kill" / "results.sqlite"
    deadline = time.time() + 300
    done_before = 0
    while time.time() < deadline and proc.poll() is None:
        time.sleep(0.2)
        if db.is_file():
            try:
                done_before = sqlite3.connect(db).execute("SELECT COUNT(*) FROM cells").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if done_before >= 5:
                break
    assert proc.poll() is None, "the sweep ended before it could be killed"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    before = pd.read_sql_query("SELECT cell_id, status, finished_at FROM cells", conn)
    conn.close()
    assert 5 <= len(before) < 24 and (before.status == "ok").all()
    for cell_id in before.cell_id:  # every stored row has its scores
        assert (tmp_path / "kill" / "scores" / f"{cell_id}.npz").is_file()

    resumed = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"{len(before)} already done" in resumed.stdout
    after = pd.read_sql_query("SELECT cell_id, status, finished_at FROM cells", sqlite3.connect(db))
    assert len(after) == 24 and after.cell_id.is_unique and (after.status == "ok").all()
    kept = after.set_index("cell_id").loc[before.cell_id, "finished_at"]
    assert (kept.values == before.finished_at.values).all(), "cells finished before the kill were run again"


def _metrics(folder: Path) -> pd.DataFrame:
    return _frame(folder).set_index("cell_id")[["auc", "fpr", "tpr", "accuracy", "status"]].sort_index()


SMALL = _sweep(["knn", "iforest", "ecod", "pca"], types=("cross_modal", "all"), name="same")


@pytest.mark.slow
def test_process_pool_matches_in_process(tmp_path):
    ref = run_sweep(parse_sweep(SMALL), out=tmp_path / "a")
    pool = run_sweep(parse_sweep(SMALL), out=tmp_path / "b", executor="process", workers=2)
    assert pool.ran == ref.ran == 8
    pd.testing.assert_frame_equal(_metrics(ref.out), _metrics(pool.out))


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("ray") is None, reason="Ray is not installed (pip install 'mmadbench[ray]')"
)
def test_ray_matches_in_process(tmp_path):
    ref = run_sweep(parse_sweep(SMALL), out=tmp_path / "a")
    ray_run = run_sweep(parse_sweep(SMALL), out=tmp_path / "r", executor="ray", workers=2)
    assert ray_run.ran == 8
    pd.testing.assert_frame_equal(_metrics(ref.out), _metrics(ray_run.out))


def test_resume_skips_failures_unless_asked(tmp_path, registry):
    registry.load_plugin_file(PLUGIN)
    sweep = parse_sweep(_sweep(["test-raiser", "knn"]))
    run_sweep(sweep, out=tmp_path)
    assert run_sweep(sweep, out=tmp_path).ran == 0
    again = run_sweep(sweep, out=tmp_path, retry_failed=True)
    assert again.ran == 1 and again.failed == 1 and again.already_done == 1


def test_an_older_database_gains_new_columns(tmp_path):
    """A results database from an earlier harness version opens, and old rows keep their values."""
    import sqlite3

    from mmadbench.benchmark.execution.store import COLUMNS, CellResult, ResultsStore

    con = sqlite3.connect(tmp_path / "results.sqlite")
    con.execute('CREATE TABLE cells ("cell_id" TEXT PRIMARY KEY, "auc" REAL)')
    con.execute("INSERT INTO cells VALUES ('old', 0.5)")
    con.commit()
    con.close()
    with ResultsStore(tmp_path) as store:
        store.write(CellResult("new", auc=0.9, protocol="one_class", normal_class=3))
        df = store.frame().set_index("cell_id")
    assert set(COLUMNS) <= set(df.columns) | {"cell_id"}
    assert df.loc["old", "auc"] == 0.5 and df.loc["new", "normal_class"] == 3


def test_a_cell_record_refuses_unknown_fields(tmp_path):
    """One typed record defines the columns: a misspelt or new field is an error, not a silent drop."""
    from mmadbench.benchmark.execution.store import COLUMNS, CellResult, ResultsStore

    with pytest.raises(TypeError, match="auroc"):
        CellResult("x", auroc=0.9)
    with ResultsStore(tmp_path) as store, pytest.raises(TypeError, match="CellResult"):
        store.write({"cell_id": "x", "auc": 0.9})
    assert list(COLUMNS)[:2] == ["cell_id", "sweep"]


def test_report_leaves_out_cells_of_earlier_settings(tmp_path):
    """Changing a parameter makes new cells; the old ones stay in the database, out of the report."""
    from mmadbench.benchmark.reporting.report import write_report

    first = run_sweep(parse_sweep(_sweep(["knn"])), out=tmp_path)
    changed = _sweep(["knn"]).replace('name = "knn"', 'name = "knn"\nparams = { model_params = { n_neighbors = 3 } }')
    config = parse_sweep(changed)
    second = run_sweep(config, out=tmp_path)
    assert first.ran == second.ran == 1 and len(_frame(second.out)) == 2
    write_report(second.out)
    cells = pd.read_csv(second.out / "cells.csv")
    assert cells.cell_id.tolist() == [c.cell_id for c in expand(config, DataCache(None))]
    assert "±" not in (second.out / "tables" / "digits_attribute.md").read_text()


def test_report_uses_the_cell_ids_the_runner_recorded(tmp_path):
    """The report needs no registry: it keeps the ids the runner stored, or every row of a
    database that never recorded them."""
    from mmadbench.benchmark.reporting.report import current_rows

    df = pd.DataFrame({"cell_id": ["a", "b"], "detector": ["knn", "my-plugin"], "display_name": ["knn", "my-plugin"]})
    assert current_rows(df, {"b"}, tmp_path).cell_id.tolist() == ["b"]
    assert current_rows(df, None, tmp_path).cell_id.tolist() == ["a", "b"]


TORCH_SWEEP = (
    'name = "torch"\ndevice = "cpu"\nthreads = 2\n[[datasets]]\nname = "digits"\n[anomalies]\n'
    'types = ["all"]\nratios = ["1:1"]\n[[detectors]]\nname = "cmad"\nparams = { epochs = 2 }\n'
    '[[detectors]]\nname = "tbnn"\nparams = { epochs = 2 }\n'
)


@pytest.mark.slow
def test_torch_cells_are_bit_identical_in_process_and_in_a_worker_pool(tmp_path):
    """Each cell sets its own thread count and seeds, so where it runs does not change its numbers."""
    ref = run_sweep(parse_sweep(TORCH_SWEEP), out=tmp_path / "a")
    pool = run_sweep(parse_sweep(TORCH_SWEEP), out=tmp_path / "b", executor="process", workers=2)
    assert ref.ran == pool.ran == 2 and ref.failed == pool.failed == 0
    with ResultsStore(ref.out) as a, ResultsStore(pool.out) as b:
        assert set(a.frame().torch_threads) == set(b.frame().torch_threads) == {2}
        for cell_id in a.done_ids():
            left, right = a.load_scores(cell_id), b.load_scores(cell_id)
            for key in ("val_scores", "test_scores"):
                np.testing.assert_array_equal(left[key], right[key])
