"""The manifest beside a sweep's results: how its tables were made, for anyone to check."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from mmadbench.provenance import git_revision, hardware, versions

from .config import SweepConfig

MANIFEST = "manifest.json"


def dataset_checksum(data) -> str:
    """SHA-256 over every modality array and the labels, in a fixed order."""
    h = hashlib.sha256()
    for name in sorted(data.names):
        arr = np.ascontiguousarray(data[name])
        h.update(f"{name}:{arr.dtype}:{arr.shape}".encode())
        h.update(arr.tobytes())
    h.update(np.ascontiguousarray(data.labels).tobytes())
    return h.hexdigest()


def stale(folder: Path, config: SweepConfig) -> bool:
    """True when the stored sweep.toml differs from the sweep file (say, its report tables were
    edited): the report reads the stored copy, so it must be refreshed even if no cell runs."""
    stored = folder / "sweep.toml"
    return not stored.is_file() or stored.read_text() != config.source


def write_sweep(folder: Path, config: SweepConfig) -> None:
    """Keep a copy of the sweep file beside its results (the report reads its [[report.tables]])."""
    (folder / "sweep.toml").write_text(config.source)


def write(folder: Path, config: SweepConfig, options) -> Path:
    """Write sweep.toml and manifest.json (sweep hash, dataset checksums, versions, hardware)."""
    from .runner import _dataset

    write_sweep(folder, config)
    datasets = {}
    for spec in config.datasets:
        data = _dataset(spec.name, spec.options, options.data_root)
        datasets[spec.label] = {"sha256": dataset_checksum(data), "samples": len(data),
                                "modalities": {m: list(data[m].shape[1:]) for m in data.names}}
    manifest = {
        "sweep": config.name, "sweep_sha256": hashlib.sha256(config.source.encode()).hexdigest(),
        "written_at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "git_revision": git_revision(),
        "device": options.device, "datasets": datasets, "versions": versions(), "hardware": hardware(),
    }
    path = folder / MANIFEST
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return path
