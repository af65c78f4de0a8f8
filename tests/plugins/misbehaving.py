"""Detectors that misbehave on purpose, for the runner's failure-isolation tests."""

import time

import numpy as np

from mmadbench import Detector, register_detector


class _Base(Detector):
    def __init__(self, seconds: float = 0.0) -> None:
        self.seconds = seconds

    def score(self, data):
        return np.linalg.norm(data[data.names[0]].reshape(len(data), -1), axis=1)


@register_detector
class Raiser(_Base):
    """Raises in fit."""

    name = "test-raiser"

    def fit(self, train, val=None):
        raise ValueError("this detector always fails")


@register_detector
class Sleeper(_Base):
    """Sleeps `seconds` in fit (past any sensible time limit)."""

    name = "test-sleeper"

    def fit(self, train, val=None):
        time.sleep(self.seconds or 60)
        self.done_ = True
        return self


@register_detector
class Hog(_Base):
    """Touches about 3 GB and holds it for a while."""

    name = "test-hog"

    def fit(self, train, val=None):
        self.block_ = np.ones(3 * 2**30 // 8)
        time.sleep(5)
        return self


@register_detector
class Huge(_Base):
    """Asks numpy for an impossible array (MemoryError at once)."""

    name = "test-huge"

    def fit(self, train, val=None):
        self.block_ = np.empty(2**62, dtype=np.uint8)
        return self


@register_detector
class Slow(_Base):
    """A correct detector that takes `seconds` to fit (for kill-and-resume tests)."""

    name = "test-slow"

    def fit(self, train, val=None):
        time.sleep(self.seconds)
        self.fitted_ = True
        return self
