"""`digits`: scikit-learn's 8x8 handwritten digits paired with BERT-encoded captions.

Shipped with scikit-learn, so the default benchmark needs no download. Each image gets a
caption of its class drawn from several templates, so the text side has within-class spread
instead of ten identical points.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from .captions import DIGIT_TEMPLATES, DIGIT_WORDS, class_captions
from .data import MultiModalData
from .encoders import DEFAULT_TEXT_MODEL, encode_texts
from .registry import register_dataset


@register_dataset(
    "digits", "image 1x8x8 + text (MiniLM 384-d captions); 1,797 samples, 10 classes; ships with scikit-learn"
)
def load_digits_text(
    root: Path | None = None, text_model: str = DEFAULT_TEXT_MODEL, caption_seed: int = 0, cache_dir: str | None = None
) -> MultiModalData:
    """Digits images scaled to [0, 1] with captions encoded by `text_model`."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    labels = raw.target.astype(np.int64)
    texts = class_captions(labels, DIGIT_WORDS, DIGIT_TEMPLATES, caption_seed)
    images = (raw.images / 16.0).astype(np.float32)[:, None, :, :]
    text = encode_texts(texts, model=text_model, cache=cache_dir)
    return MultiModalData(
        {"image": images, "text": text},
        {"image": "image", "text": "text"},
        labels,
        texts=texts,
        name="digits",
        meta={"text_model": text_model},
    )


@register_dataset(
    "digits-halves",
    "two image views 1x8x4: left and right halves of each 8x8 digit; 1,797 samples, "
    "10 classes; ships with scikit-learn",
)
def load_digits_halves(root: Path | None = None) -> MultiModalData:
    """The left and right halves of each digits image as two views, like two cameras seeing one
    object: neither half names the class by itself (unlike a caption), so one-class detection
    on it is not saturated. Pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits

    raw = load_digits()
    images = (raw.images / 16.0).astype(np.float32)[:, None, :, :]
    return MultiModalData(
        {"left": np.ascontiguousarray(images[..., :4]), "right": np.ascontiguousarray(images[..., 4:])},
        {"left": "image", "right": "image"},
        raw.target.astype(np.int64),
        name="digits-halves",
    )
