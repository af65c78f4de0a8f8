"""Shared fixtures: a small synthetic two-modality set, and an isolated encoding cache."""

from __future__ import annotations

import numpy as np
import pytest

from mmadbench.datasets.data import MultiModalData


def make_toy(n: int = 240, classes: int = 4, seed: int = 0, three: bool = False) -> MultiModalData:
    """Class-structured image (1x4x4) and text (8-d) modalities; optionally a third vector view."""
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % classes
    img_proto = rng.normal(size=(classes, 1, 4, 4))
    txt_proto = rng.normal(size=(classes, 8)) * 3
    mods = {
        "image": (img_proto[labels] + 0.1 * rng.normal(size=(n, 1, 4, 4))).astype(np.float32),
        "text": (txt_proto[labels] + 0.1 * rng.normal(size=(n, 8))).astype(np.float32),
    }
    kinds = {"image": "image", "text": "text"}
    if three:
        mods["view"] = (rng.normal(size=(classes, 5))[labels] + 0.1 * rng.normal(size=(n, 5))).astype(np.float32)
        kinds["view"] = "vector"
    return MultiModalData(mods, kinds, labels, name="toy")


@pytest.fixture
def toy() -> MultiModalData:
    return make_toy()


@pytest.fixture(scope="session", autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Tests never touch the user's cache; the text encoder runs at most once per session."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MMADBENCH_CACHE", str(tmp_path_factory.mktemp("cache")))
    yield
    mp.undo()


@pytest.fixture
def registry(monkeypatch):
    """A private copy of the detector registry, so plugins added in a test do not leak."""
    from mmadbench.detectors import base

    base.list_detectors()
    monkeypatch.setattr(base, "_REGISTRY", dict(base._REGISTRY))
    return base
