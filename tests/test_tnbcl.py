"""TN-BCL on a small, easy image-text set: swaps found, noise images flagged, every loss trains."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors import create_detector
from mmadbench.detectors.tnbcl.detector import TAU_FLOOR


def easy_image_text(n: int = 480, classes: int = 4, seed: int = 0, third: bool = False) -> MultiModalData:
    """Images: one stroke pattern per class plus pixel noise; text: a class vector plus noise."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    patterns = np.zeros((classes, 8, 8), np.float32)
    for c in range(classes):
        patterns[c, c * 2 : c * 2 + 2, :] = 1.0  # a horizontal bar whose height encodes the class
        patterns[c, :, (c * 3) % 8] = 1.0
    images = patterns[labels][:, None] + 0.1 * rng.normal(size=(n, 1, 8, 8)).astype(np.float32)
    text = (rng.normal(size=(classes, 16))[labels] + 0.2 * rng.normal(size=(n, 16))).astype(np.float32)
    mods, kinds = {"image": images.astype(np.float32), "text": text}, {"image": "image", "text": "text"}
    if third:
        mods["view"] = (rng.normal(size=(classes, 6))[labels] + 0.2 * rng.normal(size=(n, 6))).astype(np.float32)
        kinds["view"] = "vector"
    return MultiModalData(mods, kinds, labels, name="easy")


FAST = {"epochs": 6, "warmup_epochs": 3, "dim": 48, "depth": 2, "batch_size": 128}


@pytest.fixture(scope="module")
def cross():
    # 1,200 samples: validation then holds 120 normals, so each top-branch threshold (their 99.9 %
    # k-NN distance quantile, i.e. about their largest) wrongly flags only about 1 % of normal samples
    return prepare(easy_image_text(n=1200), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)


@pytest.fixture(scope="module")
def attribute():
    return prepare(easy_image_text(), InjectionConfig("attribute", "1:1"), SplitConfig(), seed=0)


def test_cross_modal_swaps_are_found(cross):
    det = create_detector("tnbcl", FAST, random_state=0).fit(cross.train, cross.val)
    assert roc_auc_score(cross.test.anomaly, det.cross_modal_dissimilarity(cross.test)) > 0.95
    assert roc_auc_score(cross.test.anomaly, det.score(cross.test)) > 0.95


def test_top_branch_flags_noise_images(attribute):
    det = create_detector("tnbcl", {**FAST, "top_branch": "image"}, random_state=0).fit(attribute.train, attribute.val)
    assert det.top_modalities_ == ["image"]
    ratio = det.top_distance(attribute.test) / det.top_thresholds_["image"]
    np.testing.assert_allclose(ratio, det.top_ratio(attribute.test))
    noise = attribute.test.anomaly
    assert (ratio[noise] > 1).mean() > 0.9  # noise images are far from every normal image
    assert (ratio[~noise] <= 1).mean() > 0.9
    scores = det.score(attribute.test)
    assert scores[noise & (ratio > 1)].min() > scores[~(ratio > 1)].max()  # flagged rank above the rest


def test_top_branch_over_every_modality_flags_noise_text():
    """Mixed anomalies whose text is noise: the image is a real (swapped) image, so only a
    top branch over the text features can flag them; template captions repeat exactly, so the
    text threshold rests on its floor and stays finite."""
    base = easy_image_text()
    templates = np.random.default_rng(1).normal(size=(4, 16)).astype(np.float32)
    data = MultiModalData(
        {"image": base["image"], "text": templates[base.labels]}, dict(base.kinds), base.labels, name="tpl"
    )
    mixed = prepare(data, InjectionConfig("mixed", "1:1"), SplitConfig(), seed=0)
    det = create_detector("tnbcl", FAST, random_state=0).fit(mixed.train, mixed.val)
    text_norm = np.linalg.norm(det._encode(mixed.val, embed=False)[0]["text"], axis=1)
    assert det.top_modalities_ == ["image", "text"]
    assert det.top_thresholds_["text"] < 1.5 * TAU_FLOOR * text_norm.mean()  # zero quantile: the floor
    text_noise = mixed.test.anomaly & (np.abs(mixed.test["text"][:, None] - templates[None]).sum(-1).min(1) > 1e-6)
    assert text_noise.sum() > 10
    ratio = det.top_ratio(mixed.test)
    assert np.isfinite(ratio).all() and (ratio[text_noise] > 1).all()
    assert (ratio[~mixed.test.anomaly] <= 1).mean() > 0.95
    with pytest.raises(ValueError, match="not in the top branch"):
        create_detector("tnbcl", {**FAST, "top_branch": "image", "epochs": 1, "warmup_epochs": 0}).fit(
            mixed.train, mixed.val
        ).top_distance(mixed.test, "text")


@pytest.fixture(scope="module")
def small():
    return prepare(easy_image_text(n=240), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)


