"""Download on request (`mmadbench fetch NAME --root DIR`), with checksum verification.

Never called by tests or the default benchmark. Without a network the error says what to
download by hand and where to put it.
"""

from __future__ import annotations

import logging
import os
import shutil
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from mmadbench.errors import DataError, MmadbenchError

from .files import md5

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Remote:
    """One file to download: where from (mirrors in order), where to, and its published MD5."""

    urls: tuple[str, ...]
    target: str  # relative to the data root
    md5: str
    extract_to: str | None = None  # a .tar.gz unpacked into this folder under the root


_MNIST = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
_FASHION = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)

SOURCES: dict[str, list[Remote]] = {
    "mnist": [
        Remote(tuple(u + f for u in _MNIST), f"MNIST/raw/{f}", h)
        for f, h in (
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
        )
    ],
    "fashion-mnist": [
        Remote(tuple(u + f for u in _FASHION), f"FashionMNIST/raw/{f}", h)
        for f, h in (
            ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
            ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
            ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
            ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
        )
    ],
    "cifar10": [
        Remote(
            ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",),
            "cifar-10-python.tar.gz",
            "c58f30108f718f92721af3b95e74349a",
            extract_to=".",
        )
    ],
}


def _download(remote: Remote, dest: Path, timeout: float) -> None:
    errors = []
    for url in remote.urls:
        tmp = dest.with_name(dest.name + ".part")
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response, open(tmp, "wb") as out:
                shutil.copyfileobj(response, out)
        except (urllib.error.URLError, OSError, TimeoutError) as exc:
            errors.append(f"{url}: {exc}")
            tmp.unlink(missing_ok=True)
            continue
        if md5(tmp) != remote.md5:
            tmp.unlink(missing_ok=True)
            errors.append(f"{url}: MD5 mismatch")
            continue
        os.replace(tmp, dest)
        return
    raise MmadbenchError(
        f"could not download {dest.name} ({'; '.join(errors)}). Manual steps: download it from "
        f"{remote.urls[0]}, check its MD5 is {remote.md5}, and place it at {dest}"
    )


def fetch(name: str, root: str | os.PathLike, timeout: float = 60.0) -> list[Path]:
    """Download (or verify, if present) every file of `name` under `root`; return their paths."""
    if name not in SOURCES:
        raise MmadbenchError(f"nothing to fetch for {name!r}; fetchable: {sorted(SOURCES)}")
    root = Path(root)
    paths = []
    for remote in SOURCES[name]:
        dest = root / remote.target
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.is_file() and md5(dest) == remote.md5:
            logger.info("%s present and verified", dest)
        else:
            logger.info("downloading %s", dest.name)
            _download(remote, dest, timeout)
        if remote.extract_to is not None:
            _extract(dest, root / remote.extract_to)
        paths.append(dest)
    return paths


def _extract(archive: Path, into: Path) -> None:
    with tarfile.open(archive, "r:gz") as tar:
        for member in tar.getmembers():
            target = (into / member.name).resolve()
            if not str(target).startswith(str(into.resolve())):
                raise DataError(f"{archive}: member {member.name!r} would be written outside {into}")
        tar.extractall(into)
