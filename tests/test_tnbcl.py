"""TN-BCL on a small, easy image-text set: swaps found, noise images flagged, every loss trains."""

from __future__ import annotations

import numpy as np
import pytest

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors import create_detector
from sklearn.metrics import roc_auc_score


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
    return prepare(easy_image_text(), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)


@pytest.fixture(scope="module")
def attribute():
    return prepare(easy_image_text(), InjectionConfig("attribute", "1:1"), SplitConfig(), seed=0)


def test_cross_modal_swaps_are_found(cross):
    det = create_detector("tnbcl", FAST, random_state=0).fit(cross.train, cross.val)
    assert roc_auc_score(cross.test.anomaly, det.cross_modal_dissimilarity(cross.test)) > 0.95
    assert roc_auc_score(cross.test.anomaly, det.score(cross.test)) > 0.95


def test_top_branch_flags_noise_images(attribute):
    det = create_detector("tnbcl", FAST, random_state=0).fit(attribute.train, attribute.val)
    ratio = det.top_distance(attribute.test) / det.top_threshold_
    noise = attribute.test.anomaly
    assert (ratio[noise] > 1).mean() > 0.9  # noise images are far from every normal image
    assert (ratio[~noise] <= 1).mean() > 0.9
    scores = det.score(attribute.test)
    assert scores[noise & (ratio > 1)].min() > scores[~(ratio > 1)].max()  # flagged rank above the rest


@pytest.mark.parametrize("loss", ["quintuple", "inter"])
@pytest.mark.parametrize("mining", ["printed", "hard"])
def test_every_loss_and_mining_trains_without_nan(cross, loss, mining):
    det = create_detector("tnbcl", {**FAST, "loss": loss, "mining": mining, "epochs": 3, "warmup_epochs": 1},
                          random_state=0).fit(cross.train, cross.val)
    assert np.isfinite(det.loss_history_).all() and len(det.loss_history_) == 3
    assert np.isfinite(det.score(cross.test)).all()


def test_three_modalities(cross):
    three = prepare(easy_image_text(third=True), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)
    det = create_detector("tnbcl", FAST, random_state=0).fit(three.train, three.val)
    assert roc_auc_score(three.test.anomaly, det.score(three.test)) > 0.9


@pytest.mark.parametrize("bad,match", [({"loss": "triple"}, "loss must be"), ({"mining": "soft"}, "mining must be"),
                                       ({"dim": 50}, "divisible by heads")])
def test_bad_parameters(cross, bad, match):
    with pytest.raises(ValueError, match=match):
        create_detector("tnbcl", bad).fit(cross.train)
