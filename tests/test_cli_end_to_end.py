"""End to end through the command line: a sweep with an outside plugin, resume, reports, errors."""

from __future__ import annotations

import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from mmadbench.cli import main

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plugin_mean_distance.py"

SWEEP = """
name = "e2e"
seeds = [0]
device = "cpu"
[[datasets]]
name = "digits"
[anomalies]
types = ["cross_modal", "all"]
ratios = ["1:1"]
[[detectors]]
name = "*"
"""


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mmadbench", *args], cwd=cwd, capture_output=True, text=True, timeout=900
    )


@pytest.mark.slow
def test_sweep_with_outside_plugin_and_resume(tmp_path):
    plugin = tmp_path / "elsewhere" / "my_detector.py"  # outside the repository
    plugin.parent.mkdir()
    shutil.copy(EXAMPLE, plugin)
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(SWEEP.replace('types = ["cross_modal", "all"]', 'types = ["all"]'))
    out = tmp_path / "out"
    first = _cli("run", str(sweep), "--out", str(out), "--plugin", str(plugin), "--smoke", cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-3000:]
    folder = out / "e2e-smoke"  # --smoke: every detector at its fast test parameters, first seed
    table = (folder / "tables" / "digits_all.md").read_text()
    assert "mean-distance" in table and "knn" in table and "AUC (1:1)" in table
    for name in (
        "summary.md",
        "cells.csv",
        "roc_digits_all.png",
        "roc_digits_all.pdf",
        "types_digits.png",
        "tables/digits_all.tex",
        "tables/digits_all.csv",
        "tables/digits_timing.md",
        "manifest.json",
    ):
        assert (folder / name).is_file(), name
    assert r"\toprule" in (folder / "tables" / "digits_all.tex").read_text()
    rows = sqlite3.connect(folder / "results.sqlite").execute("SELECT COUNT(*), SUM(status='ok') FROM cells").fetchone()
    from mmadbench.detectors import list_detectors

    assert rows[0] == rows[1] == len(list_detectors()) + 1  # every built-in detector and the plugin, all ok

    sweep.write_text(SWEEP)  # one more kind: only the new cells run
    second = _cli("run", str(sweep), "--out", str(out), "--plugin", str(plugin), "--smoke", cwd=tmp_path)
    assert second.returncode == 0, second.stderr[-3000:]
    assert f"{rows[0]} already done" in second.stdout
    total = sqlite3.connect(folder / "results.sqlite").execute("SELECT COUNT(*) FROM cells").fetchone()[0]
    assert total == 2 * rows[0]

    report_time = (folder / "summary.md").stat().st_mtime
    sweep.write_text(SWEEP + "# an edit that adds no cell, e.g. to the report tables\n")
    third = _cli("run", str(sweep), "--out", str(out), "--plugin", str(plugin), "--smoke", cwd=tmp_path)
    assert third.returncode == 0 and "0 run" in third.stdout
    assert (folder / "summary.md").stat().st_mtime > report_time  # nothing ran, yet the report is new
    assert (folder / "sweep.toml").read_text() == sweep.read_text()  # and reads the edited sweep


@pytest.mark.parametrize(
    "args,match",
    [
        (["run", "missing.toml"], "sweep file 'missing.toml' does not exist"),
        (["list", "detectors", "--plugin", "nowhere.py"], "plugin file 'nowhere.py' does not exist"),
        (["report", "no/such/folder"], "no results database"),
        (["report", "--out", "nowhere"], "no results database under 'nowhere'"),
    ],
)
def test_bad_input_is_one_line(args, match, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and match in err


@pytest.mark.parametrize(
    "body,match",
    [
        ('[[datasets]]\nname="digitz"\n[[detectors]]\nname="knn"\n', "unknown dataset 'digitz'"),
        ('[[datasets]]\nname="digits"\n[[detectors]]\nname="knnn"\n', "unknown detector 'knnn'"),
        ('[[datasets]]\nname="digits"\n[anomalies]\nratios=["3"]\n', "ratio '3'"),
    ],
)
def test_bad_sweep_is_one_line(body, match, capsys, tmp_path):
    sweep = tmp_path / "bad.toml"
    sweep.write_text(body)
    assert main(["run", str(sweep), "--out", str(tmp_path / "o"), "--device", "cpu"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and match in err


def test_list_commands(capsys, registry):
    assert main(["list", "datasets"]) == 0 and "digits" in capsys.readouterr().out
    assert main(["list", "detectors", "--plugin", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "iforest-late" in out and "mean-distance" in out


def test_run_takes_several_sweeps_and_a_warm_rerun_runs_nothing(tmp_path, capsys):
    """`make bench` runs both default sweeps in one process; each gets its own folder and report,
    and running them again runs no cell."""
    body = (
        'seeds = [0]\ndevice = "cpu"\n[[datasets]]\nname = "digits"\n[anomalies]\ntypes = ["all"]\nratios = ["1:1"]\n'
    )
    sweeps = []
    for name, det in (("first", "knn"), ("second", "pca")):
        path = tmp_path / f"{name}.toml"
        path.write_text(f'name = "{name}"\n{body}[[detectors]]\nname = "{det}"\n')
        sweeps.append(str(path))
    out = tmp_path / "out"
    assert main(["run", *sweeps, "--out", str(out)]) == 0
    assert (out / "first" / "summary.md").is_file() and (out / "second" / "summary.md").is_file()
    capsys.readouterr()
    assert main(["run", *sweeps, "--out", str(out)]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if "cells:" in line]
    assert len(lines) == 2 and all("0 run" in line and "1 already done" in line for line in lines)
