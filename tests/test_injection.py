"""Injection invariants: counts, types, untouched normals, swaps across classes, ratios."""

import numpy as np
import pytest
from conftest import make_toy

from mmadbench.datasets.injection import HeldOutPool, Ratio, UniformNoise, count_anomalies, inject
from mmadbench.errors import ConfigError, DataError


def _inject(data, anomaly_type, ratio="1:1", seed=0):
    sampler = UniformNoise().fit(data)
    return inject(data, anomaly_type, Ratio.parse(ratio), sampler, np.random.default_rng(seed))


@pytest.mark.parametrize("text,expected", [("9:1", (9, 1)), ("1:4", (1, 4)), (" 19:1 ".strip(), (19, 1))])
def test_ratio_parse(text, expected):
    r = Ratio.parse(text)
    assert (r.normal, r.abnormal) == expected


@pytest.mark.parametrize("bad", ["9-1", "9:", "a:b", "0:1", "1:0", "1:2:3", "-1:2"])
def test_ratio_parse_rejects(bad):
    with pytest.raises(ConfigError, match="ratio"):
        Ratio.parse(bad)


@pytest.mark.parametrize("ratio,share", [("19:1", 0.05), ("9:1", 0.1), ("1:1", 0.5), ("1:4", 0.8)])
@pytest.mark.parametrize("anomaly_type", ["attribute", "cross_modal", "mixed", "all"])
def test_counts_types_and_untouched_normals(toy, anomaly_type, ratio, share):
    out = _inject(toy, anomaly_type, ratio)
    assert out.anomaly.sum() == count_anomalies(len(toy), Ratio.parse(ratio)) == round(len(toy) * share)
    assert set(out.anomaly_type[~out.anomaly]) == {"normal"}
    expected = {"attribute", "cross_modal", "mixed"} if anomaly_type == "all" else {anomaly_type}
    assert set(out.anomaly_type[out.anomaly]) == expected
    for m in toy.names:  # normals keep their exact values; labels never change
        np.testing.assert_array_equal(out[m][~out.anomaly], toy[m][~out.anomaly])
    np.testing.assert_array_equal(out.labels, toy.labels)


def test_all_is_equal_parts(toy):
    out = _inject(toy, "all", "1:1")  # 120 anomalies
    _, counts = np.unique(out.anomaly_type[out.anomaly], return_counts=True)
    assert counts.tolist() == [40, 40, 40]


def test_attribute_changes_every_modality(toy):
    out = _inject(toy, "attribute")
    for m in toy.names:
        changed = (out[m] != toy[m]).reshape(len(toy), -1).any(axis=1)
        assert changed[out.anomaly].all()


def _source_rows(out, data, modality):
    """For each sample, the row of `data` whose `modality` value it now carries (-1 if none)."""
    flat_out = out[modality].reshape(len(out), -1)
    flat_in = data[modality].reshape(len(data), -1)
    match = (flat_out[:, None, :] == flat_in[None, :, :]).all(axis=2)
    return np.where(match.any(axis=1), match.argmax(axis=1), -1)


def test_cross_modal_swaps_one_modality_across_classes(toy):
    out = _inject(toy, "cross_modal")
    idx = np.flatnonzero(out.anomaly)
    swapped_any = np.zeros(len(toy), bool)
    for m in toy.names:
        src = _source_rows(out, toy, m)
        moved = idx[src[idx] != idx]
        assert (toy.labels[src[moved]] != toy.labels[moved]).all()  # value from another class
        swapped_any[moved] = True
    assert swapped_any[idx].all()
    # exactly one modality changed per anomaly, and it is a real value of the data, not noise
    n_changed = sum((out[m] != toy[m]).reshape(len(toy), -1).any(axis=1) for m in toy.names)
    assert (n_changed[idx] == 1).all()
    # most anomalies are two-way swaps within the anomalous set
    src = _source_rows(out, toy, "image")
    src_t = _source_rows(out, toy, "text")
    partner = np.where(src[idx] != idx, src[idx], src_t[idx])
    assert np.isin(partner, idx).mean() > 0.8


def test_mixed_swaps_one_and_corrupts_another(toy):
    out = _inject(toy, "mixed")
    idx = np.flatnonzero(out.anomaly)
    real_other = sum((_source_rows(out, toy, m)[idx] >= 0) & (_source_rows(out, toy, m)[idx] != idx) for m in toy.names)
    noise = sum(_source_rows(out, toy, m)[idx] < 0 for m in toy.names)
    assert (real_other == 1).all() and (noise == 1).all()


def test_three_modalities(toy):
    three = make_toy(three=True)
    for anomaly_type in ("attribute", "cross_modal", "mixed", "all"):
        out = _inject(three, anomaly_type, "1:1")
        assert out.anomaly.sum() == 120
        for m in three.names:
            np.testing.assert_array_equal(out[m][~out.anomaly], three[m][~out.anomaly])


def test_same_seed_same_injection(toy):
    a, b = _inject(toy, "all", seed=3), _inject(toy, "all", seed=3)
    np.testing.assert_array_equal(a.anomaly_type, b.anomaly_type)
    np.testing.assert_array_equal(a["image"], b["image"])
    c = _inject(toy, "all", seed=4)
    assert not np.array_equal(a.anomaly_type, c.anomaly_type)


def test_uniform_noise_in_normal_range(toy):
    out = _inject(toy, "attribute")
    for m in toy.names:
        lo, hi = toy[m].min(axis=0), toy[m].max(axis=0)
        assert (out[m] >= lo).all() and (out[m] <= hi).all()


def test_holdout_pool_rows_are_coherent(toy):
    pool = make_toy(n=20, seed=9)
    sampler = HeldOutPool().fit(pool)
    out = inject(toy, "attribute", Ratio(1, 1), sampler, np.random.default_rng(0))
    src_i = _source_rows(out, pool, "image")[out.anomaly]
    src_t = _source_rows(out, pool, "text")[out.anomaly]
    assert (src_i >= 0).all() and (src_i == src_t).all()


def test_single_class_cannot_swap():
    one = make_toy(classes=1)
    with pytest.raises(DataError, match="two classes"):
        _inject(one, "cross_modal")


def test_double_injection_refused(toy):
    with pytest.raises(DataError, match="already"):
        _inject(_inject(toy, "attribute"), "attribute")


def test_unknown_kind(toy):
    with pytest.raises(ConfigError, match="unknown anomaly type"):
        _inject(toy, "weird")


def test_composition_ratio_sets_each_type_share():
    """SCoNE's ratio sets: 2/5/8% = 2 % attribute, 5 % mixed, 8 % cross-modal of the split."""
    ratio = Ratio.parse("2/5/8%")
    assert str(ratio) == "2/5/8%" and ratio.anomaly_share == pytest.approx(0.15)
    out = _inject(make_toy(n=400), "all", "2/5/8%")
    counts = {t: int((out.anomaly_type == t).sum()) for t in ("attribute", "mixed", "cross_modal")}
    assert counts == {"attribute": 8, "mixed": 20, "cross_modal": 32}


@pytest.mark.parametrize("bad", ["2/5%", "50/40/20%", "a/b/c%", "-1/5/5%"])
def test_composition_ratio_rejects(bad):
    with pytest.raises(ConfigError, match="ratio"):
        Ratio.parse(bad)


def test_composition_ratio_needs_anomaly_type_all(toy):
    with pytest.raises(ConfigError, match="anomaly type .all."):
        _inject(toy, "attribute", "2/5/8%")
