"""Peak memory of one cell above what the process held when the cell started: process RSS (the
Linux high-water mark, reset at the cell's start) and torch's GPU memory.

A process that already holds torch, the data and earlier cells' caches would otherwise charge
all of it to every cell. With `--isolate` each cell runs in a fresh process, so the baseline is
the harness and the data alone; the baseline is stored beside the peak either way.
"""

from __future__ import annotations

import ctypes
import resource
import sys
from pathlib import Path


def start() -> dict[str, float | None]:
    """Hand freed memory back to the system, reset the RSS high-water mark (Linux >= 4.0) and
    torch's GPU peak; return the baseline (current RSS and GPU memory in MB) that the cell's
    peaks are measured above.

    Without the hand-back, a cell would reuse pages earlier cells freed but the allocator kept,
    and its peak above the baseline would read about zero whatever it allocated.
    """
    _malloc_trim()  # (no gc.collect: a full collection costs ~0.2 s with torch loaded)
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    gpu = None
    torch = _cuda_torch()
    if torch is not None:
        torch.cuda.reset_peak_memory_stats()
        gpu = torch.cuda.memory_allocated() / 2**20
    return {"rss": rss_mb(), "gpu": gpu}


def _malloc_trim() -> None:
    """glibc's malloc_trim(0): return every free page of the heap to the system (no-op elsewhere)."""
    global _libc
    if _libc is None:
        try:
            _libc = ctypes.CDLL("libc.so.6")
            _libc.malloc_trim  # noqa: B018 - glibc only
        except (OSError, AttributeError):
            _libc = False
    if _libc:
        _libc.malloc_trim(0)


_libc = None


def _cuda_torch():
    """torch, when it is imported and has initialised CUDA in this process; else None."""
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available() and torch.cuda.is_initialized():
        return torch
    return None


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


def peaks(baseline: dict[str, float | None]) -> dict[str, float | None]:
    """The cell's peak RSS and GPU memory above `baseline` (from `start`), and the RSS baseline.

    Where the high-water mark cannot be reset (no /proc), the process's lifetime peak stands in.
    """
    peak = _status_field("self", "VmHWM")
    if peak is None:
        raw = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        peak = raw / (1024 * 1024) if sys.platform == "darwin" else raw / 1024
    base = baseline.get("rss")
    gpu = None
    torch = _cuda_torch()
    if torch is not None:
        gpu = torch.cuda.max_memory_allocated() / 2**20 - (baseline.get("gpu") or 0.0)
    return {
        "peak_rss_mb": max(peak - base, 0.0) if base is not None else peak,
        "rss_baseline_mb": base,
        "peak_gpu_mb": gpu,
    }
