"""Detectors: the contract (`base`), the registry of names (`registry`), the TorchDetector base
for deep detectors, and one module or package per detector."""

from .base import Capabilities, Detector
from .registry import (
    create_detector,
    describe,
    get_detector_class,
    list_detectors,
    load_plugin_file,
    register_detector,
    unregister_detector,
)

__all__ = [
    "Capabilities",
    "Detector",
    "create_detector",
    "describe",
    "get_detector_class",
    "list_detectors",
    "load_plugin_file",
    "register_detector",
    "unregister_detector",
]
