"""Which torch device a run uses: 'auto' picks CUDA when torch sees a GPU."""

from __future__ import annotations

import shutil
from pathlib import Path

from mmadbench.errors import ConfigError


def resolve_device(device: str | None) -> str:
    """'auto' -> 'cuda' when torch sees a GPU, else 'cpu'; an explicit cuda without one is an error."""
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
    return Path("/proc/driver/nvidia").exists() or shutil.which("nvidia-smi") is not None