@pytest.mark.parametrize("loss", ["quintuple", "inter"])
@pytest.mark.parametrize("mining", ["printed", "hard", "active"])
def test_every_loss_and_mining_trains_without_nan(small, loss, mining):
    tiny = {"dim": 24, "depth": 1, "heads": 2, "embed_dim": 16, "stem": 8, "batch_size": 64}
    det = create_detector(
        "tnbcl", {**tiny, "loss": loss, "mining": mining, "epochs": 3, "warmup_epochs": 1}, random_state=0
    ).fit(small.train, small.val)
    assert np.isfinite(det.loss_history_).all() and len(det.loss_history_) == 3
    assert np.isfinite(det.score(small.test)).all()


def test_three_modalities(cross):
    three = prepare(easy_image_text(third=True), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)
    det = create_detector("tnbcl", FAST, random_state=0).fit(three.train, three.val)
    assert roc_auc_score(three.test.anomaly, det.score(three.test)) > 0.9


@pytest.mark.parametrize(
    "bad,match",
    [
        ({"loss": "triple"}, "loss must be"),
        ({"mining": "soft"}, "mining must be"),
        ({"dim": 50}, "divisible by heads"),
        ({"lr_schedule": "step"}, "lr_schedule must be"),
        ({"similarity": "l2"}, "similarity must be"),
        ({"top_branch": "text"}, "top_branch must be"),
    ],
)
def test_bad_parameters(cross, bad, match):
    with pytest.raises(ValueError, match=match):
        create_detector("tnbcl", bad).fit(cross.train)


def test_augmentation_keeps_shape_and_is_seeded():
    import torch

    from mmadbench.detectors.tnbcl.detector import augment_images

    x = torch.rand(5, 1, 12, 12)
    a = augment_images(x, 0.1, 10.0, torch.Generator().manual_seed(0))
    b = augment_images(x, 0.1, 10.0, torch.Generator().manual_seed(0))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, x)
    assert torch.allclose(augment_images(x, 0.0, 0.0, torch.Generator()), x, atol=1e-5)  # identity


def test_learning_rate_warms_up_then_decays():
    from mmadbench.detectors.tnbcl.detector import lr_factor

    assert lr_factor(0, 100, 10, "cosine") == pytest.approx(0.1)
    assert lr_factor(10, 100, 10, "cosine") == pytest.approx(1.0)
    assert lr_factor(99, 100, 10, "cosine") < 0.01
    assert lr_factor(99, 100, 10, "constant") == 1.0


def test_relative_similarity_finds_swaps(cross):
    params = {**FAST, "similarity": "relative", "augment_shift": 0.0, "augment_rotate": 0.0}
    det = create_detector("tnbcl", params, random_state=0).fit(cross.train, cross.val)
    assert roc_auc_score(cross.test.anomaly, det.score(cross.test)) > 0.95


def test_augmented_fit_on_larger_images_is_reproducible():
    small = easy_image_text(n=240)
    big = MultiModalData(
        {"image": np.kron(small["image"], np.ones((1, 1, 2, 2), np.float32)), "text": small["text"]},
        dict(small.kinds),
        small.labels,
        name="easy16",
    )  # 16x16: augmentation applies
    data = prepare(big, InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)
    params = {**FAST, "epochs": 2, "warmup_epochs": 1}
    a = create_detector("tnbcl", params, random_state=0).fit(data.train, data.val).score(data.test)
    b = create_detector("tnbcl", params, random_state=0).fit(data.train, data.val).score(data.test)
    assert np.array_equal(a, b) and np.isfinite(a).all()


def test_too_few_normal_references_and_empty_input(cross):
    few = cross.val.subset(cross.val.anomaly | ((~cross.val.anomaly).cumsum() <= 1))  # one normal sample
    params = {**FAST, "epochs": 1, "warmup_epochs": 0}
    with pytest.raises(ValueError, match="at least 2 normal reference samples"):
        create_detector("tnbcl", params, random_state=0).fit(cross.train, few)
    det = create_detector("tnbcl", params, random_state=0).fit(cross.train, cross.val)
    assert det.score(cross.test.subset(np.zeros(len(cross.test), bool))).shape == (0,)


def test_the_fast_transformer_block_computes_the_stock_layer():
    """networks.pre_norm_block uses the stock layer's weights in a batch-first layout: same outputs."""
    import torch

    from mmadbench.detectors.networks import ViTEncoder

    torch.manual_seed(0)
    enc = ViTEncoder((1, 12, 12), dim=24, depth=2, heads=4, stem=8).eval()
    x = torch.randn(8, 1, 12, 12)
    with torch.no_grad():
        tokens = enc.embed(enc.stem(x)).flatten(2).transpose(1, 2) + enc.pos
        stock = enc.norm(enc.blocks(tokens)).mean(dim=1)
        torch.testing.assert_close(enc(x), stock, rtol=1e-5, atol=1e-5)
