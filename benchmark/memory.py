"""Peak memory of one cell: process RSS (Linux high-water mark, reset per cell) and GPU memory."""

from __future__ import annotations

import resource
import sys
from pathlib import Path


def reset_peak() -> None:
    """Reset this process's RSS high-water mark (Linux >= 4.0) and torch's GPU peak, if any."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def rss_mb(pid: int | str = "self") -> float | None:
    """Current resident memory of a process in MB (Linux), or None where /proc is missing."""
    return _status_field(pid, "VmRSS")


def _status_field(pid: int | str, key: str) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def peaks(device: str) -> dict[str, float | None]:
    """Peak RSS since the last reset (whole-process peak where it cannot be reset) and GPU peak."""
    peak = _status_field("self", "VmHWM")
    if peak is None:
        raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = raw / (1024 * 1024) if sys.platform == "darwin" else raw / 1024
    gpu = None
    torch = sys.modules.get("torch")
    if device.startswith("cuda") and torch is not None and torch.cuda.is_initialized():
        gpu = torch.cuda.max_memory_allocated() / 2**20
    return {"peak_rss_mb": peak, "peak_gpu_mb": gpu}
