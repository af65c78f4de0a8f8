"""Image folders: any `root/<class>/<file>` tree of images becomes an image-text dataset.

Class names come from the folder names (sorted); captions are drawn from templates with the
class name, or read from a CSV file (columns: file, caption) that replaces them. Decoded
images are cached, so a second load does not decode again. This is how users bring their own data.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from mmadbench.errors import DataError

from .captions import OBJECT_TEMPLATES, class_captions
from .data import MultiModalData, first_per_class
from .encoders import DEFAULT_TEXT_MODEL, encode_texts
from .files import cached_arrays, under_root
from .registry import register_dataset

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


def list_images(folder: Path) -> tuple[list[Path], np.ndarray, list[str]]:
    """Image files, their class index and the class names of a class-per-folder tree."""
    classes = sorted(p.name for p in folder.iterdir() if p.is_dir())
    if not classes:
        raise DataError(f"{folder}: no class folders (expected {folder}/<class>/<image files>)")
    files, labels = [], []
    for i, name in enumerate(classes):
        found = sorted(p for p in (folder / name).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not found:
            raise DataError(f"{folder / name}: class folder has no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        files += found
        labels += [i] * len(found)
    return files, np.asarray(labels, dtype=np.int64), classes


def decode_images(files: list[Path], mode: str, size: int | None) -> np.ndarray:
    """Decode images to float32 [n, C, H, W] in [0, 1]; one clear error per unreadable file."""
    from PIL import Image, UnidentifiedImageError

    out = []
    for path in files:
        try:
            with Image.open(path) as img:
                img = img.convert(mode)
                if size is not None and img.size != (size, size):
                    img = img.resize((size, size), Image.BILINEAR)
                arr = np.asarray(img, dtype=np.uint8)
        except (UnidentifiedImageError, OSError, ValueError) as exc:
            raise DataError(f"{path}: corrupt or unreadable image ({exc})") from None
        out.append(arr)
    shapes = {a.shape for a in out}
    if len(shapes) > 1:
        raise DataError(f"images differ in size ({sorted(shapes)[:3]} ...); pass the option size = N to resize them")
    stacked = np.stack(out).astype(np.float32) / 255.0
    return stacked[:, None] if stacked.ndim == 3 else stacked.transpose(0, 3, 1, 2)


def read_captions(path: Path, files: list[Path], folder: Path) -> np.ndarray:
    """Captions from a CSV (file, caption); `file` is relative to the image folder or a bare name."""
    table: dict[str, str] = {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if "file" not in row or "caption" not in row:
                raise DataError(f"{path}: captions CSV needs the columns 'file' and 'caption'")
            table[row["file"]] = row["caption"]
    out = []
    for p in files:
        caption = table.get(p.relative_to(folder).as_posix(), table.get(p.name))
        if caption is None:
            raise DataError(f"{path}: no caption for {p.relative_to(folder).as_posix()}")
        out.append(caption)
    return np.asarray(out)


def folder_dataset(
    name: str,
    folder: Path,
    mode: str,
    size: int | None,
    captions: str | None,
    text_model: str,
    caption_seed: int,
    max_per_class: int | None,
) -> MultiModalData:
    """The image-text dataset of a class-per-folder tree."""
    if mode not in ("L", "RGB"):
        raise DataError(f"dataset {name!r}: mode must be 'L' (grey) or 'RGB', got {mode!r}")
    files, labels, classes = list_images(folder)
    if max_per_class:
        keep = first_per_class(labels, max_per_class)
        files, labels = [files[i] for i in keep], labels[keep]
    images = cached_arrays(
        "images", files, {"mode": mode, "size": size}, lambda: {"x": decode_images(files, mode, size)}
    )["x"]
    words = [c.replace("_", " ") for c in classes]
    texts = (
        read_captions(Path(captions), files, folder)
        if captions
        else class_captions(labels, words, OBJECT_TEMPLATES, caption_seed)
    )
    return MultiModalData(
        {"image": images, "text": encode_texts(texts, model=text_model)},
        {"image": "image", "text": "text"},
        labels,
        texts=texts,
        name=name,
        meta={"classes": tuple(classes), "source": str(folder), "text_model": text_model},
    )


@register_dataset(
    "image-folder", "image + text from any <path>/<class>/<image> tree (option path; captions CSV optional)"
)
def load_image_folder(
    root: Path | None,
    path: str = "",
    mode: str = "RGB",
    size: int | None = None,
    captions: str | None = None,
    text_model: str = DEFAULT_TEXT_MODEL,
    caption_seed: int = 0,
    max_per_class: int | None = None,
) -> MultiModalData:
    """A user's image folder; `path` absolute or relative to the data root."""
    if not path:
        raise DataError("dataset 'image-folder' needs the option path = '<folder with one subfolder per class>'")
    return folder_dataset(
        "image-folder",
        under_root(root, path, path, "image-folder"),
        mode,
        size,
        captions,
        text_model,
        caption_seed,
        max_per_class,
    )
