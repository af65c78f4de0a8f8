"""CIFAR-10: from the official python pickles (MD5-checked first) or from an image-folder tree.

The pickles are only ever read from the official file names after their MD5 matches the
published value, since unpickling runs code. `../shared/data/cifar10-jpg/test/<class>/` is
the JPEG image-folder form of the 10,000-image test split.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .captions import OBJECT_TEMPLATES, class_captions
from .data import MultiModalData, first_per_class
from .encoders import DEFAULT_TEXT_MODEL, encode_texts
from .files import md5, under_root
from .image_folder import folder_dataset
from .registry import register_dataset

CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
# Published MD5 of each file of cifar-10-python.tar.gz (Krizhevsky, 2009)
CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}


def read_batches(folder: Path) -> tuple[np.ndarray, np.ndarray]:
    """Images [n, 3, 32, 32] uint8 and labels of every official batch present, MD5-checked."""
    images, labels = [], []
    for name, digest in CIFAR10_MD5.items():
        path = folder / name
        if not path.is_file():
            continue
        if md5(path) != digest:
            raise DataError(f"{path}: MD5 does not match the published CIFAR-10 file; refusing to unpickle it")
        with open(path, "rb") as f:
            batch = pickle.load(f, encoding="latin1")
        images.append(np.asarray(batch["data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
        labels.append(np.asarray(batch["labels"], dtype=np.int64))
    if not images:
        raise DataError(
            f"dataset 'cifar10': no official batch files in {folder} (data_batch_1..5, test_batch); "
            f"`mmadbench fetch cifar10` downloads them"
        )
    return np.concatenate(images), np.concatenate(labels)


@register_dataset(
    "cifar10",
    "image 3x32x32 + text (MiniLM 384-d captions); 60,000 from cifar-10-batches-py/, 10 classes",
    needs_root=True,
)
def load_cifar10(
    root: Path, text_model: str = DEFAULT_TEXT_MODEL, caption_seed: int = 0, max_per_class: int | None = None
) -> MultiModalData:
    """CIFAR-10 from `<root>/cifar-10-batches-py/`, all batches present pooled."""
    folder = under_root(root, None, "cifar-10-batches-py", "cifar10")
    x, y = read_batches(folder)
    if max_per_class:
        keep = first_per_class(y, max_per_class)
        x, y = x[keep], y[keep]
    texts = class_captions(y, CIFAR10_CLASSES, OBJECT_TEMPLATES, caption_seed)
    return MultiModalData(
        {"image": x.astype(np.float32) / 255.0, "text": encode_texts(texts, model=text_model)},
        {"image": "image", "text": "text"},
        y,
        texts=texts,
        name="cifar10",
        meta={"classes": CIFAR10_CLASSES, "source": str(folder), "text_model": text_model},
    )


@register_dataset(
    "cifar10-folder",
    "image 3x32x32 + text; CIFAR-10 as an image folder (cifar10-jpg/test: 10,000, 10 classes)",
    needs_root=True,
)
def load_cifar10_folder(
    root: Path,
    path: str = "cifar10-jpg/test",
    text_model: str = DEFAULT_TEXT_MODEL,
    caption_seed: int = 0,
    max_per_class: int | None = None,
) -> MultiModalData:
    """CIFAR-10 from a `<class>/<image>` tree under the data root."""
    folder = under_root(root, path, path, "cifar10-folder")
    return folder_dataset("cifar10-folder", folder, "RGB", 32, None, text_model, caption_seed, max_per_class)
