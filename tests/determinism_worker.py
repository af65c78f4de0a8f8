"""Run by tests/test_determinism.py in a fresh process: fit every built-in detector (at its test
parameters) on each modality kind the harness has, with the feature cache the environment names,
and print a hash of each detector's test scores as JSON.

Usage: python tests/determinism_worker.py DATA_ROOT   (MMADBENCH_CACHE set by the caller)
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

import numpy as np

from mmadbench.benchmark.measure.cell import thread_limit
from mmadbench.benchmark.measure.evaluate import Shuffler, fit, fit_views, score
from mmadbench.datasets.registry import load_dataset
from mmadbench.datasets.splits import InjectionConfig, SplitConfig
from mmadbench.detectors.registry import create_detector, get_detector_class, list_detectors

SAMPLES = 240  # per dataset, stratified by class order: enough for every detector's test parameters


def _subset(data):
    """The first SAMPLES // classes samples of every class, in stored order."""
    classes = np.unique(data.labels)
    per = SAMPLES // len(classes)
    return data.subset(np.sort(np.concatenate([np.flatnonzero(data.labels == c)[:per] for c in classes])))


def datasets(root: Path) -> dict[str, object]:
    """One dataset per modality kind: image + text embedding (digits, MiniLM encodings cached),
    spectrogram + image (audio-visual digits from the recordings under root, log-mel cached), and
    three vector views (the paired loader)."""
    return {
        "image+text": load_dataset("digits", None),
        "spectrogram+image": load_dataset("av-digits", root, path=str(root / "recordings")),
        "three vector views": load_dataset("paired", root, path=str(root / "three.npz")),
    }


def main(root: Path) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    with thread_limit(1):
        for kind, data in datasets(root).items():
            splits = InjectionConfig("all", "1:1").prepare(_subset(data), SplitConfig(), 0)
            out[kind] = {}
            for name in list_detectors():
                cls = get_detector_class(name)
                if cls.capabilities.incompatibility(splits.train):
                    out[kind][name] = "skipped"
                    continue
                detector = create_detector(name, dict(cls.test_params), random_state=0, device="cpu")
                shuffle = Shuffler(0)
                train, val = (shuffle.view(v) for v in fit_views(splits, detector.capabilities))
                fit(detector, train, val)
                scores = score(detector, splits, shuffle)
                out[kind][name] = hashlib.sha256(scores.test.tobytes() + scores.val.tobytes()).hexdigest()[:16]
    return out


if __name__ == "__main__":
    print(json.dumps(main(Path(sys.argv[1]))))
