"""The pair-embedding baselines TBNN, CMAD and CMML: swaps found on a synthetic image-text set,
their losses and augmentation behave as the official code does, bad settings are refused."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import make_toy
from sklearn.metrics import roc_auc_score

from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.splits import InjectionConfig, SplitConfig, prepare
from mmadbench.detectors import create_detector
from mmadbench.detectors.cmml.loss import channel_augment, weighted_triplet
from mmadbench.detectors.networks import CNNEncoder, pair_encoder
from mmadbench.detectors.tbnn.loss import ranking_loss
from mmadbench.errors import MmadbenchError

SMALL_TBNN = {"epochs": 6, "hidden": 256, "embed_dim": 64, "lr": 1e-3}
SETTINGS = [
    ("tbnn", SMALL_TBNN),
    ("tbnn", {**SMALL_TBNN, "variant": "similarity", "batch_size": 32}),
    ("cmad", {"epochs": 6}),
    ("cmml", {"epochs": 6, "batch_size": 32}),
]


def rgb(data: MultiModalData) -> MultiModalData:
    """The same set with 3-channel images (each channel a differently scaled copy)."""
    image = data["image"] * np.array([1.0, 0.5, -0.5], np.float32)[None, :, None, None]
    return MultiModalData(
        {"image": image.astype(np.float32), "text": data["text"]}, data.kinds, data.labels, name="toy-rgb"
    )


@pytest.fixture(scope="module")
def cross():
    return prepare(make_toy(n=400), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)


@pytest.mark.parametrize("name,params", SETTINGS, ids=["tbnn", "tbnn-similarity", "cmad", "cmml"])
def test_cross_modal_swaps_are_found(cross, name, params):
    det = create_detector(name, params, random_state=0).fit(cross.train, cross.val)
    assert np.isfinite(det.loss_history_).all() and det.n_epochs_ == params["epochs"]
    assert roc_auc_score(cross.test.anomaly, det.score(cross.test)) > 0.9


def test_cmml_augments_rgb_images_only(cross):
    grey = create_detector("cmml", {"epochs": 1}, random_state=0).fit(cross.train)
    assert grey.rgb_ == []
    colour = prepare(rgb(make_toy(n=400)), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)
    det = create_detector("cmml", {"epochs": 6, "batch_size": 32}, random_state=0).fit(colour.train)
    assert det.rgb_ == ["image"]
    assert roc_auc_score(colour.test.anomaly, det.score(colour.test)) > 0.9


def test_channel_augment_copies_a_channel_greys_or_keeps():
    torch.manual_seed(0)
    x = torch.randn(200, 3, 5, 5)
    out = channel_augment(x.clone())
    assert out.shape == x.shape
    grey = 0.2989 * x[:, 0] + 0.5870 * x[:, 1] + 0.1140 * x[:, 2]
    kinds = []
    for i in range(len(x)):
        same = [c for c in range(3) if torch.equal(out[i], x[i, c].expand(3, -1, -1))]
        kinds.append(
            "channel"
            if same
            else "grey"
            if torch.allclose(out[i], grey[i].expand(3, -1, -1))
            else "kept"
            if torch.equal(out[i], x[i])
            else "other"
        )
    assert "other" not in kinds and {"channel", "grey", "kept"} == set(kinds)
    assert 0.6 < kinds.count("channel") / len(kinds) < 0.9  # 3 of 4 draws


def test_weighted_triplet_prefers_separated_classes():
    labels = torch.arange(40) % 4
    centres = torch.eye(4, 8) * 5
    separated = centres[labels] + 0.1 * torch.randn(40, 8, generator=torch.Generator().manual_seed(0))
    mixed = torch.randn(40, 8, generator=torch.Generator().manual_seed(1))
    assert weighted_triplet(separated, labels, 1.0, 1.0) < 0.1 < weighted_triplet(mixed, labels, 1.0, 1.0)


def test_ranking_loss_is_zero_when_pairs_match_and_classes_part():
    labels = torch.arange(20) % 4
    emb = torch.nn.functional.normalize(torch.eye(4, 16)[labels], dim=1)
    assert float(ranking_loss(emb, emb, labels, 0.05, 1.5, 0.05, 10)) == pytest.approx(0.0, abs=1e-6)
    swapped = emb[torch.roll(torch.arange(20), 1)]  # every y paired with another class's x
    assert float(ranking_loss(swapped, emb, labels, 0.05, 1.5, 0.05, 10)) > 0.5


def test_cmad_ignores_class_labels(cross):
    train = cross.train
    shuffled = MultiModalData(dict(train.modalities), train.kinds, np.random.default_rng(0).permutation(train.labels))
    a = create_detector("cmad", {"epochs": 2}, random_state=3).fit(train).score(cross.test)
    b = create_detector("cmad", {"epochs": 2}, random_state=3).fit(shuffled).score(cross.test)
    np.testing.assert_array_equal(a, b)


def test_vit_image_encoder_option(cross):
    det = create_detector("cmad", {"epochs": 1, "image_encoder": "vit"}, random_state=0).fit(cross.train)
    assert np.isfinite(det.score(cross.test)).all()


@pytest.mark.parametrize("shape", [(1, 4, 4), (1, 1, 1), (3, 32, 32), (1, 28, 28)])
def test_cnn_encoder_handles_small_and_large_grids(shape):
    enc = CNNEncoder(shape, out_dim=24).eval()
    assert enc(torch.zeros(2, *shape)).shape == (2, 24)
    assert pair_encoder("text", (384,), 24)(torch.zeros(2, 384)).shape == (2, 24)


def test_pairs_only(cross):
    three = prepare(make_toy(n=160, three=True), InjectionConfig("cross_modal", "1:1"), SplitConfig(), seed=0)
    for name in ("tbnn", "cmad", "cmml"):
        with pytest.raises(MmadbenchError, match="at most 2 modalities"):
            create_detector(name, {"epochs": 1}).fit(three.train)


@pytest.mark.parametrize(
    "name,bad,match",
    [
        ("tbnn", {"variant": "cosine"}, "variant must be"),
        ("tbnn", {"top_k": 0}, "top_k must be"),
        ("tbnn", {"dropout": 1.0}, "dropout must"),
        ("cmad", {"k": 0}, "k must be"),
        ("cmad", {"margin": -1.0}, "margin must be"),
        ("cmml", {"alpha": 0.0}, "alpha must be"),
        ("cmml", {"epochs": 0}, "epochs must be"),
        ("cmml", {"image_encoder": "resnet"}, "image_encoder must be"),
        ("cmad", {"batch_size": 1}, "batch_size must be"),
    ],
)
def test_bad_parameters(cross, name, bad, match):
    with pytest.raises(ValueError, match=match):
        create_detector(name, bad).fit(cross.train)
