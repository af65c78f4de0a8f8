"""`digits`: scikit-learn's 8x8 handwritten digits paired with BERT-encoded captions.

Shipped with scikit-learn, so the default benchmark needs no download. Each image gets a
caption of its class drawn from several templates, so the text side has within-class spread
instead of ten identical points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .data import MultiModalData
from .encoders import DEFAULT_TEXT_MODEL, encode_texts
from .registry import register_dataset

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
TEMPLATES = (
    "the digit {word}",
    "a handwritten {digit}",
    "a picture of the number {word}",
    "an image of a handwritten {word}",
    "the number {digit} written by hand",
    "a small scanned digit {word}",
)


def class_captions(labels: np.ndarray, words: tuple[str, ...], templates: tuple[str, ...], seed: int) -> np.ndarray:
    """One caption per sample: a seeded random template filled with the sample's class."""
    rng = np.random.default_rng(seed)
    choice = rng.integers(0, len(templates), size=len(labels))
    return np.array([templates[t].format(word=words[y], digit=y) for t, y in zip(choice, labels)])


@register_dataset("digits", "image 1x8x8 + text (MiniLM 384-d captions); 1,797 samples, 10 classes; ships with scikit-learn")
def load_digits_text(root: Path | None = None, text_model: str = DEFAULT_TEXT_MODEL,
                     caption_seed: int = 0, cache_dir: str | None = None) -> MultiModalData:
    """Digits images scaled to [0, 1] with captions encoded by `text_model`."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    labels = raw.target.astype(np.int64)
    texts = class_captions(labels, WORDS, TEMPLATES, caption_seed)
    images = (raw.images / 16.0).astype(np.float32)[:, None, :, :]
    text = encode_texts(texts, model=text_model, cache=cache_dir)
    return MultiModalData({"image": images, "text": text}, {"image": "image", "text": "text"}, labels,
                          texts=texts, name="digits", meta={"text_model": text_model})
