"""Shared fixtures: a small synthetic two-modality set, a committed-style sweep folder, and an
isolated encoding cache."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mmadbench.datasets.data import MultiModalData
from mmadbench.testing import toy_data


def make_toy(n: int = 240, classes: int = 4, seed: int = 0, three: bool = False) -> MultiModalData:
    """Class-structured image (1x4x4) and text (8-d) modalities; optionally a third vector view
    (the conformance kit's generator, with more samples by default)."""
    return toy_data(n=n, classes=classes, seed=seed, three=three)


def write_sweep_folder(parent: Path, name: str, sweep: str, cells: list[dict]) -> Path:
    """A sweep folder as `mmadbench compare` reads it: its sweep file and its cells.csv."""
    folder = parent / name
    folder.mkdir()
    (folder / "sweep.toml").write_text(sweep)
    pd.DataFrame(cells).to_csv(folder / "cells.csv", index=False)
    return folder


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
    from mmadbench.detectors import registry

    monkeypatch.setattr(registry, "_REGISTERED", dict(registry._REGISTERED))
    monkeypatch.setattr(registry, "_PLUGIN_FILES", {k: list(v) for k, v in registry._PLUGIN_FILES.items()})
    return registry


def holm_by_hand(p: list[float]) -> list[float]:
    """Holm's step-down adjustment written out, independently of stats.holm: the k-th smallest p
    times (m - k + 1), kept monotone and capped at 1."""
    order = sorted(range(len(p)), key=lambda i: p[i])
    out, running = [0.0] * len(p), 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - rank) * p[i]))
        out[i] = running
    return out
