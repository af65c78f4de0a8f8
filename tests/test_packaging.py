"""pyproject.toml ships every package of the source tree and the data files the code reads."""

from __future__ import annotations

import sys
from pathlib import Path

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parent.parent


def _setuptools() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_folder_is_listed():
    """A subpackage left out of `packages` works in an editable install and is missing from a wheel."""
    config = _setuptools()
    found = set()
    for package, folder in config["package-dir"].items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]))
    assert found == set(config["packages"])


def test_data_files_are_shipped():
    data = _setuptools()["package-data"]
    shipped = data["mmadbench.benchmark.reproduction"]
    assert "published.csv" in shipped and (ROOT / "benchmark" / "reproduction" / "published.csv").is_file()
    assert "claims.toml" in shipped and (ROOT / "benchmark" / "reproduction" / "claims.toml").is_file()
    assert "NOTES.md" in data["*"]
