"""Data: the MultiModalData container, sources, encoders, anomaly injection and splits."""

from .data import ANOMALY_TYPES, MODALITY_KINDS, MultiModalData
from .injection import INJECTED_TYPES, Ratio, inject
from .registry import list_datasets, load_dataset, register_dataset
from .splits import InjectionConfig, OneClassConfig, SplitConfig, Splits, prepare, split

__all__ = [
    "ANOMALY_TYPES",
    "INJECTED_TYPES",
    "MODALITY_KINDS",
    "InjectionConfig",
    "MultiModalData",
    "OneClassConfig",
    "Ratio",
    "SplitConfig",
    "Splits",
    "inject",
    "list_datasets",
    "load_dataset",
    "prepare",
    "register_dataset",
    "split",
]
