"""Detectors: the contract, the registry, and one module per detector (found automatically)."""

from .base import (
    Capabilities,
    Detector,
    create_detector,
    get_detector_class,
    list_detectors,
    load_plugin_file,
    register_detector,
)

__all__ = [
    "Capabilities",
    "Detector",
    "create_detector",
    "get_detector_class",
    "list_detectors",
    "load_plugin_file",
    "register_detector",
]
