"""Every real dataset loads from ../shared/data (shapes, label counts, class balance as its README says)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mmadbench.datasets import load_dataset

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
ROOT = Path(os.environ.get("MMADBENCH_DATA") or SHARED)

pytestmark = pytest.mark.skipif(
    not (ROOT / "README.md").is_file(), reason=f"real data not found at {ROOT} (set MMADBENCH_DATA to a data root)"
)

MNIST_TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]  # the published t10k split


def test_mnist_test_split():
    d = load_dataset("mnist", ROOT)
    assert d["image"].shape == (10000, 1, 28, 28) and d["text"].shape == (10000, 384)
    assert np.bincount(d.labels).tolist() == MNIST_TEST_COUNTS
    assert 0 <= d["image"].min() and d["image"].max() <= 1


def test_mnist_root_from_environment(monkeypatch):
    monkeypatch.setenv("MMADBENCH_DATA", str(ROOT))
    assert len(load_dataset("mnist", max_per_class=5)) == 50


def test_cifar10_image_folder():
    d = load_dataset("cifar10-folder", ROOT)
    assert d["image"].shape == (10000, 3, 32, 32)
    assert np.bincount(d.labels).tolist() == [1000] * 10
    assert d.meta["classes"][0] == "airplane" and d.meta["classes"][-1] == "truck"


def test_audio_visual_digits_pair_each_image_once():
    d = load_dataset("av-digits", ROOT)
    digits = load_dataset("digits")
    n = len(digits)  # 1,797: fewer images than the 3,000 recordings, so only as many pairs
    assert d["audio"].shape == (n, 1, 64, 97) and d["image"].shape == (n, 1, 8, 8)
    assert np.bincount(d.labels).tolist() == np.bincount(digits.labels).tolist()
    assert set(np.unique(d.extras["speaker"])) == {"jackson", "nicolas", "theo", "yweweler", "george", "lucas"}
    # no image appears twice, so none can be in two splits
    assert len(np.unique(d["image"].reshape(n, -1), axis=0)) == len(np.unique(digits["image"].reshape(n, -1), axis=0))
    # each voice is paired with a picture of the same digit: images of one digit look alike
    img = d["image"].reshape(n, -1)
    centroids = np.stack([img[d.labels == c].mean(0) for c in range(10)])
    nearest = np.argmin(((img[:, None] - centroids[None]) ** 2).sum(-1), axis=1)
    assert (nearest == d.labels).mean() > 0.8


def test_av_digits_with_mnist_images_keeps_every_recording():
    d = load_dataset("av-digits", ROOT, images="mnist")
    assert d["image"].shape == (3000, 1, 28, 28)
    assert np.bincount(d.labels).tolist() == [300] * 10
    speakers, counts = np.unique(d.extras["speaker"], return_counts=True)
    assert len(speakers) == 6 and set(counts) == {500}


@pytest.mark.parametrize(
    "views,shapes",
    [
        (["pix", "fou"], [(1, 16, 15), (76,)]),
        (["fac", "kar", "zer"], [(216,), (64,), (47,)]),
        (["pix", "mor"], [(1, 16, 15), (6,)]),
    ],
)
def test_mfeat_views(views, shapes):
    d = load_dataset("mfeat", ROOT, views=views)
    assert [d[v].shape[1:] for v in views] == shapes
    assert np.bincount(d.labels).tolist() == [200] * 10
    assert (np.diff(d.labels) >= 0).all()  # class order, as the README says


def test_mfeat_pix_as_vector():
    d = load_dataset("mfeat", ROOT, views=["pix", "fou"], pix_as_image=False)
    assert d.kinds["pix"] == "vector" and d["pix"].shape == (2000, 240)


def test_two_modality_detector_is_skipped_on_three_views(tmp_path, registry):
    from mmadbench.benchmark.execution.runner import run_sweep
    from mmadbench.benchmark.execution.store import ResultsStore
    from mmadbench.benchmark.measure.config import parse_sweep
    from mmadbench.detectors import Capabilities, Detector, register_detector

    @register_detector
    class PairsOnly(Detector):
        """Defined on two modalities only."""

        name = "test-pairs-only"
        capabilities = Capabilities(max_modalities=2)

        def fit(self, train, val=None):
            self.n_ = len(train)
            return self

        def score(self, data):
            return np.zeros(len(data))

    sweep = parse_sweep(
        'name = "three"\ndevice = "cpu"\n[[datasets]]\nname = "mfeat"\n'
        'options = { views = ["pix", "fou", "kar"] }\n[anomalies]\ntypes = ["all"]\n'
        '[[detectors]]\nname = "test-pairs-only"\n[[detectors]]\nname = "knn"\n'
    )
    summary = run_sweep(sweep, out=tmp_path, data_root=ROOT)
    with ResultsStore(summary.out) as store:
        rows = store.frame().set_index("display_name")
    assert rows.loc["test-pairs-only", "status"] == "skipped"
    assert "at most 2 modalities" in rows.loc["test-pairs-only", "error"]
    assert rows.loc["knn", "status"] == "ok" and summary.failed == 0
