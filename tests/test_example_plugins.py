"""The example plugins pass the public conformance kit, as a plugin author would test them."""

from __future__ import annotations

from pathlib import Path

import pytest

from mmadbench.testing import CHECKS, check_detector

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _mean_distance(registry, **params):
    registry.load_plugin_file(EXAMPLES / "plugin_mean_distance.py")  # the registry fixture keeps it private
    return registry.get_detector_class("mean-distance")(**params)


def test_the_mean_distance_example_passes_every_check(registry):
    check_detector(_mean_distance(registry))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_each_check_separately(registry, check):
    check(_mean_distance(registry, eps=1e-3))
