"""Same seed, same numbers, on every modality kind: every built-in detector fitted twice, in two
fresh processes, once with a cold feature cache (features just computed) and once with a warm
one (features read back), gives bit-identical scores. A freshly computed log-mel array used to be
a transposed view while the cached one was C-contiguous, and a convolution summed in another
order; MultiModalData now stores every modality C-contiguous."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from mmadbench.testing import toy_data

SPEAKERS = ("ann", "bob", "cy")
WORKER = Path(__file__).resolve().parent / "determinism_worker.py"


def _recordings(folder: Path, per_digit: int = 24, rate: int = 8000) -> None:
    """Spoken-digit stand-ins: a tone per digit with seeded noise, named as FSDD names its files."""
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    t = np.arange(int(0.25 * rate)) / rate
    for digit in range(10):
        for i in range(per_digit):
            tone = 0.5 * np.sin(2 * np.pi * (200 + 60 * digit + 3 * i) * t) + 0.05 * rng.normal(size=t.size)
            with wave.open(str(folder / f"{digit}_{SPEAKERS[i % 3]}_{i}.wav"), "wb") as w:
                w.setnchannels(1)
                w.setsampwidth(2)
                w.setframerate(rate)
                w.writeframes((np.clip(tone, -1, 1) * 32767).astype("<i2").tobytes())


def _run(root: Path, cache: Path) -> dict:
    env = {**os.environ, "MMADBENCH_CACHE": str(cache)}
    done = subprocess.run(
        [sys.executable, str(WORKER), str(root)], env=env, capture_output=True, text=True, timeout=1200
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_every_detector_gives_the_same_scores_with_a_cold_and_a_warm_cache(tmp_path):
    root, cache = tmp_path / "data", tmp_path / "cache"
    _recordings(root / "recordings")
    data = toy_data(n=240, classes=10, three=True)
    np.savez(
        root / "three.npz",
        labels=data.labels,
        kinds=np.array(["a:vector", "b:vector", "c:vector"]),
        a=data["image"].reshape(len(data), -1),
        b=data["text"],
        c=data["view"],
    )
    cold = _run(root, cache)
    assert any(p.name.startswith("logmel-") for p in cache.iterdir()), "the first run must fill the cache"
    warm = _run(root, cache)
    assert set(cold) == {"image+text", "spectrogram+image", "three vector views"}
    ran = sum(v != "skipped" for kinds in cold.values() for v in kinds.values())
    assert ran >= 50, cold  # every built-in detector on most kinds
    differing = {(k, d) for k in cold for d in cold[k] if cold[k][d] != warm[k][d]}
    assert differing == set(), f"scores differ between a cold and a warm cache: {sorted(differing)}"
