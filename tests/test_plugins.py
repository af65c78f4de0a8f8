"""Detectors register by decorator, by a plugin file, and by the entry-point group."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from mmadbench.detectors import base
from mmadbench.errors import MmadbenchError, RegistryError

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "plugin_mean_distance.py"

PLUGIN = """
import numpy as np
from mmadbench import Detector, register_detector

{decorator}
class {cls}(Detector):
    \"\"\"Scores every sample by the norm of its first modality.\"\"\"
    name = "{name}"

    def __init__(self, scale: float = 1.0):
        self.scale = scale

    def fit(self, train, val=None):
        self.n_ = len(train)
        return self

    def score(self, data):
        first = data[data.names[0]].reshape(len(data), -1)
        return self.scale * np.linalg.norm(first, axis=1)
"""


def test_plugin_file_registers(registry, tmp_path):
    path = tmp_path / "my_plugin.py"
    path.write_text(PLUGIN.format(decorator="@register_detector", cls="Norm", name="norm-plugin"))
    assert registry.load_plugin_file(path) == ["norm-plugin"]
    det = registry.create_detector("norm-plugin", {"scale": 2.0})
    assert det.get_params() == {"scale": 2.0}


def test_example_plugin_loads(registry):
    assert registry.load_plugin_file(EXAMPLE) == ["mean-distance"]


def test_plugin_file_errors(registry, tmp_path):
    with pytest.raises(MmadbenchError, match="does not exist"):
        registry.load_plugin_file(tmp_path / "missing.py")
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    with pytest.raises(MmadbenchError, match="registered no detector"):
        registry.load_plugin_file(empty)
    broken = tmp_path / "broken.py"
    broken.write_text("import not_a_module_anywhere\n")
    with pytest.raises(MmadbenchError, match="failed to import: ModuleNotFoundError"):
        registry.load_plugin_file(broken)


def test_entry_point_plugin(registry, tmp_path, monkeypatch):
    (tmp_path / "ep_plugin_mod.py").write_text(PLUGIN.format(decorator="", cls="EpNorm", name="unused"))
    info = tmp_path / "ep_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: ep-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[mmadbench.detectors]\nep-norm = ep_plugin_mod:EpNorm\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "ep-norm" in registry.list_detectors()
        assert registry.create_detector("ep-norm").fit is not None
    finally:
        sys.modules.pop("ep_plugin_mod", None)


def test_unknown_and_duplicate_names(registry):
    with pytest.raises(RegistryError, match="unknown detector 'iforst'; did you mean"):
        registry.get_detector_class("iforst")

    class Clash(base.Detector):
        name = "iforest"

        def fit(self, train, val=None):
            return self

        def score(self, data):
            return data.labels * 0.0

    with pytest.raises(RegistryError, match="already registered"):
        registry.register_detector(Clash)


def test_unknown_parameter(registry):
    with pytest.raises(MmadbenchError, match="has no parameter"):
        registry.create_detector("knn", {"n_neighbours": 3})
