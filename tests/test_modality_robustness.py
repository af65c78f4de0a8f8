"""Modality robustness: masking, each imputation, native missing-modality support, ablation
cells, the swapped-modality setting, and a robustness sweep end to end on toy data."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import make_toy

from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.cell import DataCache, expand
from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.benchmark.measure.robustness import MissingPlan, drop_modality, missing_at_test
from mmadbench.benchmark.reporting.report import write_report
from mmadbench.datasets.injection import Ratio, UniformNoise, inject
from mmadbench.datasets.missing import make_imputer, mask_modality, missing_order
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors.base import Capabilities, Detector
from mmadbench.detectors.registry import create_detector
from mmadbench.errors import ConfigError, DataError, MmadbenchError


def _masked(share: float = 0.3, modality: str = "text"):
    data = make_toy(n=40)
    return data, mask_modality(data, modality, share, missing_order(len(data), 0, 1))


# ---- masking ---------------------------------------------------------------------------------


def test_mask_zeroes_values_and_flags_them():
    data, masked = _masked(0.3)
    mask = masked.missing["text"]
    assert mask.sum() == 12 and masked.has_missing
    assert (masked["text"][mask] == 0).all()
    np.testing.assert_array_equal(masked["text"][~mask], data["text"][~mask])
    np.testing.assert_array_equal(masked["image"], data["image"])  # the other modality is untouched
    assert not data.has_missing  # the source is not changed


def test_masks_are_nested_across_shares_and_travel_with_views():
    data = make_toy(n=40)
    order = missing_order(len(data), 3, 0)
    small, large = (mask_modality(data, "image", s, order).missing["image"] for s in (0.1, 0.5))
    assert small.sum() == 4 and large.sum() == 20 and (large[small]).all()
    masked = mask_modality(data, "image", 0.5, order)
    assert masked.blind().missing["image"].sum() == 20  # observed data, not truth: blind keeps it
    part = masked.subset(np.arange(10))
    np.testing.assert_array_equal(part.missing["image"], large[:10])
    assert masked.select_modalities(["text"]).missing == {}


def test_mask_rejects_bad_input():
    data = make_toy(n=20)
    with pytest.raises(DataError, match="no modality 'audio'"):
        mask_modality(data, "audio", 0.1, missing_order(20, 0, 0))
    with pytest.raises(ConfigError, match=r"\[0, 1\]"):
        mask_modality(data, "text", 1.5, missing_order(20, 0, 0))
    with pytest.raises(DataError, match="must be bool"):
        type(data)(data.modalities, data.kinds, data.labels, missing={"text": np.zeros(20)})


# ---- imputations -----------------------------------------------------------------------------


def test_zero_imputation():
    _, masked = _masked()
    out = make_imputer("zeros").fit(make_toy(n=40, seed=1)).impute(masked)
    assert not out.has_missing
    assert (out["text"][masked.missing["text"]] == 0).all()


def test_mean_imputation_uses_the_training_mean():
    train = make_toy(n=40, seed=1)
    _, masked = _masked()
    out = make_imputer("mean").fit(train).impute(masked)
    rows = masked.missing["text"]
    np.testing.assert_allclose(
        out["text"][rows], np.broadcast_to(train["text"].mean(axis=0), (rows.sum(), 8)), rtol=1e-6
    )
    np.testing.assert_array_equal(out["text"][~rows], masked["text"][~rows])


def test_nearest_imputation_copies_the_training_sample_nearest_in_the_other_modality():
    train = make_toy(n=40, seed=1)
    test = train.subset(np.arange(10, 20))  # every test sample is a training sample
    masked = mask_modality(test, "text", 0.5, missing_order(10, 0, 1))
    out = make_imputer("nearest").fit(train).impute(masked)
    np.testing.assert_array_equal(out["text"], test["text"])  # its own image finds it exactly


def test_imputers_reject_bad_use():
    _, masked = _masked()
    with pytest.raises(ConfigError, match="unknown imputation 'median'"):
        make_imputer("median")
    with pytest.raises(DataError, match="complete training data"):
        make_imputer("mean").fit(masked)
    both = mask_modality(masked, "image", 1.0, missing_order(40, 0, 0))
    with pytest.raises(DataError, match="no other modality is present"):
        make_imputer("nearest").fit(make_toy(n=40, seed=1)).impute(both)


# ---- native support --------------------------------------------------------------------------


def _splits():
    return prepare(make_toy(), InjectionConfig("all", "1:1"), SplitConfig(), seed=0)


def test_late_fusion_scores_a_sample_by_the_modalities_it_has():
    splits = _splits()
    late = create_detector("knn-late", random_state=0).fit(splits.train.blind())
    assert late.capabilities.handles_missing
    test = splits.test.blind()
    masked = mask_modality(test, "text", 1.0, missing_order(len(test), 0, 1))
    image_only = late.score(masked)
    parts = [
        (m.decision_function(b) - mu) / sd
        for m, b, (mu, sd) in zip(late.models_, late._blocks(test), late.score_stats_)
    ]
    np.testing.assert_allclose(image_only, parts[0])  # the image's z-score alone
    half = mask_modality(test, "text", 0.5, missing_order(len(test), 0, 1))
    lacking = half.missing["text"]
    mixed = late.score(half)
    np.testing.assert_allclose(mixed[lacking], parts[0][lacking])
    np.testing.assert_allclose(mixed[~lacking], late.score(test)[~lacking])  # the others: both modalities


class _Native(Detector):
    """A learning-free detector that declares native missing-modality support; subclasses score."""

    capabilities = Capabilities(handles_missing=True)

    def __init__(self, random_state: int | None = None) -> None:
        self.random_state = random_state

    def fit(self, train, val=None):
        return self


class _Failing(_Native):
    """Scores NaN whenever a modality is missing (a detector bug a condition must survive)."""

    name = "nan-when-missing"

    def score(self, data):
        return np.full(len(data), np.nan) if data.has_missing else np.arange(len(data), dtype=float)


def test_a_failing_condition_is_recorded_not_fatal():
    splits = _splits()
    plan = MissingPlan(("text",), (0.5,), ("zeros",))
    records = missing_at_test(_Failing().fit(splits.train), _Failing.capabilities, splits, 0, plan)
    native = [r for r in records if r["imputation"] == "native"][0]
    assert native["auc"] is None and "NaN" in native["error"]
    assert [r for r in records if r["imputation"] == "zeros"][0]["auc"] is not None


def test_a_detector_without_native_support_refuses_masked_data():
    splits = _splits()
    early = create_detector("knn", random_state=0).fit(splits.train.blind())
    _, masked = _masked()
    with pytest.raises(MmadbenchError, match="does not handle missing modalities"):
        early.score(masked)
    assert "missing" in early.capabilities.incompatibility(masked)


class _MaskReader(_Native):
    """Scores by the mask (missing = more anomalous), ties by the image."""

    name = "mask-reader"

    def score(self, data):
        tie_break = 1e-3 * np.tanh(data["image"].reshape(len(data), -1).sum(axis=1))  # the image is never masked here
        return sum((~data.observed(m)).astype(float) for m in data.names) + tie_break


def test_missing_at_test_gives_the_mask_only_to_native_detectors():
    splits = _splits()
    plan = MissingPlan(("text",), (0.2, 0.6), ("zeros", "mean"))
    records = missing_at_test(_MaskReader().fit(splits.train), _MaskReader.capabilities, splits, 0, plan)
    assert {(r["share"], r["imputation"]) for r in records} == {
        (s, i) for s in (0.2, 0.6) for i in ("zeros", "mean", "native")
    }
    imputed = [r for r in records if r["imputation"] != "native"]
    assert all(r["auc"] == pytest.approx(records[0]["auc"]) for r in imputed)  # imputed: no mask seen
    native = [r for r in records if r["imputation"] == "native"]
    assert all(r["auc"] != pytest.approx(imputed[0]["auc"]) for r in native)  # the mask reached it
    n = len(splits.test)
    assert [r["n_missing"] for r in native] == [round(0.2 * n), round(0.6 * n)]
    early = create_detector("knn", random_state=0).fit(splits.train.blind())
    assert {r["imputation"] for r in missing_at_test(early, early.capabilities, splits, 0, plan)} == {"zeros", "mean"}


# ---- ablation and swapped modality -----------------------------------------------------------


def test_drop_modality_keeps_the_truth():
    splits = _splits()
    dropped = drop_modality(splits, "image")
    assert dropped.test.names == ("text",)
    np.testing.assert_array_equal(dropped.test.anomaly, splits.test.anomaly)


def test_swap_modality_exchanges_only_the_chosen_modality():
    data = make_toy(three=True)
    sampler = UniformNoise().fit(data)
    out = inject(data, "cross_modal", Ratio.parse("1:1"), sampler, np.random.default_rng(0), swap_modality="view")
    changed = {m: (out[m] != data[m]).reshape(len(data), -1).any(axis=1) for m in data.names}
    assert changed["view"][out.anomaly].all()
    assert not changed["image"].any() and not changed["text"].any()
    mixed = inject(data, "mixed", Ratio.parse("1:1"), sampler, np.random.default_rng(0), swap_modality="view")
    assert (mixed["view"] != data["view"]).any(axis=1)[mixed.anomaly].all()
    with pytest.raises(DataError, match="no modality 'audio' to swap"):
        inject(data, "cross_modal", Ratio.parse("1:1"), sampler, np.random.default_rng(0), swap_modality="audio")
    default = inject(data, "cross_modal", Ratio.parse("1:1"), sampler, np.random.default_rng(0))
    again = inject(data, "cross_modal", Ratio.parse("1:1"), sampler, np.random.default_rng(0), swap_modality=None)
    np.testing.assert_array_equal(default["view"], again["view"])


def test_one_modality_cannot_take_cross_modal_anomalies():
    one = make_toy().select_modalities(["text"])
    sampler = UniformNoise().fit(one)
    with pytest.raises(DataError, match="two or more modalities"):
        inject(one, "cross_modal", Ratio.parse("1:1"), sampler, np.random.default_rng(0))
    assert inject(one, "attribute", Ratio.parse("1:1"), sampler, np.random.default_rng(0)).anomaly.any()


SWEEP = """
name = "rob"
device = "cpu"
seeds = [0, 1]
[[datasets]]
name = "paired"
options = {{ path = "{path}" }}
[anomalies]
types = ["all"]
ratios = ["1:1"]
{extra}
[robustness]
ablation = "each"
missing_shares = [0.25, 0.5]
imputations = ["zeros", "nearest"]
[[detectors]]
name = "knn-late"
[[detectors]]
name = "cmad"
params = {{ epochs = 1 }}
"""


@pytest.fixture
def toy_npz(tmp_path):
    data = make_toy(three=True)
    path = tmp_path / "toy.npz"
    np.savez(path, labels=data.labels, kinds=np.array(["image:image", "text:text", "view:vector"]), **data.modalities)
    return path


def test_sweep_parsing_of_robustness_and_swaps(toy_npz):
    config = parse_sweep(SWEEP.format(path=toy_npz, extra='swap_modalities = ["text", "view"]'))
    assert config.robustness.ablation == ("each",) and config.robustness.missing_shares == (0.25, 0.5)
    assert [i.swap_modality for i in config.injections] == ["text", "view"]
    cells = expand(config, DataCache(None))
    # per setting, seed and detector: the full cell and one per left-out modality
    assert len(cells) == 2 * 2 * 2 * 4
    full = [c for c in cells if c.dropped_modality is None]
    assert all(c.missing.modalities == ("image", "text", "view") for c in full)
    assert len({c.cell_id for c in cells}) == len(cells)
    assert (
        "robustness_code" in full[0].key
        and "robustness_code"
        not in expand(
            parse_sweep(SWEEP.format(path=toy_npz, extra="").split("[robustness]")[0] + '[[detectors]]\nname = "knn"'),
            DataCache(None),
        )[0].key
    )
    for bad, message in (
        ('[robustness]\nimputations = ["median"]', "unknown"),
        ("[robustness]\nmissing_shares = [0]", r"\(0, 1\]"),
        ('[robustness]\nablation = ["each", "text"]', "alone"),
        ('[anomalies]\ntypes = ["attribute"]\nswap_modalities = ["text"]', "swap nothing"),
    ):
        with pytest.raises(ConfigError, match=message):
            parse_sweep(f'name = "x"\n[[datasets]]\nname = "digits"\n{bad}')
    unknown = parse_sweep(SWEEP.format(path=toy_npz, extra="").replace('ablation = "each"', 'ablation = ["audio"]'))
    with pytest.raises(ConfigError, match="no modality"):
        expand(unknown, DataCache(None))
    swap = parse_sweep(SWEEP.format(path=toy_npz, extra='swap_modalities = ["audio"]'))
    with pytest.raises(ConfigError, match=r"swap_modalities: .* has no modality \['audio'\]"):
        expand(swap, DataCache(None))
    other_shares = parse_sweep(SWEEP.format(path=toy_npz, extra="").replace("[0.25, 0.5]", "[0.25]"))
    assert not {c.cell_id for c in expand(other_shares, DataCache(None)) if c.missing} & {c.cell_id for c in full}
    with pytest.raises(ConfigError, match="injection protocol"):
        parse_sweep(
            'name = "x"\nprotocol = "one_class"\n[[datasets]]\nname = "digits"\n[one_class]\nclasses = [0]\n'
            '[robustness]\nablation = "each"'
        )


def test_robustness_sweep_end_to_end(tmp_path, toy_npz):
    summary = run_sweep(parse_sweep(SWEEP.format(path=toy_npz, extra="")), out=tmp_path)
    folder = summary.out
    write_report(folder)
    with ResultsStore(folder) as store:
        df = store.frame()
    ablation = df[df.dropped_modality.notna()]
    assert set(ablation.dropped_modality) == {"image", "text", "view"}
    assert (ablation[ablation.detector == "knn-late"].status == "ok").all()
    full = df[df.dropped_modality.isna() & (df.detector == "knn-late")]
    records = json.loads(full.missing.iloc[0])
    assert {r["imputation"] for r in records} == {"zeros", "nearest", "native"}
    assert len(records) == 3 * 2 * 3  # modalities x shares x imputations
    tables = folder / "tables"

    def one(pattern: str):
        found = sorted(tables.glob(pattern))
        assert len(found) == 1, (pattern, found)
        return found[0].read_text()

    ablation_table = one("ablation_toy_all_1-1.md")
    assert "drop without view" in ablation_table and "knn-late" in ablation_table
    # cmad takes pairs only: skipped on all three modalities, run on each two of them
    assert "cmad with every modality (supports at most 2 modalities, data has 3)" in ablation_table
    assert "| cmad       | –                | 0." in ablation_table
    one("missing_toy_all_1-1_view_nearest.md")
    assert "knn-late" in one("missing_toy_all_1-1_view_native.md")
    assert len(list(folder.glob("missing_toy_all_1-1.png"))) == 1
    assert one("toy_all.md").count("knn-late") == 1  # the main table holds the full cells only
