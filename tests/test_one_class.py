"""The one-class protocol: splits, metrics at the detector's own threshold, and its report tables."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import make_toy

from mmadbench.datasets.splits import OneClassConfig, SplitConfig, prepare
from mmadbench.errors import ConfigError, DataError


@pytest.fixture
def data():
    return make_toy(n=400, classes=4)


@pytest.mark.parametrize("normal_class", [0, 2])
def test_training_holds_only_the_normal_class(data, normal_class):
    s = prepare(data, OneClassConfig(normal_class), SplitConfig(), seed=0)
    assert set(s.train.labels) == {normal_class} and not s.train.is_injected
    assert len(s.train) == round(0.66 * 100)
    for part in (s.val, s.test):
        assert np.array_equal(part.anomaly, part.labels != normal_class)
        assert set(part.anomaly_type[part.anomaly]) == {"other_class"}
    held = len(s.val) + len(s.test)
    assert held == 400 - len(s.train)  # every held-out sample is in validation or test, once


def test_anomaly_share_subsamples_the_other_classes(data):
    s = prepare(data, OneClassConfig(1, anomaly_share=0.5), SplitConfig(), seed=0)
    for part in (s.val, s.test):
        assert part.anomaly.mean() == pytest.approx(0.5, abs=0.03)
        assert len(set(part.labels[part.anomaly])) == 3  # every other class still present


def test_splits_are_reproducible_and_disjoint(data):
    a = prepare(data, OneClassConfig(3), SplitConfig(), seed=4)
    b = prepare(data, OneClassConfig(3), SplitConfig(), seed=4)
    np.testing.assert_array_equal(a.test["text"], b.test["text"])
    rows = lambda d: {r.tobytes() for r in d["text"]}  # noqa: E731
    assert not rows(a.train) & rows(a.test) and not rows(a.val) & rows(a.test)


def test_bad_one_class_settings(data):
    with pytest.raises(ConfigError, match="does not occur"):
        prepare(data, OneClassConfig(9), SplitConfig(), seed=0)
    with pytest.raises(ConfigError, match="train"):
        OneClassConfig(0, train=1.2)
    with pytest.raises(DataError, match="too few"):
        prepare(make_toy(n=8, classes=4), OneClassConfig(0), SplitConfig(), seed=0)


def test_one_class_sweep_end_to_end(tmp_path):
    """Runner + report: per-class rows, Recall at the detector's own threshold, Table I layout."""
    from mmadbench.benchmark.execution.runner import run_sweep
    from mmadbench.benchmark.execution.store import ResultsStore
    from mmadbench.benchmark.reporting.report import write_report

    sweep = tmp_path / "oc.toml"
    sweep.write_text(
        'name="oc"\nprotocol="one_class"\n[[datasets]]\nname="digits"\n[one_class]\nclasses=[0, 1]\n'
        '[[detectors]]\nname="knn"\n[[detectors]]\nname="tnbcl"\n'
        '[[report.tables]]\nname="table1"\ntitle="Table I"\ndisplay_names=["knn"]\n'
    )
    summary = run_sweep(sweep, out=tmp_path)
    with ResultsStore(summary.out) as store:
        df = store.frame()
    assert set(df[df.detector == "knn"].status) == {"ok"}
    assert set(df[df.detector == "tnbcl"].status) == {"skipped"}  # needs labels of several classes
    assert set(df.protocol) == {"one_class"} and sorted(df.normal_class.unique()) == [0, 1]
    write_report(summary.out)
    table = (summary.out / "tables" / "digits_table1.md").read_text()
    assert "Average" in table and "knn: Recall" in table and "knn: ROC" in table
    assert (summary.out / "tables" / "digits_one_class.csv").is_file()


def test_class_subset_keeps_only_those_classes():
    """Four classes in play, as the CAE paper's tasks: the other classes never appear."""
    from mmadbench.benchmark.measure.config import parse_sweep
    from mmadbench.datasets.splits import prepare_one_class

    data = make_toy(n=240, classes=6)
    config = OneClassConfig(1, class_subset=(0, 1, 2, 3))
    splits = prepare_one_class(data, config, seed=0)
    for part in (splits.train, splits.val, splits.test):
        assert set(np.unique(part.labels)) <= {0, 1, 2, 3}
    assert set(np.unique(splits.test.labels)) == {0, 1, 2, 3} and config.ratio == "3 others"
    assert OneClassConfig(1, anomaly_share=0.5).ratio == "50% others"  # unchanged without a subset
    with pytest.raises(ConfigError, match="must hold the normal class 5"):
        OneClassConfig(5, class_subset=(0, 1))
    with pytest.raises(ConfigError, match=r"classes \[9\] do not occur"):
        prepare_one_class(data, OneClassConfig(1, class_subset=(1, 9)), seed=0)
    parsed = parse_sweep(
        'name = "x"\nprotocol = "one_class"\n[[datasets]]\nname = "digits"\n'
        "[one_class]\nclasses = [0, 1]\nclass_subset = [3, 0, 1, 2]"
    )
    assert [i.class_subset for i in parsed.injections] == [(0, 1, 2, 3)] * 2
