"""A results database written before the renames opens with the new column names, rows intact."""

from __future__ import annotations

import sqlite3

from mmadbench.benchmark.execution.store import ResultsStore


def test_old_column_names_are_renamed_on_opening(tmp_path):
    with sqlite3.connect(tmp_path / "results.sqlite") as conn:
        conn.execute("CREATE TABLE cells (cell_id TEXT PRIMARY KEY, kind TEXT, generator TEXT, label TEXT, auc REAL)")
        conn.execute("INSERT INTO cells VALUES ('c1', 'all', 'uniform', 'kNN', 0.9)")
        conn.execute("CREATE TABLE datasets (label TEXT PRIMARY KEY, content TEXT)")
        conn.execute("""INSERT INTO datasets VALUES ('digits', '{"sha256": "x"}')""")
    with ResultsStore(tmp_path) as store:
        row = store.frame().iloc[0]
        assert (row.anomaly_type, row.sampler, row.display_name, row.auc) == ("all", "uniform", "kNN", 0.9)
        assert store.datasets() == {"digits": {"sha256": "x"}}
