"""Seeded, class-stratified train / validation / test splits, and the cell's data preparation.

Training data stays clean (one-class / normal-only training, class labels kept); validation
and test get anomalies injected at the requested kind and ratio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from sklearn.model_selection import train_test_split

from mmadbench.errors import ConfigError, DataError

from .data import MultiModalData
from .injection import Ratio, inject, make_generator


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of the pooled clean data for train, validation and test (summing to 1)."""

    train: float = 0.6
    val: float = 0.2
    test: float = 0.2

    def __post_init__(self) -> None:
        parts = (self.train, self.val, self.test)
        if min(parts) <= 0 or abs(sum(parts) - 1.0) > 1e-6:
            raise ConfigError(f"split fractions must be positive and sum to 1, got train={self.train} val={self.val} test={self.test}")


@dataclass(frozen=True)
class Splits:
    train: MultiModalData
    val: MultiModalData
    test: MultiModalData


@dataclass(frozen=True)
class InjectionConfig:
    """What to inject into validation and test: kind, normal:abnormal ratio, value generator."""

    kind: str
    ratio: str
    generator: str = "uniform"
    holdout_classes: tuple[int, ...] = field(default_factory=tuple)


def split(data: MultiModalData, config: SplitConfig, seed: int) -> Splits:
    """Stratified train/val/test index split of clean data, reproducible for a seed."""
    idx = np.arange(len(data))
    strat = data.labels if np.unique(data.labels, return_counts=True)[1].min() >= 3 else None
    try:
        train_idx, rest = train_test_split(idx, train_size=config.train, random_state=seed, stratify=strat)
        val_share = config.val / (config.val + config.test)
        rest_strat = None if strat is None else strat[rest]
        if rest_strat is not None and np.unique(rest_strat, return_counts=True)[1].min() < 2:
            rest_strat = None  # a class too small to appear in both validation and test
        val_idx, test_idx = train_test_split(rest, train_size=val_share, random_state=seed + 1, stratify=rest_strat)
    except ValueError as exc:
        raise DataError(f"dataset {data.name!r} ({len(data)} samples) cannot be split as {config}: {exc}") from None
    return Splits(data.subset(np.sort(train_idx)), data.subset(np.sort(val_idx)), data.subset(np.sort(test_idx)))


def prepare(data: MultiModalData, injection: InjectionConfig, split_config: SplitConfig, seed: int) -> Splits:
    """Source data -> (optional held-out pool) -> split -> injected validation and test."""
    ratio = Ratio.parse(injection.ratio)
    gen_val, gen_test = make_generator(injection.generator), make_generator(injection.generator)
    if injection.generator == "holdout":
        if not injection.holdout_classes:
            raise ConfigError("the 'holdout' generator needs holdout_classes, e.g. [9]")
        held = np.isin(data.labels, injection.holdout_classes)
        if not held.any() or held.all() or held.sum() < 2:
            raise ConfigError(f"holdout_classes {list(injection.holdout_classes)} must name some but not all classes of {data.name!r}")
        # disjoint halves of the pool for validation and test, so no anomaly appears in both
        pool = np.random.default_rng([seed, 3]).permutation(np.flatnonzero(held))
        gen_val.fit(data.subset(np.sort(pool[: len(pool) // 2])))
        gen_test.fit(data.subset(np.sort(pool[len(pool) // 2 :])))
        data = data.subset(~held)
    parts = split(data, split_config, seed)
    if injection.generator != "holdout":
        gen_val.fit(parts.train)
        gen_test = gen_val
    rng_val, rng_test = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    return Splits(
        train=parts.train,
        val=inject(parts.val, injection.kind, ratio, gen_val, rng_val),
        test=inject(parts.test, injection.kind, ratio, gen_test, rng_test),
    )
