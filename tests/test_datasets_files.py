"""Loaders on small files made here: every kind of bad data gets one clear error naming the file."""

from __future__ import annotations

import gzip
import pickle
import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from mmadbench.datasets import fetch as fetch_mod
from mmadbench.datasets import load_dataset
from mmadbench.datasets.audio import log_mel, read_wav
from mmadbench.datasets.mnist import read_idx
from mmadbench.errors import DataError, MmadbenchError


def _idx(path: Path, array: np.ndarray, truncate: int = 0) -> None:
    header = bytes([0, 0, 8, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    payload = header + array.astype(np.uint8).tobytes()
    with gzip.open(path, "wb") as f:
        f.write(payload[: len(payload) - truncate])


def _mnist_tree(root: Path, n: int = 30, truncate: int = 0) -> Path:
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    _idx(raw / "t10k-images-idx3-ubyte.gz", rng.integers(0, 255, (n, 28, 28)), truncate)
    _idx(raw / "t10k-labels-idx1-ubyte.gz", np.arange(n) % 10)
    return raw


def test_idx_round_trip_and_pooling(tmp_path):
    raw = _mnist_tree(tmp_path)
    _idx(raw / "train-images-idx3-ubyte.gz", np.zeros((20, 28, 28)))
    _idx(raw / "train-labels-idx1-ubyte.gz", np.arange(20) % 10)
    d = load_dataset("mnist", tmp_path)
    assert len(d) == 50 and d["image"].shape == (50, 1, 28, 28)


def test_truncated_idx_is_named(tmp_path):
    _mnist_tree(tmp_path, truncate=100)
    with pytest.raises(DataError, match=r"t10k-images-idx3-ubyte.gz: truncated or padded IDX file"):
        load_dataset("mnist", tmp_path)


def test_idx_bad_magic(tmp_path):
    path = tmp_path / "x-idx1-ubyte"
    path.write_bytes(b"\x01\x02\x03\x04")
    with pytest.raises(DataError, match="bad magic number"):
        read_idx(path)


def test_missing_root_is_one_line():
    with pytest.raises(MmadbenchError, match="needs a data root"):
        load_dataset("mnist", None)


def _wav(path: Path, samples: np.ndarray, rate: int = 8000, truncate: int = 0) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes((samples * 32000).astype("<i2").tobytes())
    if truncate:
        data = path.read_bytes()
        path.write_bytes(data[:-truncate])


def test_wav_and_log_mel(tmp_path):
    t = np.arange(8000) / 8000
    _wav(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 1000 * t))
    audio, rate = read_wav(tmp_path / "tone.wav")
    assert rate == 8000 and len(audio) == 8000
    mel = log_mel(audio[None], rate)
    assert mel.shape == (1, 64, 97) and np.isfinite(mel).all()
    low, high = mel[0, :10].mean(), mel[0, 30:40].mean()  # 1 kHz sits in the middle bands
    assert mel[0].mean(axis=1).argmax() > 20 and low < mel[0].max()
    assert high > low


def test_truncated_wav_is_named(tmp_path):
    _wav(tmp_path / "0_x_0.wav", np.zeros(4000), truncate=1000)
    with pytest.raises(DataError, match=r"0_x_0.wav: truncated WAV"):
        read_wav(tmp_path / "0_x_0.wav")


def _folder(root: Path, classes=("cat", "dog"), n=3, size=8) -> Path:
    from PIL import Image

    for c in classes:
        (root / c).mkdir(parents=True)
        for i in range(n):
            Image.fromarray(np.full((size, size, 3), 40 * i, np.uint8)).save(root / c / f"{i}.png")
    return root


def test_image_folder_with_captions(tmp_path):
    folder = _folder(tmp_path / "imgs")
    (tmp_path / "caps.csv").write_text(
        "file,caption\n" + "".join(f"{c}/{i}.png,a {c} number {i}\n" for c in ("cat", "dog") for i in range(3))
    )
    d = load_dataset("image-folder", None, path=str(folder), captions=str(tmp_path / "caps.csv"))
    assert d["image"].shape == (6, 3, 8, 8) and d.texts[0] == "a cat number 0"
    assert d.meta["classes"] == ("cat", "dog")


def test_image_folder_errors(tmp_path):
    folder = _folder(tmp_path / "imgs")
    (folder / "empty").mkdir()
    with pytest.raises(DataError, match=r"empty: class folder has no images"):
        load_dataset("image-folder", None, path=str(folder))
    (folder / "empty").rmdir()
    (folder / "cat" / "bad.jpg").write_bytes(b"not an image")
    with pytest.raises(DataError, match=r"bad.jpg: corrupt or unreadable image"):
        load_dataset("image-folder", None, path=str(folder))


def test_cifar_pickle_refused_without_matching_md5(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    with open(folder / "data_batch_1", "wb") as f:
        pickle.dump({"data": np.zeros((2, 3072), np.uint8), "labels": [0, 1]}, f)
    with pytest.raises(DataError, match="MD5 does not match.*refusing to unpickle"):
        load_dataset("cifar10", tmp_path)


def _npz(path: Path, **arrays) -> Path:
    np.savez(path, **arrays)
    return path


def test_paired_npz_and_folder(tmp_path):
    rng = np.random.default_rng(0)
    face, voice, y = rng.normal(size=(20, 5)), rng.normal(size=(20, 3)), np.arange(20) % 2
    d = load_dataset(
        "paired",
        None,
        path=str(_npz(tmp_path / "p.npz", face=face, voice=voice, labels=y, kinds=np.array(["voice:audio"]))),
    )
    assert d.kinds == {"face": "vector", "voice": "audio"} and len(d) == 20
    folder = tmp_path / "npy"
    folder.mkdir()
    for k, v in (("face", face), ("voice", voice), ("labels", y)):
        np.save(folder / f"{k}.npy", v)
    assert load_dataset("paired", None, path=str(folder)).names == ("face", "voice")


@pytest.mark.parametrize(
    "arrays,match",
    [
        ({"a": np.zeros((5, 2)), "b": np.zeros((4, 2)), "labels": np.zeros(5)}, r"disagree in length .*'b': 4"),
        ({"a": np.zeros((5, 2)), "b": np.zeros((5, 2)), "labels": np.zeros(6)}, r"disagree in length"),
        ({"a": np.full((5, 2), np.nan), "b": np.zeros((5, 2)), "labels": np.zeros(5)}, "NaN or infinite"),
        ({"a": np.zeros((5, 2)), "b": np.zeros((5, 2))}, "needs a 'labels' array"),
    ],
)
def test_paired_errors_name_the_file(tmp_path, arrays, match):
    path = _npz(tmp_path / "bad.npz", **arrays)
    with pytest.raises(DataError, match=match) as err:
        load_dataset("paired", None, path=str(path))
    assert "bad.npz" in str(err.value)


def test_fetch_verifies_checksums(tmp_path, monkeypatch):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    (mirror / "f.bin").write_bytes(b"hello")
    good = fetch_mod.Remote((f"file://{mirror}/f.bin",), "sub/f.bin", "5d41402abc4b2a76b9719d911017c592")
    monkeypatch.setitem(fetch_mod.SOURCES, "toy", [good])
    assert fetch_mod.fetch("toy", tmp_path / "root") == [tmp_path / "root" / "sub" / "f.bin"]
    bad = fetch_mod.Remote((f"file://{mirror}/f.bin",), "sub/g.bin", "0" * 32)
    monkeypatch.setitem(fetch_mod.SOURCES, "toy", [bad])
    with pytest.raises(MmadbenchError, match="MD5 mismatch.*Manual steps"):
        fetch_mod.fetch("toy", tmp_path / "root")
    missing = fetch_mod.Remote((f"file://{mirror}/none.bin",), "sub/h.bin", "0" * 32)
    monkeypatch.setitem(fetch_mod.SOURCES, "toy", [missing])
    with pytest.raises(MmadbenchError, match="could not download h.bin"):
        fetch_mod.fetch("toy", tmp_path / "root")
