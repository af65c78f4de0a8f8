"""The two example plugins pass the public conformance kit, as a plugin author would test them:
the checks come from `mmadbench.testing` alone (the registry fixture only keeps the plugins'
names out of the other tests)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from mmadbench.testing import CHECKS, check_detector, toy_splits

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def _example(registry, file: str, name: str, **params):
    registry.load_plugin_file(EXAMPLES / file)
    return registry.get_detector_class(name)(**params)


def _mean_distance(registry, **params):
    return _example(registry, "plugin_mean_distance.py", "mean-distance", **params)


def _autoencoder(registry, **params):
    return _example(registry, "plugin_torch_autoencoder.py", "tiny-autoencoder", **{"epochs": 3, **params})


def test_the_mean_distance_example_passes_every_check(registry):
    check_detector(_mean_distance(registry))


def test_the_torch_example_passes_every_check(registry):
    check_detector(_autoencoder(registry, random_state=0))


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__)
def test_each_check_separately(registry, check):
    check(_mean_distance(registry, eps=1e-3))
    check(_autoencoder(registry, random_state=1, patience=2))


def test_the_torch_example_is_short(registry):
    assert len((EXAMPLES / "plugin_torch_autoencoder.py").read_text().splitlines()) < 80


def test_early_stopping_keeps_the_best_epoch(registry):
    splits = toy_splits()
    det = _autoencoder(registry, epochs=200, patience=2, lr=1e-2, random_state=0)
    det.fit(splits.train, splits.val.blind())
    history = det.val_loss_history_
    assert len(history) == len(det.loss_history_) < 200  # stopped early
    best = int(np.argmin(history))
    assert len(history) - 1 - best == 2  # two epochs without improvement, then stop
    assert det.n_epochs_ == len(history)


def test_early_stopping_with_a_loss_that_reports_per_sample_values(registry):
    """A batch loss may return (loss, {name: per-sample values}); early stopping still reads the loss."""
    splits = toy_splits()
    cls = type(_autoencoder(registry))

    class Reporting(cls):
        def _batch_loss(self, inputs, idx, epoch, gen):
            x = inputs[idx]
            error = (self.net_(x) - x).pow(2).mean(dim=1)
            return error.mean(), {"error": error}

    det = Reporting(epochs=5, patience=2, random_state=0).fit(splits.train, splits.val.blind())
    assert len(det.val_loss_history_) == len(det.metric_history_["error"]) > 0
