"""Class-name captions for image-text datasets built from labelled images.

Several templates per class give the text side within-class spread instead of one point per
class; the template of each sample is drawn with a fixed seed.
"""

from __future__ import annotations

import numpy as np

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
DIGIT_TEMPLATES = (
    "the digit {word}",
    "a handwritten {digit}",
    "a picture of the number {word}",
    "an image of a handwritten {word}",
    "the number {digit} written by hand",
    "a small scanned digit {word}",
)
OBJECT_TEMPLATES = (
    "a photo of a {word}",
    "an image of a {word}",
    "a picture showing a {word}",
    "a small photo of the {word}",
    "this is a {word}",
    "a blurry picture of a {word}",
)


def class_captions(
    labels: np.ndarray, words: tuple[str, ...] | list[str], templates: tuple[str, ...], seed: int
) -> np.ndarray:
    """One caption per sample: a seeded random template filled with the sample's class word."""
    rng = np.random.default_rng(seed)
    choice = rng.integers(0, len(templates), size=len(labels))
    return np.array([templates[t].format(word=words[y], digit=y) for t, y in zip(choice, labels)])
