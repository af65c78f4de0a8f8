"""Train once, score many: a deep detector's network is reused across cells with the same training
data, and a reused fit gives exactly the numbers of a fresh one."""

from __future__ import annotations

import sqlite3
from types import SimpleNamespace

import numpy as np
import pytest

from mmadbench.benchmark.execution.executors import _next_cell
from mmadbench.benchmark.execution.runner import run_sweep
from mmadbench.benchmark.measure.cell import DataCache, expand
from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.detectors.registry import create_detector, get_detector_class
from mmadbench.detectors.trained_cache import Slot, use_slot
from mmadbench.testing import toy_splits

DEEP = ["tnbcl", "tbnn", "cmad", "cmml", "moddis", "cae_occ"]


def _fit_score(name: str, splits, folder=None, key=None):
    params = dict(get_detector_class(name).test_params)
    det = create_detector(name, params, random_state=3, device="cpu")
    with use_slot(folder, key):
        det.fit(splits.train, splits.val)
    return det, det.score(splits.test.blind())


@pytest.mark.parametrize("name", DEEP)
def test_a_reused_training_scores_exactly_as_a_fresh_one(name, tmp_path):
    splits = toy_splits()
    fresh, expected = _fit_score(name, splits)
    stored, first = _fit_score(name, splits, tmp_path, "k")
    assert (tmp_path / "k.pt").is_file() and not stored.training_reused_ and not fresh.training_reused_
    reused, again = _fit_score(name, splits, tmp_path, "k")
    assert reused.training_reused_
    np.testing.assert_array_equal(first, expected)
    np.testing.assert_array_equal(again, expected)
    assert reused.loss_history_ == fresh.loss_history_ and reused.n_epochs_ == fresh.n_epochs_


def test_an_unreadable_stored_training_is_trained_again(tmp_path):
    (tmp_path / "k.pt").write_bytes(b"half a file")
    assert Slot(tmp_path, "k").load() is None
    det, _ = _fit_score("cmad", toy_splits(), tmp_path, "k")
    assert not det.training_reused_ and Slot(tmp_path, "k").load() is not None


def test_a_stored_training_that_does_not_fit_the_network_is_trained_afresh(tmp_path):
    splits = toy_splits()
    _, expected = _fit_score("cmad", splits)
    bad = Slot(tmp_path, "k")
    bad.save({"net": {"no such layer": __import__("torch").zeros(1)}, "histories": {}})
    det, scores = _fit_score("cmad", splits, tmp_path, "k")
    assert not det.training_reused_
    np.testing.assert_array_equal(scores, expected)


def test_the_slot_serves_one_fit_and_only_detectors_that_declare_reuse(tmp_path, monkeypatch):
    splits = toy_splits()
    with use_slot(tmp_path, "k"):
        first = create_detector("cmad", {"epochs": 2}, random_state=0, device="cpu").fit(splits.train)
        second = create_detector("cmad", {"epochs": 2}, random_state=0, device="cpu").fit(splits.train)
    assert not first.training_reused_ and not second.training_reused_  # the inner fit got no slot
    assert [p.name for p in tmp_path.iterdir()] == ["k.pt"]
    monkeypatch.setattr(get_detector_class("cmad"), "reusable_training", False)  # as a plugin by default
    det, _ = _fit_score("cmad", splits, tmp_path, "k")
    assert not det.training_reused_


def test_early_stopping_on_validation_never_reuses(tmp_path):
    splits = toy_splits()
    for _ in range(2):
        det = create_detector("cmad", {"epochs": 2}, random_state=0, device="cpu")
        det.patience = 1  # as a detector that declares early stopping has it
        with use_slot(tmp_path, "k"):
            det.fit(splits.train, splits.val)
        assert not det.training_reused_
    assert not (tmp_path / "k.pt").exists()


SWEEP = """
name = "reuse"
seeds = [0, 1]
device = "cpu"
[[datasets]]
name = "digits"
[anomalies]
types = ["cross_modal", "all"]
ratios = ["9:1", "1:1"]
[[detectors]]
name = "cmad"
params = { epochs = 2 }
[[detectors]]
name = "cmad"
display_name = "cmad wide"
params = { epochs = 2, embed_dim = 32 }
"""


def test_training_key_ignores_only_what_changes_validation_and_test():
    cells = expand(parse_sweep(SWEEP), DataCache(None))
    groups: dict[str, set] = {}
    for c in cells:
        groups.setdefault(c.training_key, set()).add((c.seed, c.detector.display))
    assert len(groups) == 4  # 2 seeds x 2 parameter sets; each trains once for 4 settings
    assert all(len(members) == 1 for members in groups.values())


def test_a_sweep_trains_once_per_key_and_matches_a_sweep_without_reuse(tmp_path):
    config = parse_sweep(SWEEP.replace("seeds = [0, 1]", "seeds = [0]"))
    with_reuse = run_sweep(config, out=tmp_path / "a")
    without = run_sweep(config, out=tmp_path / "b", reuse_training=False)
    assert with_reuse.ran == without.ran == 8

    def rows(folder):
        with sqlite3.connect(folder / "results.sqlite") as con:
            query = "select display_name, anomaly_type, ratio, auc, val_auc, fit_reused from cells"
            return {r[:3]: r[3:] for r in con.execute(query)}

    a, b = rows(with_reuse.out), rows(without.out)
    assert {k: v[:2] for k, v in a.items()} == {k: v[:2] for k, v in b.items()}
    assert sum(v[2] for v in a.values()) == 6 and sum(v[2] for v in b.values()) == 0
    assert len(list((with_reuse.out / "trained").glob("*.pt"))) == 2
    again = run_sweep(config, out=tmp_path / "a", rerun=True)  # a re-run trains afresh
    assert sum(v[2] for v in rows(again.out).values()) == 6


def test_a_worker_never_starts_a_training_another_worker_is_running():
    cell = lambda data, train: SimpleNamespace(data_key=data, training_key=train)  # noqa: E731
    running = SimpleNamespace(cell=cell("d1", "t1"), last_key="d1")
    idle = SimpleNamespace(cell=None, last_key="d1")
    queue = __import__("collections").deque([cell("d1", "t1"), cell("d2", "t1"), cell("d1", "t2")])
    chosen = _next_cell(queue, idle, [running, idle])
    assert chosen.training_key == "t2" and len(queue) == 2
