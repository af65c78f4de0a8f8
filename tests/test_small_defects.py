"""Small defects carried over from earlier notes: an all-False missing mask, channels-last
images, an unreadable WAV's message, MODDIS's self-match rule, a plugin without __init__, and
the memory layout a detector sees."""

from __future__ import annotations

import numpy as np
import pytest

from mmadbench.datasets.audio import read_wav
from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import DataError
from mmadbench.testing import toy_data


def test_an_all_false_missing_mask_lacks_nothing():
    data = toy_data(n=20)
    masked = MultiModalData(dict(data.modalities), dict(data.kinds), data.labels, missing={"text": np.zeros(20, bool)})
    assert not masked.has_missing
    one = np.zeros(20, bool)
    one[3] = True
    assert MultiModalData(dict(data.modalities), dict(data.kinds), data.labels, missing={"text": one}).has_missing


def test_channels_last_images_stop_with_a_message_naming_n_c_h_w():
    images = np.zeros((10, 8, 8, 1), np.float32)
    with pytest.raises(DataError, match=r"looks like \(N, H, W, C\) = \(10, 8, 8, 1\).*must be \(N, C, H, W\)"):
        MultiModalData(
            {"image": images, "text": np.zeros((10, 4), np.float32)},
            {"image": "image", "text": "text"},
            np.zeros(10, int),
        )
    MultiModalData({"image": images.transpose(0, 3, 1, 2), "text": np.zeros((10, 4), np.float32)}, {"image": "image", "text": "text"}, np.zeros(10, int))  # fmt: skip


def test_every_modality_is_stored_c_contiguous_whatever_its_layout():
    audio = np.random.default_rng(0).normal(size=(12, 1, 30, 16)).astype(np.float32).transpose(0, 1, 3, 2)
    assert not audio.flags["C_CONTIGUOUS"]
    data = MultiModalData({"audio": audio, "v": np.zeros((12, 3), np.float32)}, {"audio": "audio", "v": "vector"}, np.zeros(12, int))  # fmt: skip
    assert data["audio"].flags["C_CONTIGUOUS"] and np.array_equal(data["audio"], audio)
    assert data.subset(np.arange(5))["audio"].flags["C_CONTIGUOUS"]


@pytest.mark.parametrize("content", [b"", b"RIFF"])
def test_an_unreadable_wav_says_what_is_wrong(tmp_path, content):
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(DataError) as err:
        read_wav(path)
    message = str(err.value)
    assert not message.endswith("()") and "not a readable WAV file (" in message
    assert message.split("(", 1)[1].strip(") ")


def test_moddis_counts_a_training_duplicate_as_a_neighbour():
    from mmadbench.detectors.moddis.detector import MODDIS

    det = MODDIS(**{**MODDIS.test_params, "k": 1}, random_state=0)
    splits = __import__("mmadbench.testing", fromlist=["toy_splits"]).toy_splits()
    det.fit(splits.train.blind(), None)
    codes = det.train_codes_[0][:5]
    assert np.allclose(det._knn_distance(0, codes), 0.0)  # its own training code is its nearest neighbour


def test_the_kit_says_first_when_a_plugin_has_no_init():
    from mmadbench import Detector
    from mmadbench.testing import check_detector

    class NoInit(Detector):
        name = "no-init"

        def fit(self, train, val=None):
            return self

        def score(self, data):
            return np.zeros(len(data))

    with pytest.raises(AssertionError, match="fails check_own_constructor: NoInit defines no __init__ of its own"):
        check_detector(NoInit())
    with pytest.raises(TypeError, match="defines no __init__ of its own"):
        NoInit.param_names()
