"""The MultiModalData container rejects inconsistent input with one clear message."""

import numpy as np
import pytest

from mmadbench.datasets.data import MultiModalData
from mmadbench.errors import DataError


def _mods(n_img=10, n_txt=10):
    return {"image": np.zeros((n_img, 1, 2, 2), np.float32), "text": np.zeros((n_txt, 3), np.float32)}


KINDS = {"image": "image", "text": "text"}


def test_length_mismatch_names_the_modality():
    with pytest.raises(DataError, match="modality 'text' has 9 samples but there are 10 labels"):
        MultiModalData(_mods(10, 9), KINDS, np.zeros(10))


def test_nan_rejected():
    mods = _mods()
    mods["text"][3, 1] = np.nan
    with pytest.raises(DataError, match="NaN or infinite values in 1 samples"):
        MultiModalData(mods, KINDS, np.zeros(10))


def test_one_modality_allowed_none_rejected():
    """One modality is valid data (a modality ablation); detectors that need two say so themselves."""
    assert MultiModalData({"text": np.zeros((3, 2))}, {"text": "text"}, np.zeros(3)).names == ("text",)
    with pytest.raises(DataError, match="at least one modality"):
        MultiModalData({}, {}, np.zeros(3))


def test_image_must_be_4d():
    mods = _mods()
    mods["image"] = np.zeros((10, 4), np.float32)
    with pytest.raises(DataError, match="image modality 'image' must have 4 dimensions"):
        MultiModalData(mods, KINDS, np.zeros(10))


def test_subset_and_immutability(toy):
    sub = toy.subset(np.arange(5))
    assert len(sub) == 5 and sub.names == toy.names and sub.kinds == toy.kinds
    with pytest.raises(TypeError):
        toy.modalities["x"] = np.zeros((len(toy), 2))  # read-only mapping
    one_kind = toy.select_modalities(["text", "image"])
    assert one_kind.names == ("text", "image") and one_kind.kinds == {"text": "text", "image": "image"}
    with pytest.raises(DataError, match="no modality"):
        toy.select_modalities(["image", "audio"])
