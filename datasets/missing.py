"""Missing modalities at test time: marking a share of samples as lacking one modality, and the
standard ways to fill the gap before a detector that cannot handle gaps scores the data.

A missing value is zeroed as well as flagged, so a detector that ignored the mask would learn
nothing from the value that was there. Masks are nested: for one seed and modality, the samples
missing at a 10 % share are among those missing at 30 %, so a curve over shares varies only in
the share, not in which samples were drawn.

Imputations (each fitted on the clean training data):
- zeros: the missing modality becomes all zeros;
- mean: the training mean of each of its features;
- nearest: the value of the training sample nearest in the other, observed modalities
  (standardised per feature, each modality weighted equally), i.e. a cross-modal look-up.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from mmadbench.errors import ConfigError, DataError

from .data import MultiModalData

logger = logging.getLogger(__name__)

IMPUTATIONS = ("zeros", "mean", "nearest")
NATIVE = "native"  # not an imputation: the detector receives the mask (Capabilities.handles_missing)
NEAREST_BATCH = 1024  # query rows per distance block of the nearest-neighbour imputation


def missing_order(n: int, seed: int, modality_index: int) -> np.ndarray:
    """The order in which samples go missing for one seed and modality (shares take a prefix)."""
    return np.random.default_rng([seed, 11, modality_index]).permutation(n)


def mask_modality(data: MultiModalData, modality: str, share: float, order: np.ndarray) -> MultiModalData:
    """`data` with the first round(share * n) samples of `order` lacking `modality` (values zeroed)."""
    if modality not in data.names:
        raise DataError(f"dataset {data.name!r}: no modality {modality!r} to mark missing; it has {list(data.names)}")
    if not 0 <= share <= 1:
        raise ConfigError(f"a missing share must lie in [0, 1], got {share}")
    if len(order) != len(data):
        raise DataError(f"missing order has {len(order)} entries for {len(data)} samples")
    mask = ~data.observed(modality)  # samples already missing stay missing
    mask[order[: int(round(share * len(data)))]] = True
    values = dict(data.modalities)
    filled = np.array(values[modality], copy=True)
    filled[mask] = 0
    values[modality] = filled
    return data.with_missing(values, {**data.missing, modality: mask})


class Imputer(Protocol):
    """Fills missing modalities; `fit` on clean training data, `impute` returns data without gaps."""

    def fit(self, train: MultiModalData) -> Imputer: ...

    def impute(self, data: MultiModalData) -> MultiModalData: ...


def _flat(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float64).reshape(len(x), -1)


def _check_complete(train: MultiModalData) -> None:
    if train.has_missing:
        raise DataError(f"an imputer is fitted on complete training data; {train.name!r} has missing modalities")


def _filled(data: MultiModalData, fill) -> MultiModalData:
    """`data` with every missing row of every modality replaced by `fill(modality, rows)`."""
    values = dict(data.modalities)
    for m, mask in data.missing.items():
        column = np.array(values[m], copy=True)
        column[mask] = fill(m, mask).astype(column.dtype, copy=False)
        values[m] = column
    return data.with_missing(values, {})


@dataclass
class ZeroImputer:
    """Missing values become zeros (no fitting needed)."""

    def fit(self, train: MultiModalData) -> ZeroImputer:
        _check_complete(train)
        return self

    def impute(self, data: MultiModalData) -> MultiModalData:
        return _filled(data, lambda m, mask: np.zeros((int(mask.sum()), *data[m].shape[1:])))


@dataclass
class MeanImputer:
    """Missing values become the training mean of each feature of that modality."""

    means_: dict[str, np.ndarray] = field(default_factory=dict)

    def fit(self, train: MultiModalData) -> MeanImputer:
        _check_complete(train)
        self.means_ = {m: np.asarray(train[m], dtype=np.float64).mean(axis=0) for m in train.names}
        return self

    def impute(self, data: MultiModalData) -> MultiModalData:
        return _filled(data, lambda m, mask: np.broadcast_to(self.means_[m], (int(mask.sum()), *data[m].shape[1:])))


@dataclass
class NearestImputer:
    """Missing values come from the training sample nearest in the modalities this sample has.

    Each modality is standardised per feature on the training data and divided by the square root
    of its width, so every observed modality weighs the same in the distance."""

    train_: MultiModalData | None = None
    scaled_: dict[str, np.ndarray] = field(default_factory=dict)
    stats_: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)

    def fit(self, train: MultiModalData) -> NearestImputer:
        _check_complete(train)
        self.train_ = train
        for m in train.names:
            x = _flat(train[m])
            mean, std = x.mean(axis=0), x.std(axis=0)
            self.stats_[m] = (mean, np.where(std > 1e-12, std, 1.0) * np.sqrt(x.shape[1]))
            self.scaled_[m] = self._scale(m, x)
        return self

    def _scale(self, m: str, x: np.ndarray) -> np.ndarray:
        mean, scale = self.stats_[m]
        return ((x - mean) / scale).astype(np.float32)

    def _neighbours(self, data: MultiModalData, rows: np.ndarray, guide: list[str]) -> np.ndarray:
        """Index of the nearest training sample of each row, by the `guide` modalities."""
        reference = np.hstack([self.scaled_[g] for g in guide])
        ref_norms = (reference.astype(np.float64) ** 2).sum(axis=1)
        out = np.empty(len(rows), dtype=np.int64)
        for start in range(0, len(rows), NEAREST_BATCH):
            part = rows[start : start + NEAREST_BATCH]
            query = np.hstack([self._scale(g, _flat(data[g][part])) for g in guide])
            # |q - r|^2 up to the query's own norm, which does not change the arg-min
            out[start : start + NEAREST_BATCH] = np.argmin(ref_norms[None, :] - 2.0 * query @ reference.T, axis=1)
        return out

    def impute(self, data: MultiModalData) -> MultiModalData:
        if self.train_ is None:
            raise DataError("NearestImputer.impute before fit")

        def fill(m: str, mask: np.ndarray) -> np.ndarray:
            rows = np.flatnonzero(mask)
            guide = [g for g in data.names if g != m and data.observed(g)[rows].all()]
            if not guide:
                raise DataError(f"nearest imputation of {m!r}: no other modality is present in all its missing samples")
            return np.asarray(self.train_[m])[self._neighbours(data, rows, guide)]

        return _filled(data, fill)


def make_imputer(name: str) -> Imputer:
    """A fresh imputer by name (one of IMPUTATIONS)."""
    makers = {"zeros": ZeroImputer, "mean": MeanImputer, "nearest": NearestImputer}
    if name not in makers:
        raise ConfigError(f"unknown imputation {name!r}; known: {list(IMPUTATIONS)} (and {NATIVE!r})")
    return makers[name]()
