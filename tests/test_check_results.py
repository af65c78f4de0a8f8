"""`check-results`: a re-run reproduces committed tables byte for byte, and a changed one is caught."""

from __future__ import annotations

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.reporting.check import check_results
from mmadbench.benchmark.reporting.report import update_readme

SWEEP = (
    'name = "tiny"\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\ntypes = ["all"]\n'
    'ratios = ["1:1"]\n[[detectors]]\nname = "knn"\n[[detectors]]\nname = "pca"\n'
)


def test_a_rerun_matches_and_an_edited_table_is_caught(tmp_path):
    sweep = tmp_path / "tiny.toml"
    sweep.write_text(SWEEP)
    from mmadbench.benchmark.reporting.report import write_report

    summary = run_sweep(sweep, out=tmp_path / "results")
    write_report(summary.out)
    readme = tmp_path / "README.md"
    readme.write_text("# x\n<!-- results:start -->\n<!-- results:end -->\n")
    update_readme(readme, summary.out)
    report = check_results([sweep], tmp_path / "results", readme=readme, scratch=tmp_path / "scratch")
    assert report.ok, report.problems
    assert report.compared >= 3  # md, tex and csv of the metric table; the timing table is not compared

    timing = summary.out / "tables" / "digits_timing.md"
    timing.write_text(timing.read_text() + "\nmachine noise\n")  # timings are not compared
    table = summary.out / "tables" / "digits_all.md"
    table.write_text(table.read_text().replace("0.", "1.", 1))
    report = check_results([sweep], tmp_path / "results", readme=readme, scratch=tmp_path / "scratch2")
    assert [p.split(" ")[0] for p in report.problems] == [str(table), str(readme) + ":"]
