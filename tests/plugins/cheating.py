"""Detectors that try to read the answer or change their input; the harness must stop both."""

import numpy as np

from mmadbench import Detector, register_detector


@register_detector
class ReadsTheAnswer(Detector):
    """Scores each sample by its anomaly flag: AUC 1.0 if the harness let it see the truth."""

    name = "test-cheat"

    def __init__(self) -> None:
        pass

    def fit(self, train, val=None):
        return self

    def score(self, data):
        return data.anomaly


@register_detector
class WritesItsInput(Detector):
    """Zeroes its scoring input in place, which would change every later cell's data."""

    name = "test-writer"

    def __init__(self) -> None:
        pass

    def fit(self, train, val=None):
        return self

    def score(self, data):
        data[data.names[0]][:] = 0
        return np.zeros(len(data))
