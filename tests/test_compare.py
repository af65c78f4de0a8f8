"""`mmadbench compare`: published figures beside measured ones, from committed cells.csv files."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from conftest import write_sweep_folder

from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.benchmark.reproduction.compare import _metric, compare
from mmadbench.benchmark.reproduction.reproduction import write_reproduction
from mmadbench.errors import ConfigError

SWEEP = """
name = "paper-mnist"
[[datasets]]
name = "mnist"
[[reproduces]]
paper = "peng2024"
tables = ["I", "V"]
dataset = "MNIST"
methods = { "CMAD" = "cmad", "TN-BCL (L_quintuple)" = "TN-BCL (paper)", "MODDIS" = "moddis" }
reasons = { "CMAD" = "rebuilt from a secondary description" }
"""

ONE_CLASS = """
name = "paper-cae"
protocol = "one_class"
[[datasets]]
name = "mfeat"
options = { views = ["pix", "fou"] }
[one_class]
classes = [0, 1]
[[reproduces]]
paper = "laakom2023"
tables = ["I", "III"]
dataset = "FIN-Benthic"
stand_in = "mfeat pix/fou, 4 classes"
methods = { "multimodal" = "CAE", "multimodal | input 64x64" = "CAE 64" }
"""


def _cell(display, seed, **metrics) -> dict:
    base = {
        "status": "ok",
        "dataset": "mnist",
        "dataset_options": "{}",
        "display_name": display,
        "protocol": "injection",
        "anomaly_type": "all",
        "ratio": "1:1",
        "seed": seed,
        "normal_class": None,
        "fpr": 0.01,
        "tpr": 0.99,
        "accuracy": 0.99,
        "precision_at_n": 0.9,
        "own_fpr": None,
        "fit_s_per_epoch": 36.0,
        "score_s_per_1k": 1.0,
        "dropped_modality": None,
    }
    return {**base, **metrics}


def _row(frame, **keys):
    part = frame
    for k, v in keys.items():
        part = part[part[k] == v]
    assert len(part) == 1, keys
    return part.iloc[0]


def test_published_figures_meet_the_measured_ones(tmp_path):
    cells = [_cell("cmad", s, auc=a) for s, a in enumerate((0.90, 0.91, 0.92))]
    cells += [_cell("TN-BCL (paper) †", s, auc=a) for s, a in enumerate((0.996, 0.998, 0.997))]
    cells += [_cell("moddis", 0, auc=0.85)]
    cells += [_cell("cmad", s, ratio="9:1", auc=0.95, accuracy=0.9920) for s in range(3)]
    frame = compare([write_sweep_folder(tmp_path, "paper-mnist", SWEEP, cells)])
    cmad = _row(frame, table="I", method="CMAD", metric="auc")
    assert cmad.verdict == "measured lower" and cmad.n == 3
    assert cmad.measured == pytest.approx(0.91) and cmad.difference == pytest.approx(0.91 - 0.9871)
    assert cmad.reason == "rebuilt from a secondary description"
    tnbcl = _row(frame, table="I", method="TN-BCL (L_quintuple)", metric="auc")  # the dagger is not part of the name
    assert tnbcl.verdict == "inside the interval" and tnbcl.reason == ""
    assert _row(frame, table="I", method="MODDIS", metric="auc").verdict == "one seed: no interval"
    assert _row(frame, table="I", method="MUVAD", metric="auc").reason.startswith("not measured: the sweep")
    assert (
        _row(frame, table="V", dataset="MNIST", method="CMAD", setting="all types, 9:1").verdict
        == "inside the interval"
    )
    assert _row(frame, table="V", dataset="MNIST", method="CMAD", setting="all types, 1:2").reason.startswith(
        "not measured: no finished"
    )
    fashion = _row(frame, table="II", method="CMAD", metric="auc")
    assert fashion.verdict == "not measured" and "Table II (Fashion-MNIST)" in fashion.reason
    assert len(frame) == 406  # every published figure has its row


def test_one_class_averages_and_timings(tmp_path):
    cells = [
        _cell(
            "CAE",
            seed,
            dataset="mfeat(views=pix+fou)",  # cells.csv names a dataset as the tables do
            dataset_options=json.dumps({"views": ["pix", "fou"]}),
            protocol="one_class",
            anomaly_type="one_class",
            ratio="all others",
            normal_class=cls,
            auc=0.5 + 0.1 * cls + 0.01 * seed,
            own_fpr=0.1,
        )
        for seed in range(3)
        for cls in (0, 1)
    ]
    frame = compare([write_sweep_folder(tmp_path, "paper-cae", ONE_CLASS, cells)])
    average = _row(
        frame, paper="laakom2023", table="I", method="multimodal", setting="normal class: average", metric="auc"
    )
    assert average.measured == pytest.approx(0.56) and average.n == 3  # mean over classes, then over seeds
    assert average.data == "mfeat pix/fou, 4 classes"
    recall = _row(
        frame, paper="laakom2023", table="I", method="multimodal", setting="normal class: average", metric="recall"
    )
    assert recall.measured == pytest.approx(0.9) and recall.how == "at the detector's own threshold"
    per_class = _row(
        frame, paper="laakom2023", table="I", method="multimodal", setting="normal class: Baetis rhodani", metric="auc"
    )
    assert per_class.reason.startswith("not comparable")
    big = _row(frame, paper="laakom2023", table="III", setting="input 64x64, average of 4 classes", metric="auc")
    assert big.reason.startswith("not measured: no finished cell")  # mapped to "CAE 64", which has no cells


def test_bad_reproductions_fail_clearly(tmp_path):
    with pytest.raises(ConfigError, match=r"reproduces\[0\] needs paper, tables and dataset"):
        parse_sweep('name = "x"\n[[datasets]]\nname = "digits"\n[[reproduces]]\npaper = "peng2024"')
    cells = [_cell("cmad", 0, auc=0.9)]
    one = write_sweep_folder(tmp_path, "a", SWEEP, cells)
    two = write_sweep_folder(tmp_path, "b", SWEEP, cells)
    with pytest.raises(ConfigError, match="reproduced by both"):
        compare([one, two])
    out = write_reproduction([one], tmp_path / "paper")[0]
    text = out.read_text()
    assert "## peng2024, Table I" in text and "| MNIST | CMAD |" in text
    assert (tmp_path / "paper" / "compare.csv").is_file() and (tmp_path / "paper" / "manifest.json").is_file()


def test_two_matching_settings_are_not_pooled_and_empty_columns_are_not_measured(tmp_path):
    cells = [_cell("cmad", s, auc=0.9, sampler="uniform") for s in range(3)]
    cells += [_cell("cmad", s, auc=0.5, sampler="holdout") for s in range(3)]
    cells += [_cell("moddis", s, auc=0.8, tpr=None) for s in range(3)]
    frame = compare([write_sweep_folder(tmp_path, "paper-mnist", SWEEP, cells)])
    pooled = _row(frame, table="I", method="CMAD", metric="auc")
    assert pooled.verdict == "not measured" and "several settings" in pooled.reason
    empty = _row(frame, table="I", method="MODDIS", metric="tpr")
    assert empty.verdict == "not measured" and "no finite tpr" in empty.reason


TWO_FORMS = """
name = "paper-mnist"
[[datasets]]
name = "mnist"
[[reproduces]]
paper = "peng2024"
tables = ["I"]
dataset = "MNIST"
methods = { "TN-BCL (L_inter)" = ["TN-BCL (paper, L_inter)", "TN-BCL (defaults, L_inter)"] }
"""


def test_a_method_run_in_two_forms_gets_a_row_for_each_and_a_reused_training_has_no_train_time(tmp_path):
    cells = [_cell("TN-BCL (paper, L_inter) †", s, auc=0.99) for s in range(3)]
    cells += [_cell("TN-BCL (defaults, L_inter) †", s, auc=0.995, fit_reused=bool(s)) for s in range(3)]
    frame = compare([write_sweep_folder(tmp_path, "paper-mnist", TWO_FORMS, cells)])
    rows = frame[(frame.table == "I") & (frame.method == "TN-BCL (L_inter)") & (frame.metric == "auc")]
    assert sorted(rows.measured_as) == ["TN-BCL (defaults, L_inter)", "TN-BCL (paper, L_inter)"]
    assert len(frame) == 406 + 4  # Table I's four TN-BCL (L_inter) figures have a second row
    text = (write_reproduction([tmp_path / "paper-mnist"], tmp_path / "paper")[0]).read_text()
    assert "| MNIST | TN-BCL (L_inter) | TN-BCL (paper, L_inter) |" in text
    fashion = _row(frame, table="II", method="CMAD", metric="auc")
    assert "mmadbench fetch fashion-mnist" in fashion.reason
    hours, _ = _metric(pd.DataFrame(cells[3:]), "train_hours_per_epoch")
    assert hours.iloc[0] == pytest.approx(0.01) and hours.iloc[1:].isna().all()  # reused: did not train


def test_several_stand_ins_of_one_published_table_each_get_their_rows(tmp_path):
    second = ONE_CLASS.replace('name = "paper-cae"', 'name = "paper-cae-2"').replace(
        'stand_in = "mfeat pix/fou, 4 classes"', 'stand_in = "another stand-in"'
    )
    cell = _cell("CAE", 1, protocol="one_class", anomaly_type="one_class", ratio="3 others", normal_class=0, auc=0.7)
    one = write_sweep_folder(tmp_path, "paper-cae", ONE_CLASS, [cell])
    two = write_sweep_folder(tmp_path, "paper-cae-2", second, [cell])
    frame = compare([one, two])
    rows = frame[(frame.table == "I") & (frame.method == "multimodal") & (frame.metric == "auc")]
    assert set(rows[rows.setting == "normal class: average"].data) == {"mfeat pix/fou, 4 classes", "another stand-in"}
