"""MNIST and Fashion-MNIST from IDX files in torchvision's layout, paired with class captions.

`<root>/MNIST/raw/` or `<root>/FashionMNIST/raw/`, files gzipped or not. Every split present
(train, t10k) is pooled; the harness re-splits. Text: class-name captions through the text
encoder, as for `digits` (the TN-BCL paper pairs each image with its BERT-encoded tag).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .captions import DIGIT_TEMPLATES, DIGIT_WORDS, OBJECT_TEMPLATES, class_captions
from .data import MultiModalData, first_per_class
from .encoders import DEFAULT_TEXT_MODEL, encode_texts
from .files import under_root
from .registry import register_dataset

FASHION_CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
_SPLITS = ("train", "t10k")


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (optionally gzipped) as a uint8 array, with its header checked against its size."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except (OSError, EOFError) as exc:
        raise DataError(f"{path}: cannot be read ({exc}); the file is corrupt or truncated") from None
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08:
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    expected = header + int(np.prod(dims))
    if len(raw) != expected:
        raise DataError(f"{path}: truncated or padded IDX file ({len(raw)} bytes, header says {expected})")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims)


def _find(raw_dir: Path, stem: str) -> Path | None:
    for name in (stem, stem + ".gz"):
        if (raw_dir / name).is_file():
            return raw_dir / name
    return None


def load_idx_pairs(raw_dir: Path, dataset: str) -> tuple[np.ndarray, np.ndarray]:
    """Images [n, 28, 28] and labels [n] of every split present in `raw_dir`, pooled."""
    images, labels = [], []
    for split in _SPLITS:
        img = _find(raw_dir, f"{split}-images-idx3-ubyte")
        lab = _find(raw_dir, f"{split}-labels-idx1-ubyte")
        if img is None and lab is None:
            continue
        if img is None or lab is None:
            missing = f"{split}-{'images-idx3' if img is None else 'labels-idx1'}-ubyte[.gz]"
            raise DataError(
                f"dataset {dataset!r}: {raw_dir} has the {split} split's "
                f"{'labels' if img is None else 'images'} but not {missing}"
            )
        x, y = read_idx(img), read_idx(lab)
        if x.ndim != 3 or y.ndim != 1 or len(x) != len(y):
            raise DataError(f"dataset {dataset!r}: {img.name} holds {len(x)} images but {lab.name} {len(y)} labels")
        images.append(x)
        labels.append(y)
    if not images:
        raise DataError(
            f"dataset {dataset!r}: no IDX files in {raw_dir} (expected t10k-images-idx3-ubyte.gz and "
            f"t10k-labels-idx1-ubyte.gz, or the train split; `mmadbench fetch` can download them)"
        )
    return np.concatenate(images), np.concatenate(labels).astype(np.int64)


def _image_text(
    name: str, raw_dir: Path, words, templates, text_model: str, caption_seed: int, max_per_class: int | None
) -> MultiModalData:
    x, y = load_idx_pairs(raw_dir, name)
    if max_per_class:
        keep = first_per_class(y, max_per_class)
        x, y = x[keep], y[keep]
    texts = class_captions(y, words, templates, caption_seed)
    images = (x.astype(np.float32) / 255.0)[:, None]
    return MultiModalData(
        {"image": images, "text": encode_texts(texts, model=text_model)},
        {"image": "image", "text": "text"},
        y,
        texts=texts,
        name=name,
        meta={"text_model": text_model, "source": str(raw_dir)},
    )


@register_dataset(
    "mnist",
    "image 1x28x28 + text (MiniLM 384-d captions); 70,000 (10,000 test split in ../shared/data), 10 classes",
    needs_root=True,
)
def load_mnist(
    root: Path, text_model: str = DEFAULT_TEXT_MODEL, caption_seed: int = 0, max_per_class: int | None = None
) -> MultiModalData:
    """MNIST from `<root>/MNIST/raw/`; `max_per_class` keeps the first n images of each class."""
    return _image_text(
        "mnist",
        under_root(root, None, "MNIST/raw", "mnist"),
        DIGIT_WORDS,
        DIGIT_TEMPLATES,
        text_model,
        caption_seed,
        max_per_class,
    )


@register_dataset("fashion-mnist", "image 1x28x28 + text (MiniLM 384-d captions); 70,000, 10 classes", needs_root=True)
def load_fashion_mnist(
    root: Path, text_model: str = DEFAULT_TEXT_MODEL, caption_seed: int = 0, max_per_class: int | None = None
) -> MultiModalData:
    """Fashion-MNIST from `<root>/FashionMNIST/raw/`."""
    return _image_text(
        "fashion-mnist",
        under_root(root, None, "FashionMNIST/raw", "fashion-mnist"),
        FASHION_CLASSES,
        OBJECT_TEMPLATES,
        text_model,
        caption_seed,
        max_per_class,
    )
