"""The scaling benchmark on tiny sizes: tables written, growth exponent computed."""

from __future__ import annotations

import csv

from mmadbench.benchmark.performance.scaling import Run, growth_exponent, main, make_multiview


def test_synthetic_views_agree_on_classes():
    data = make_multiview(50, classes=5, dims=(4, 6))
    assert data.names == ("view0", "view1") and data["view1"].shape == (50, 6)


def test_growth_exponent_of_a_quadratic():
    runs = [Run("x", n, "ok", fit_s=1e-6 * n**2, score_s=0.0) for n in (100, 1000, 10000)]
    assert abs(growth_exponent(runs) - 2.0) < 1e-9


def test_tables_are_written(tmp_path):
    assert main(["--detectors", "scone", "--sizes", "60,120", "--time-limit", "0", "--out", str(tmp_path)]) == 0
    rows = list(csv.DictReader(open(tmp_path / "scaling.csv")))
    assert [(r["detector"], r["n"], r["status"]) for r in rows] == [("scone", "60", "ok"), ("scone", "120", "ok")]
    text = (tmp_path / "scaling.md").read_text()
    assert "growth exponent" in text and "N=120" in text
