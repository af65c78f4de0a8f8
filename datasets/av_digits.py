"""Audio-visual digits: a spoken digit (FSDD) paired with an image of the same digit.

The stand-in here for face-voice data such as VoxCeleb. Voice: 64-band log-mel spectrogram
(as in the TN-BCL paper) of the first second of each 8 kHz recording, cached. Image: a
picture of the same digit from `digits` (default) or MNIST, assigned per class with a seed,
each image to one recording only (so no image is in two splits): with `digits` (about 180
images per digit for 300 recordings) a seeded choice of 1,797 recordings is kept; with MNIST all 3,000.
The speaker of each recording is kept in `extras["speaker"]`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .audio import fix_length, log_mel, read_wav
from .data import MultiModalData
from .files import cached_arrays, under_root
from .registry import load_dataset, register_dataset

_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def _recordings(folder: Path) -> tuple[list[Path], np.ndarray, np.ndarray]:
    files, digits, speakers = [], [], []
    for path in sorted(folder.glob("*.wav")):
        match = _NAME.match(path.name)
        if match is None:
            raise DataError(f"{path}: file name is not {{digit}}_{{speaker}}_{{index}}.wav")
        files.append(path)
        digits.append(int(match.group(1)))
        speakers.append(match.group(2))
    if not files:
        raise DataError(f"{folder}: no .wav recordings")
    return files, np.asarray(digits, dtype=np.int64), np.asarray(speakers)


def voice_features(files: list[Path], seconds: float, n_mels: int) -> np.ndarray:
    """Log-mel features [n, 1, n_mels, frames] of every recording, computed once and cached."""

    def build() -> dict[str, np.ndarray]:
        clips, rates = [], set()
        for path in files:
            audio, rate = read_wav(path)
            rates.add(rate)
            clips.append(audio)
        if len(rates) != 1:
            raise DataError(f"recordings have different sample rates {sorted(rates)}")
        rate = rates.pop()
        fixed = np.stack([fix_length(c, int(seconds * rate)) for c in clips])
        return {"x": log_mel(fixed, rate, n_mels=n_mels)[:, None]}

    return cached_arrays("logmel", files, {"seconds": seconds, "n_mels": n_mels}, build)["x"]


def pair_images(labels: np.ndarray, image_labels: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair recordings with images of the same digit, each image at most once.

    Returns (recordings kept, image of each kept recording). Where a digit has fewer images than
    recordings, a seeded choice of as many recordings as there are images is kept: an image used
    twice could land in training and test alike, and the test sample would be half-seen.
    """
    rng = np.random.default_rng(seed)
    keep, pick = [], []
    for digit in np.unique(labels):
        need = np.flatnonzero(labels == digit)
        pool = rng.permutation(np.flatnonzero(image_labels == digit))
        if not len(pool):
            raise DataError(f"no image of digit {digit} to pair with its recordings")
        if len(pool) < len(need):
            need = np.sort(rng.choice(need, size=len(pool), replace=False))
        keep.append(need)
        pick.append(pool[: len(need)])
    keep_all, pick_all = np.concatenate(keep), np.concatenate(pick)
    order = np.argsort(keep_all, kind="stable")
    return keep_all[order], pick_all[order]


@register_dataset(
    "av-digits",
    "image + audio log-mel 1x64x97 (FSDD spoken digits with digit images, each used once); "
    "1,797 pairs with digits images, 3,000 with MNIST; 10 classes, 6 speakers",
    needs_root=True,
)
def load_av_digits(
    root: Path,
    path: str = "fsdd/recordings",
    images: str = "digits",
    seconds: float = 1.0,
    n_mels: int = 64,
    pair_seed: int = 0,
) -> MultiModalData:
    """Recordings under `<root>/fsdd/recordings`, each with an image of its digit from `images`."""
    if images not in ("digits", "mnist"):
        raise DataError(f"dataset 'av-digits': images must be 'digits' or 'mnist', got {images!r}")
    files, labels, speakers = _recordings(under_root(root, path, path, "av-digits"))
    voice = voice_features(files, seconds, n_mels)
    pictures = load_dataset(images, root)
    keep, pick = pair_images(labels, pictures.labels, pair_seed)
    return MultiModalData(
        {"image": pictures["image"][pick], "audio": voice[keep]},
        {"image": "image", "audio": "audio"},
        labels[keep],
        name="av-digits",
        extras={"speaker": speakers[keep]},
        meta={"images": images, "source": str(files[0].parent), "recordings": len(files), "paired": len(keep)},
    )
