"""Provenance recorded with every result: library versions, git revision, hardware."""

from __future__ import annotations

import functools
import platform
import subprocess
from importlib import metadata
from pathlib import Path

_LIBRARIES = ("mmadbench", "numpy", "scikit-learn", "pyod", "torch", "transformers", "pandas")


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers, plus Python's."""
    out = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "missing"
    return out


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The project's git commit (with '+dirty' for uncommitted changes), or 'unknown'."""
    here = Path(__file__).resolve().parent.parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5)
        if rev.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=here,
                               capture_output=True, text=True, timeout=5).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def hardware() -> dict[str, str]:
    """CPU, core count and (when torch sees one) the GPU. Each cell's row records the torch
    thread count of the process that ran it (`torch_threads`)."""
    import os

    info = {"machine": platform.machine(), "processor": platform.processor() or platform.machine(),
            "cpus": str(os.cpu_count()), "system": platform.system()}
    try:
        import torch

        if torch.cuda.is_available():
            info["gpu"] = torch.cuda.get_device_name(0)
    except ImportError:
        pass
    return info


def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'; an explicit cuda without one is an error."""
    from mmadbench.errors import ConfigError

    device = device or "auto"
    if device == "cpu":
        return device
    if device == "auto" and not _nvidia_driver_present():
        return "cpu"  # no driver, no CUDA: skip importing torch just to learn that
    import torch

    has_cuda = torch.cuda.is_available()
    if device == "auto":
        return "cuda" if has_cuda else "cpu"
    if device.startswith("cuda") and not has_cuda:
        raise ConfigError(f"device {device!r} requested but torch sees no CUDA GPU; use --device cpu or auto")
    return device


def _nvidia_driver_present() -> bool:
    import shutil

    return Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi") is not None
