"""What a researcher takes away from a sweep: a dataset's own name everywhere (never a local
path), one style per detector across figures, the false-positive rate beside detection rates,
readable missing-modality figures, smoke output marked as such, and a run that fails fast."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from mmadbench import cli
from mmadbench.benchmark.measure.config import dataset_display_name
from mmadbench.benchmark.reporting import figures
from mmadbench.testing import toy_data

PLUGINS = Path(__file__).resolve().parent / "plugins"


def _npz(folder: Path) -> Path:
    """A newcomer's three-modality file, deep in a local path."""
    data = toy_data(n=160, three=True)
    path = folder / "home" / "someone" / "experiments" / "three.npz"
    path.parent.mkdir(parents=True)
    kinds = np.array(["image:image", "text:text", "view:vector"])
    np.savez(path, labels=data.labels, kinds=kinds, **data.modalities)
    return path


def _sweep(tmp_path: Path, path: Path, display: str = "", detectors: str = "", extra: str = "") -> Path:
    name = f'display_name = "{display}"\n' if display else ""
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(
        f'name = "mine"\nseeds = [0, 1]\n[[datasets]]\nname = "paired"\n{name}options = {{ path = "{path}" }}\n'
        '[anomalies]\ntypes = ["all"]\nratios = ["1:1", "3:1"]\n'
        + (detectors or '[[detectors]]\nname = "knn"\n[[detectors]]\nname = "copod"\n')
        + extra
    )
    return sweep


def _outputs(folder: Path) -> list[tuple[str, str]]:
    """(file name, text) of every table, the summary and the page; figures by name only."""
    out = [(p.relative_to(folder).as_posix(), "") for p in folder.rglob("*.p[nd][gf]")]
    for p in [*folder.glob("tables/*"), folder / "summary.md", folder / "index.html"]:
        out.append((p.relative_to(folder).as_posix(), p.read_text()))
    return out


def test_a_dataset_display_name_shows_everywhere_and_its_path_nowhere(tmp_path):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, display="Three views")
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out")]) == 0
    folder = tmp_path / "out" / "mine"
    outputs = _outputs(folder)
    assert any(name == "tables/Three-views_all.md" for name, _ in outputs)
    assert any(name == "roc_Three-views_all.png" for name, _ in outputs)
    assert "Three views: all anomalies" in (folder / "tables" / "Three-views_all.md").read_text()
    for name, text in outputs:
        assert "someone" not in name and "paired" not in name, name
        if name != "index.html":  # the page's cell details keep the loader options: provenance
            assert "someone" not in text and str(path) not in text, name


def test_without_a_display_name_a_path_shows_as_the_file_stem(tmp_path):
    path = _npz(tmp_path)
    assert dataset_display_name("paired", json.dumps({"path": str(path)})) == "three"
    assert dataset_display_name("image-folder", {"path": "/data/cifar10-jpg", "size": 32}) == ("cifar10-jpg(size=32)")
    assert dataset_display_name("mfeat", json.dumps({"views": ["pix", "fou"]})) == "mfeat(views=pix+fou)"


def test_two_datasets_may_not_share_a_display_name():
    from mmadbench.benchmark.measure.config import parse_sweep
    from mmadbench.errors import ConfigError

    text = (
        '[[datasets]]\nname = "digits"\ndisplay_name = "d"\n[[datasets]]\nname = "digits-halves"\ndisplay_name = "d"\n'
    )
    with pytest.raises(ConfigError, match="would both be shown as 'd'"):
        parse_sweep(text)
    same_stem = (
        '[[datasets]]\nname = "paired"\noptions = { path = "a/x.npz" }\n'
        '[[datasets]]\nname = "paired"\noptions = { path = "b/x.npz" }\n'
    )
    with pytest.raises(ConfigError, match="would both be shown as 'x'.*own display_name"):
        parse_sweep(same_stem)
    named = '[[datasets]]\nname = "fashion-mnist"\ndisplay_name = "mnist"\n[[datasets]]\nname = "mnist"\n'
    with pytest.raises(ConfigError, match="would both be shown as 'mnist'"):
        parse_sweep(named)


def test_a_display_name_is_not_part_of_a_cell_id(tmp_path):
    from mmadbench.benchmark.measure.cell import DataCache, expand
    from mmadbench.benchmark.measure.config import load_sweep

    path = _npz(tmp_path)
    ids = [
        {c.cell_id for c in expand(load_sweep(_sweep(tmp_path, path, display=d)), DataCache(None))}
        for d in ("", "Three views")
    ]
    assert ids[0] == ids[1]


def test_a_detector_keeps_one_style_in_every_figure_of_a_sweep():
    with figures.sweep_styles(["b", "a", "c"]):
        first = figures.style_of("b")
        with figures.sweep_styles(["b", "a", "c"]):
            assert figures.style_of("b") == first
    palette = figures.palette([f"d{i}" for i in range(30)])
    looks = {(s.color, s.marker, s.linestyle) for s in palette.values()}
    assert len(looks) == 30  # no two detectors of a sweep drawn alike


