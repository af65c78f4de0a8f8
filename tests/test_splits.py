"""Splits: disjoint, stratified, seeded; training clean, validation and test injected."""

import numpy as np
import pytest
from conftest import make_toy

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare, split
from mmadbench.errors import ConfigError


def _with_ids(data: MultiModalData) -> MultiModalData:
    ids = np.arange(len(data), dtype=np.float32)[:, None]
    return MultiModalData({**data.modalities, "id": ids}, {**data.kinds, "id": "vector"}, data.labels, name="ids")


def test_split_disjoint_stratified_and_seeded(toy):
    data = _with_ids(toy)
    parts = split(data, SplitConfig(0.5, 0.25, 0.25), seed=1)
    ids = [p["id"].ravel() for p in (parts.train, parts.val, parts.test)]
    assert sum(len(i) for i in ids) == len(toy)
    assert len(np.unique(np.concatenate(ids))) == len(toy)
    assert len(ids[0]) == 120 and len(ids[1]) == 60 and len(ids[2]) == 60
    for p in (parts.train, parts.val, parts.test):  # 4 balanced classes stay balanced
        counts = np.bincount(p.labels)
        assert counts.max() - counts.min() <= 1
    again = split(data, SplitConfig(0.5, 0.25, 0.25), seed=1)
    np.testing.assert_array_equal(again.test["id"], parts.test["id"])
    other = split(data, SplitConfig(0.5, 0.25, 0.25), seed=2)
    assert not np.array_equal(other.test["id"], parts.test["id"])


def test_prepare_keeps_training_clean(toy):
    s = prepare(toy, InjectionConfig("all", "1:1"), SplitConfig(), seed=0)
    assert not s.train.is_injected
    assert s.val.anomaly.sum() == round(len(s.val) / 2) and s.test.anomaly.sum() == round(len(s.test) / 2)


def test_holdout_classes_leave_every_split():
    data = make_toy(classes=5)
    s = prepare(data, InjectionConfig("attribute", "4:1", "holdout", (4,)), SplitConfig(), seed=0)
    for part in (s.train, s.val, s.test):
        assert 4 not in set(part.labels.tolist())


@pytest.mark.parametrize("fractions", [(0.5, 0.5, 0.5), (0.0, 0.5, 0.5), (1.2, -0.1, -0.1)])
def test_bad_fractions(fractions):
    with pytest.raises(ConfigError, match="split fractions"):
        SplitConfig(*fractions)


def test_tiny_class_falls_back_to_unstratified_second_split():
    data = make_toy(n=103, classes=1)
    labels = np.array([0] * 50 + [1] * 50 + [2] * 3)
    small = MultiModalData(data.modalities, data.kinds, labels, name="small")
    parts = split(small, SplitConfig(), seed=0)
    assert len(parts.train) + len(parts.val) + len(parts.test) == 103


def test_holdout_pools_of_validation_and_test_are_disjoint():
    data = make_toy(n=400, classes=5)
    ids = np.arange(len(data), dtype=np.float32)[:, None]
    tagged = MultiModalData({**data.modalities, "id": ids}, {**data.kinds, "id": "vector"}, data.labels, name="t")
    s = prepare(tagged, InjectionConfig("attribute", "1:1", "holdout", (4,)), SplitConfig(), seed=0)
    val_ids = set(s.val["id"][s.val.anomaly].ravel().tolist())
    test_ids = set(s.test["id"][s.test.anomaly].ravel().tolist())
    assert val_ids and test_ids and not val_ids & test_ids
