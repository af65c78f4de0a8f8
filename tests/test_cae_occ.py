"""The CAE multimodal one-class classifier (`cae_occ`): training, threshold, variants, errors."""

from __future__ import annotations

import logging

import numpy as np
import pytest
import torch
from conftest import make_toy

from mmadbench.datasets.data import MultiModalData
from mmadbench.detectors import create_detector
from mmadbench.detectors.cae_occ.loss import diversity_penalty

FAST = {"input_size": 16, "epochs": 2}  # small settings where the test is not about them


@pytest.fixture(scope="module")
def toy() -> MultiModalData:
    return make_toy(n=96)


def two_images(n: int = 64, channels: tuple[int, int] = (1, 1), seed: int = 0) -> MultiModalData:
    """Two image views (e.g. two camera angles), as in the paper's FIN-Benthic setting."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % 2
    mods = {
        "left": rng.random((n, channels[0], 12, 12)).astype(np.float32),
        "right": rng.random((n, channels[1], 10, 14)).astype(np.float32),
    }
    return MultiModalData(mods, {"left": "image", "right": "image"}, labels, name="two-images")


def test_latent_norm_of_training_data_falls_over_training(toy):
    """The mean ||phi|| of the training batches (what Eq. 3 shrinks) falls epoch after epoch."""
    det = create_detector("cae_occ", {"epochs": 5, "input_size": 16}, random_state=0).fit(toy)
    norms = det.metric_history_["latent_norm"]
    assert det.n_epochs_ == 5 and len(norms) == 5 and len(det.loss_history_) == 5
    assert all(b < a for a, b in zip(norms, norms[1:])) and norms[-1] < 0.85 * norms[0]
    assert det.loss_history_[-1] < det.loss_history_[0]


def test_threshold_is_95th_percentile_of_training_scores(toy):
    det = create_detector("cae_occ", FAST, random_state=0).fit(toy)
    assert det.threshold_ == pytest.approx(np.percentile(det.score(toy), 95), rel=1e-9)


def test_score_is_norm_of_joint_latent(toy):
    det = create_detector("cae_occ", FAST, random_state=0).fit(toy)
    phi = det.latent(toy)
    assert phi.shape == (len(toy), 16 * 2 * 2 + 16)  # 16 x (16/8)^2 image code + 16-d text code
    np.testing.assert_allclose(det.score(toy), np.linalg.norm(phi, axis=1))


@pytest.mark.parametrize(("views", "used"), [("left", "image"), ("right", "text")])
def test_unimodal_views_use_one_modality_and_ignore_the_other(toy, views, used):
    det = create_detector("cae_occ", {**FAST, "views": views}, random_state=0).fit(toy)
    assert det.views_ == [used]
    other = next(m for m in toy.names if m != used)
    changed = MultiModalData({used: toy[used], other: toy[other] * 5 + 1}, dict(toy.kinds), toy.labels)
    np.testing.assert_array_equal(det.score(changed), det.score(toy))


def test_two_images_share_encoder_and_decoder():
    data = two_images()
    det = create_detector("cae_occ", FAST, random_state=0).fit(data)
    assert det.shared_weights_ and len(det.net_.encoders) == 1 and len(det.net_.decoders) == 1
    separate = create_detector("cae_occ", {**FAST, "shared_weights": False}, random_state=0).fit(data)
    assert not separate.shared_weights_ and len(separate.net_.encoders) == 2
    assert np.isfinite(det.score(data)).all()


@pytest.mark.parametrize("data", [make_toy(n=64), two_images(channels=(1, 3))], ids=["image+text", "1ch+3ch"])
def test_shared_weights_off_for_unlike_views_says_so(data, caplog):
    with caplog.at_level(logging.DEBUG, logger="mmadbench.detectors.cae_occ"):
        det = create_detector("cae_occ", FAST, random_state=0).fit(data)
    assert not det.shared_weights_ and len(det.net_.encoders) == 2
    assert "shared-weight option is off" in caplog.text


def test_spectrogram_and_vector_views():
    rng = np.random.default_rng(1)
    n = 48
    mods = {
        "image": rng.random((n, 1, 8, 8)).astype(np.float32),
        "audio": rng.random((n, 1, 20, 30)).astype(np.float32),
        "vec": rng.normal(size=(n, 5)).astype(np.float32),
    }
    data = MultiModalData(mods, {"image": "image", "audio": "audio", "vec": "vector"}, np.zeros(n, int))
    det = create_detector("cae_occ", FAST, random_state=0).fit(data)  # one class only in training
    assert det.specs_["audio"].conv and not det.specs_["vec"].conv
    assert det.net_.route["image"] == det.net_.route["audio"] != det.net_.route["vec"]
    assert det.score(data).shape == (n,)


@pytest.mark.parametrize("size", [32, 64])
def test_input_size_sets_latent_resolution(toy, size):
    det = create_detector("cae_occ", {"input_size": size, "epochs": 1, "views": "left"}, random_state=0).fit(toy)
    assert det.latent(toy).shape[1] == 16 * (size // 8) ** 2


@pytest.mark.parametrize("reg", ["direct", "det", "logdet"])
def test_diversity_regularisers_train(toy, reg):
    det = create_detector("cae_occ", {**FAST, "regularizer": reg, "reg_weight": 1.0}, random_state=0).fit(toy)
    assert np.isfinite(det.loss_history_).all() and np.isfinite(det.score(toy)).all()


def test_diversity_penalty_values():
    same = torch.ones(8, 4, 3, 3)  # four identical units
    apart = torch.zeros(8, 4, 3, 3)
    for n in range(4):
        apart[:, n] = 10.0 * n  # units far apart: similarities ~0
    assert float(diversity_penalty(same, "direct", 1.0)) == pytest.approx(12.0)  # 4 x 3 off-diagonal ones
    assert float(diversity_penalty(apart, "direct", 1.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(diversity_penalty(same, "det", 1.0)) == pytest.approx(0.0, abs=1e-6)
    assert float(diversity_penalty(apart, "det", 1.0)) == pytest.approx(-1.0)
    assert np.isfinite(float(diversity_penalty(same, "logdet", 1.0)))
    assert float(diversity_penalty(apart, "logdet", 1.0)) == pytest.approx(-4 * np.log1p(1e-3), abs=1e-5)
    dense = torch.randn(16, 6, requires_grad=True)  # MLP units [batch, units]
    diversity_penalty(dense, "logdet", 1.0).backward()
    assert torch.isfinite(dense.grad).all()


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"views": "middle"}, "views"),
        ({"input_size": 20}, "input_size"),
        ({"filters": ()}, "filters"),
        ({"dropout": 1.0}, "dropout"),
        ({"epochs": 0}, "epochs"),
        ({"batch_size": 1}, "batch_size"),
        ({"lr": 0}, "lr"),
        ({"regularizer": "l2"}, "regularizer"),
        ({"reg_gamma": 0}, "reg_gamma"),
        ({"weight_decay": -1}, "weight_decay"),
        ({"shared_weights": "yes"}, "shared_weights"),
    ],
)
def test_bad_parameters_are_named(toy, params, name):
    with pytest.raises(ValueError, match=name):
        create_detector("cae_occ", params).fit(toy)


def test_filters_list_is_stored_as_tuple():
    det = create_detector("cae_occ", {"filters": [8, 4, 2]})
    assert det.filters == (8, 4, 2)
