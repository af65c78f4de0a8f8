"""Provenance of a sweep folder: the hardware, library drift, whether the code is committed, and
the manifest written beside a sweep's results (a cell's own fingerprints: `measure.identity`)."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from mmadbench.benchmark.measure.identity import git_revision

MANIFEST = "manifest.json"


def version_drift(stored: dict[str, str], current: dict[str, str]) -> list[str]:
    """'name: old -> new' for each library whose version differs between two version maps."""
    return [
        f"{k}: {stored.get(k, 'absent')} -> {current.get(k, 'absent')}"
        for k in sorted(set(stored) | set(current))
        if stored.get(k) != current.get(k)
    ]


# Folders whose untracked files run with the harness (every module in detectors/ is imported).
CODE_PATHS = ("benchmark", "detectors", "datasets", "mmadbench", "configs")


def require_clean_revision(plugins: Iterable[str] = ()) -> str:
    """The clean git revision of the code about to make results, or a ConfigError saying why not:
    uncommitted changes, untracked files among the code, or a plugin file git does not track."""
    from mmadbench.errors import ConfigError

    rev = git_revision()
    here = Path(__file__).resolve().parents[2]
    problem = f"this checkout is {rev!r}" if rev.endswith("+dirty") or rev == "unknown" else ""
    if not problem:
        untracked = _git_lines(here, "ls-files", "--others", "--exclude-standard", "--", *CODE_PATHS)
        problem = f"untracked code files would run: {untracked[:5]}" if untracked else ""
    for plugin in plugins:
        if not problem and not _git_lines(here, "ls-files", "--", str(Path(plugin).resolve())):
            problem = f"plugin {plugin} is not a committed file of this repository"
    if problem:
        raise ConfigError(
            f"results must come from committed code, and {problem}: commit first (or drop "
            "--require-clean / RUN_FLAGS= for a scratch run)"
        )
    return rev


def _git_lines(cwd: Path, *args: str) -> list[str]:
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return out.stdout.split() if out.returncode == 0 else []


def hardware() -> dict[str, str]:
    """CPU, core count and (when torch sees one) the GPU."""
    info = {
        "machine": platform.machine(),
        "processor": platform.processor() or platform.machine(),
        "cpu": _cpu_model(),
        "cpus": str(os.cpu_count()),
        "system": platform.system(),
    }
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        info["gpu"] = torch.cuda.get_device_name(0)
    return info


def _cpu_model() -> str:
    """The CPU's model name (Linux /proc/cpuinfo), else the platform's processor string."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def manifest(sweep: str, sweep_source: str, cells: Iterable[dict], datasets: dict, runs: list[dict]) -> dict:
    """What made the reported cells: the sweep file's hash, the distinct revisions, library
    versions and devices of the cells themselves, their datasets' checksums, and the runs that
    wrote them (each with its command line, hardware and thread count)."""
    cells = list(cells)
    distinct = lambda key: sorted({str(c[key]) for c in cells if c.get(key) is not None})  # noqa: E731
    return {
        "sweep": sweep,
        "sweep_sha256": hashlib.sha256(sweep_source.encode()).hexdigest(),
        "cells": len(cells),
        "git_revisions": distinct("git_rev"),
        "devices": distinct("device"),
        "threads": distinct("threads"),
        "versions": [json.loads(v) for v in distinct("versions")],
        "datasets": datasets,
        "runs": runs,
    }


def write_manifest(folder: Path, content: dict) -> Path:
    """Write `manifest.json` (sorted keys, so an unchanged manifest is byte-identical)."""
    path = Path(folder) / MANIFEST
    path.write_text(json.dumps(content, indent=2, sort_keys=True) + "\n")
    return path
