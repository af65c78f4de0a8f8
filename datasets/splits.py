"""Seeded, class-stratified train / validation / test splits, and the cell's data preparation.

Two protocols. Injection (TN-BCL): training data stays clean (normal-only training, class
labels kept); validation and test get anomalies injected at the requested anomaly type and ratio.
One-class (CAE paper): one class is normal and every other class is anomalous.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mmadbench.errors import ConfigError, DataError

from .data import MultiModalData
from .injection import Ratio, inject, make_sampler


@dataclass(frozen=True)
class SplitConfig:
    """Fractions of the pooled clean data for train, validation and test (summing to 1)."""

    train: float = 0.6
    val: float = 0.2
    test: float = 0.2

    def __post_init__(self) -> None:
        parts = (self.train, self.val, self.test)
        if min(parts) <= 0 or abs(sum(parts) - 1.0) > 1e-6:
            raise ConfigError(
                f"split fractions must be positive and sum to 1, got train={self.train} val={self.val} test={self.test}"
            )


@dataclass(frozen=True)
class Splits:
    train: MultiModalData
    val: MultiModalData
    test: MultiModalData


@dataclass(frozen=True)
class InjectionConfig:
    """Injection protocol (TN-BCL): clean training data; validation and test get anomalies of
    `anomaly_type` at the normal:abnormal `ratio`, with values from `sampler`; cross-modal and
    mixed anomalies exchange `swap_modality` (None: a modality drawn per pair)."""

    anomaly_type: str
    ratio: str
    sampler: str = "uniform"
    holdout_classes: tuple[int, ...] = field(default_factory=tuple)
    swap_modality: str | None = None

    protocol = "injection"  # class attribute, not a field: the protocol's name in results

    def prepare(self, data: MultiModalData, split_config: SplitConfig, seed: int) -> Splits:
        """Clean data -> (optional held-out pool) -> split -> injected validation and test."""
        return prepare_injected(data, self, split_config, seed)


@dataclass(frozen=True)
class OneClassConfig:
    """One-class protocol: `normal_class` is normal, every other class anomalous (Laakom et al.).

    `train` of the normal class trains (no anomaly in training); the rest of it and all other
    classes are held out, and `val` of that (stratified by class) becomes the validation split
    for the harness's Youden threshold, the remainder the test split. With `anomaly_share`,
    anomalies are sub-sampled so that they are that share of validation and of test. With
    `class_subset`, only those classes take part (e.g. four, as the CAE paper's FIN-Benthic tasks,
    so that the anomaly share and P@n's chance level match the paper's).
    """

    normal_class: int
    train: float = 0.66
    val: float = 0.3
    anomaly_share: float | None = None
    class_subset: tuple[int, ...] = ()

    anomaly_type = "one_class"  # class attributes, not fields: the same interface as InjectionConfig
    sampler = "none"
    holdout_classes = ()
    swap_modality = None
    protocol = "one_class"

    def __post_init__(self) -> None:
        if not 0 < self.train < 1 or not 0 < self.val < 1:
            raise ConfigError(f"one_class.train and one_class.val must lie in (0, 1), got {self.train} and {self.val}")
        if self.anomaly_share is not None and not 0 < self.anomaly_share < 1:
            raise ConfigError(f"one_class.anomaly_share must lie in (0, 1), got {self.anomaly_share}")
        if self.class_subset and (self.normal_class not in self.class_subset or len(set(self.class_subset)) < 2):
            raise ConfigError(
                f"one_class.class_subset {list(self.class_subset)} must hold the normal class "
                f"{self.normal_class} and at least one other"
            )

    @property
    def ratio(self) -> str:
        """The anomaly share of validation and test, as the report shows it (and how many other
        classes take part when they are a subset)."""
        if not self.class_subset:
            return "all others" if self.anomaly_share is None else f"{self.anomaly_share:.0%} others"
        others = f"{len(set(self.class_subset)) - 1} others"
        return others if self.anomaly_share is None else f"{self.anomaly_share:.0%} of {others}"

    def prepare(self, data: MultiModalData, split_config: SplitConfig, seed: int) -> Splits:
        """Train on part of the normal class; validate and test against every other class
        (`split_config` does not apply: the protocol's own fractions do)."""
        return prepare_one_class(data, self, seed)


def split(data: MultiModalData, config: SplitConfig, seed: int) -> Splits:
    """Stratified train/val/test index split of clean data, reproducible for a seed."""
    from sklearn.model_selection import train_test_split  # imported when used: listing stays fast

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


def prepare(
    data: MultiModalData, protocol: InjectionConfig | OneClassConfig, split_config: SplitConfig, seed: int
) -> Splits:
    """The cell's train / validation / test data under its protocol (injection or one-class)."""
    return protocol.prepare(data, split_config, seed)


def prepare_injected(data: MultiModalData, injection: InjectionConfig, split_config: SplitConfig, seed: int) -> Splits:
    """Source data -> (optional held-out pool) -> split -> injected validation and test."""
    ratio = Ratio.parse(injection.ratio)
    sampler_val, sampler_test = make_sampler(injection.sampler), make_sampler(injection.sampler)
    if injection.sampler == "holdout":
        if not injection.holdout_classes:
            raise ConfigError("the 'holdout' sampler needs holdout_classes, e.g. [9]")
        held = np.isin(data.labels, injection.holdout_classes)
        if not held.any() or held.all() or held.sum() < 2:
            raise ConfigError(
                f"holdout_classes {list(injection.holdout_classes)} must name some but not all classes of {data.name!r}"
            )
        # disjoint halves of the pool for validation and test, so no anomaly appears in both
        pool = np.random.default_rng([seed, 3]).permutation(np.flatnonzero(held))
        sampler_val.fit(data.subset(np.sort(pool[: len(pool) // 2])))
        sampler_test.fit(data.subset(np.sort(pool[len(pool) // 2 :])))
        data = data.subset(~held)
    parts = split(data, split_config, seed)
    if injection.sampler != "holdout":
        sampler_val.fit(parts.train)
        sampler_test = sampler_val
    rng_val, rng_test = np.random.default_rng([seed, 1]), np.random.default_rng([seed, 2])
    return Splits(
        train=parts.train,
        val=inject(parts.val, injection.anomaly_type, ratio, sampler_val, rng_val, injection.swap_modality),
        test=inject(parts.test, injection.anomaly_type, ratio, sampler_test, rng_test, injection.swap_modality),
    )


def prepare_one_class(data: MultiModalData, config: OneClassConfig, seed: int) -> Splits:
    """Train on part of one class; validate and test on the rest of it against all other classes."""
    from sklearn.model_selection import train_test_split  # imported when used: listing stays fast

    if config.class_subset:
        present = np.isin(config.class_subset, data.labels)
        if not present.all():
            raise ConfigError(
                f"one_class.class_subset: classes {np.asarray(config.class_subset)[~present].tolist()} do not occur "
                f"in {data.name!r}; its classes are {np.unique(data.labels).tolist()}"
            )
        data = data.subset(np.isin(data.labels, config.class_subset))
    normal = data.labels == config.normal_class
    if not normal.any():
        raise ConfigError(
            f"one_class: class {config.normal_class} does not occur in {data.name!r}; "
            f"its classes are {np.unique(data.labels).tolist()}"
        )
    if normal.all():
        raise DataError(f"one_class: {data.name!r} has no class other than {config.normal_class}")
    rng = np.random.default_rng([seed, 5, config.normal_class])
    own = rng.permutation(np.flatnonzero(normal))
    n_train = int(round(config.train * len(own)))
    if n_train < 2 or len(own) - n_train < 2:
        raise DataError(
            f"one_class: class {config.normal_class} of {data.name!r} has {len(own)} samples, "
            f"too few to train on {config.train:.0%} and hold out the rest"
        )
    held = np.concatenate([own[n_train:], np.flatnonzero(~normal)])
    try:
        val_idx, test_idx = train_test_split(held, train_size=config.val, random_state=seed, stratify=data.labels[held])
    except ValueError:  # a class too small to stratify: split at random
        val_idx, test_idx = train_test_split(held, train_size=config.val, random_state=seed)
    train = data.subset(np.sort(own[:n_train]))
    return Splits(train, _one_class_part(data, val_idx, config, rng), _one_class_part(data, test_idx, config, rng))


def _one_class_part(
    data: MultiModalData, idx: np.ndarray, config: OneClassConfig, rng: np.random.Generator
) -> MultiModalData:
    """A held-out part with other-class samples flagged (anomaly type 'other_class')."""
    other = data.labels[idx] != config.normal_class
    if config.anomaly_share is not None:
        n_normal = int((~other).sum())
        want = int(round(n_normal * config.anomaly_share / (1 - config.anomaly_share)))
        if want < other.sum():
            keep = rng.choice(np.flatnonzero(other), size=max(want, 1), replace=False)
            idx = np.concatenate([idx[~other], idx[keep]])
            other = data.labels[idx] != config.normal_class
    order = np.argsort(idx)
    part = data.subset(idx[order])
    other = other[order]
    values = {m: part[m] for m in part.names}
    return part.with_anomalies(values, other, np.where(other, "other_class", "normal").astype(str))
