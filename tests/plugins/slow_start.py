"""A plugin whose import takes seconds (as a heavy library's would): a worker's start-up must not
count against a cell's time limit."""

import time

import numpy as np

from mmadbench import Detector, register_detector

time.sleep(6)


@register_detector
class Quick(Detector):
    """Fits at once; scores by the first modality's norm."""

    name = "test-quick"

    def __init__(self) -> None:
        pass

    def fit(self, train, val=None):
        self.fitted_ = True
        return self

    def score(self, data):
        return np.linalg.norm(data[data.names[0]].reshape(len(data), -1), axis=1)
