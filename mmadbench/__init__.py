"""mmadbench: a benchmark harness for multimodal and cross-modal anomaly detection.

Public API: MultiModalData, Detector, TorchDetector, register_detector, load_dataset, run_sweep.
Heavy dependencies (torch, transformers, pyod) are imported only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mmadbench.version import __version__

__all__ = [
    "MultiModalData",
    "Detector",
    "Capabilities",
    "TorchDetector",
    "register_detector",
    "create_detector",
    "list_detectors",
    "load_dataset",
    "list_datasets",
    "run_sweep",
    "MmadbenchError",
    "__version__",
]

_LAZY = {
    "MultiModalData": "mmadbench.datasets.data",
    "Detector": "mmadbench.detectors.base",
    "Capabilities": "mmadbench.detectors.base",
    "TorchDetector": "mmadbench.detectors.torch_detector",
    "register_detector": "mmadbench.detectors.registry",
    "create_detector": "mmadbench.detectors.registry",
    "list_detectors": "mmadbench.detectors.registry",
    "load_dataset": "mmadbench.datasets.registry",
    "list_datasets": "mmadbench.datasets.registry",
    "run_sweep": "mmadbench.benchmark.execution.runner",
    "MmadbenchError": "mmadbench.errors",
}

if TYPE_CHECKING:  # pragma: no cover
    from mmadbench.benchmark.execution.runner import run_sweep
    from mmadbench.datasets.data import MultiModalData
    from mmadbench.datasets.registry import list_datasets, load_dataset
    from mmadbench.detectors import Capabilities, Detector, create_detector, list_detectors, register_detector
    from mmadbench.detectors.torch_detector import TorchDetector
    from mmadbench.errors import MmadbenchError


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'mmadbench' has no attribute {name!r}")
