"""Provenance of the committed results: every folder under results/ has a manifest, and every
revision it or its cells name is clean and in this repository's history."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parent.parent
FOLDERS = sorted(p for p in (REPO / "results").iterdir() if p.is_dir()) if (REPO / "results").is_dir() else []


def _git(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=30)


def _in_git_checkout() -> bool:
    return shutil.which("git") is not None and _git("rev-parse", "--git-dir").returncode == 0


pytestmark = pytest.mark.skipif(
    not _in_git_checkout(), reason="not a git checkout: no history to check revisions against"
)


def _revisions(folder: Path) -> set[str]:
    manifest = json.loads((folder / "manifest.json").read_text())
    revs = set(manifest.get("git_revisions", []))
    if (folder / "cells.csv").is_file():
        revs |= set(pd.read_csv(folder / "cells.csv", usecols=["git_rev"]).git_rev.dropna().astype(str))
    return revs


@pytest.mark.parametrize("folder", FOLDERS, ids=[f.name for f in FOLDERS])
def test_results_come_from_clean_committed_revisions(folder):
    assert (folder / "manifest.json").is_file(), f"{folder.name} has no manifest.json"
    revs = _revisions(folder)
    assert revs, f"{folder.name}: no revision recorded"
    for rev in sorted(revs):
        assert not rev.endswith("+dirty"), f"{folder.name}: made by uncommitted code ({rev})"
        assert _git("cat-file", "-e", f"{rev}^{{commit}}").returncode == 0, f"{folder.name}: {rev} is not a commit here"
        assert _git("merge-base", "--is-ancestor", rev, "HEAD").returncode == 0, (
            f"{folder.name}: {rev} is not in HEAD's history"
        )