def test_types_figure_shows_false_positives_beside_detection_rates(tmp_path, monkeypatch):
    import pandas as pd

    drawn = []
    monkeypatch.setattr(figures, "save", lambda fig, stem: drawn.append(fig) or [stem])
    rows = pd.DataFrame(
        {
            "status": "ok",
            "anomaly_type": "all",
            "dataset": "d",
            "ratio": "1:1",
            "display_name": ["flags-all", "good"],
            "fpr": [0.95, 0.05],
            "detection_rate": [json.dumps({"attribute": 1.0, "cross_modal": 1.0, "mixed": 1.0})] * 2,
        }
    )
    figures.type_figures(rows, tmp_path)
    labels = [t.get_text() for t in drawn[0].axes[0].get_legend().get_texts()]
    assert "normals flagged (FPR)" in labels


def test_missing_modality_figures_hold_at_most_eight_lines_a_panel(tmp_path):
    import pandas as pd

    from mmadbench.benchmark.reporting import report_robustness

    rows = [
        {
            "dataset": "d",
            "anomaly_type": "all",
            "ratio": "1:1",
            "display_name": f"det{i:02d}",
            "detector": f"det{i:02d}",
            "seed": 0,
            "family": "early" if i % 2 else "late",
            "modality": "image",
            "imputation": "mean",
            "share": share,
            "auc": 0.9 - i / 100 - share / 10,
        }
        for i in range(20)
        for share in (0.0, 0.5)
    ]
    paths = report_robustness.missing_figures(pd.DataFrame(rows), tmp_path)
    main = tmp_path / "missing_d_all_1-1.png"
    assert main in paths and (tmp_path / "missing_families" / "missing_d_all_1-1_early.png") in paths
    # re-draw the main figure's selection to count its lines
    assert len(figures.main_display_names(pd.DataFrame(rows))) <= figures.MAIN_CURVES


def test_smoke_output_says_it_is_not_results_on_every_summary_and_caption(tmp_path):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, display="Three views")
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out"), "--smoke"]) == 0
    folder = tmp_path / "out" / "mine-smoke"
    assert figures.SMOKE_BANNER in (folder / "summary.md").read_text().splitlines()[0]
    for table in folder.glob("tables/*.md"):
        assert table.read_text().startswith(f"**{figures.SMOKE_BANNER}"), table.name
    for table in folder.glob("tables/*.tex"):
        assert "SMOKE" in table.read_text(), table.name


def test_a_misspelt_parameter_stops_the_run_before_its_first_cell(tmp_path, capsys):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, detectors='[[detectors]]\nname = "tbnn"\nparams = { epoch = 2 }\n')
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "tbnn" in err and "'epoch'" in err and "did you mean 'epochs'" in err
    assert not (tmp_path / "out" / "mine" / "results.sqlite").exists()


def test_a_value_outside_its_constraint_stops_the_run_naming_the_allowed_values(tmp_path, capsys):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, detectors='[[detectors]]\nname = "tbnn"\nparams = { epochs = 0 }\n')
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out")]) == 2
    assert "tbnn: epochs must be an integer >= 1, got 0" in capsys.readouterr().err


def test_an_unknown_device_stops_the_run_before_any_cell(tmp_path, capsys):
    path = _npz(tmp_path)
    assert cli.main(["run", str(_sweep(tmp_path, path)), "--out", str(tmp_path / "out"), "--device", "gpu"]) == 2
    assert "--device must be auto, cpu, cuda or cuda:<index>, got 'gpu'" in capsys.readouterr().err


def test_failed_cells_make_the_run_exit_non_zero_and_a_rerun_says_so(tmp_path, capsys):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, detectors='[[detectors]]\nname = "test-raiser"\n[[detectors]]\nname = "knn"\n')
    args = ["run", str(sweep), "--out", str(tmp_path / "out"), "--plugin", str(PLUGINS / "misbehaving.py")]
    assert cli.main(args) == 1
    first = capsys.readouterr()
    assert "4 cell(s) failed" in first.err and "--retry-failed" in first.err
    assert cli.main(args) == 1  # nothing runs, yet the stored failures still fail the run
    again = capsys.readouterr()
    assert "0 run" in again.out and "4 cell(s) of earlier runs are stored as failed" in again.out
    assert "--retry-failed" in again.err
    db = sqlite3.connect(tmp_path / "out" / "mine" / "results.sqlite")
    assert dict(db.execute("SELECT status, COUNT(*) FROM cells GROUP BY status").fetchall()) == {"error": 4, "ok": 4}


def test_the_seed_and_device_are_never_detector_params(tmp_path, capsys):
    path = _npz(tmp_path)
    sweep = _sweep(tmp_path, path, detectors='[[detectors]]\nname = "iforest"\nparams = { random_state = 7 }\n')
    assert cli.main(["run", str(sweep), "--out", str(tmp_path / "out")]) == 2
    assert "['random_state'] are set per cell" in capsys.readouterr().err
