"""Anomaly injection: attribute, cross-modal, mixed, or equal parts of all three.

The paper's wording (TN-BCL, Sec. IV-A) is followed: attribute anomalies replace a sample's
values in every modality; cross-modal anomalies scramble pairs so that two samples of different
classes swap one modality (each looks normal alone, the pair does not match); mixed anomalies
swap one modality and corrupt another. Anomalous values come from a pluggable sampler.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from mmadbench.errors import ConfigError, DataError

from .data import MultiModalData

logger = logging.getLogger(__name__)

# what `inject` takes as the anomaly type: one type, or "all" (equal parts of the three)
INJECTED_TYPES = ("attribute", "cross_modal", "mixed", "all")


# the order of SCoNE's ratio sets: attribute / mixed (class-attribute) / cross-modal (class)
COMPOSITION_ORDER = ("attribute", "mixed", "cross_modal")


@dataclass(frozen=True)
class Ratio:
    """A normal:abnormal ratio such as 9:1 or 1:4 (TN-BCL Table V), or a composition in percent
    of the whole split such as 2/5/8% (attribute / mixed / cross-modal, SCoNE's ratio sets)."""

    normal: float
    abnormal: float
    shares: tuple[float, ...] = ()  # percent per type in COMPOSITION_ORDER; empty for a:b ratios

    @classmethod
    def parse(cls, text: str) -> Ratio:
        """Parse "a:b" (positive integers) or "a/m/c%" (percentages), or raise a ConfigError."""
        text = str(text).strip()
        if text.endswith("%"):
            return cls._parse_composition(text)
        parts = text.split(":")
        try:
            a, b = (int(p) for p in parts)
        except ValueError:
            raise ConfigError(
                f"ratio {text!r} is not of the form 'normal:abnormal' such as '9:1', "
                "or 'attribute/mixed/cross_modal%' such as '2/5/8%'"
            ) from None
        if a <= 0 or b <= 0:
            raise ConfigError(f"ratio {text!r}: both sides must be positive integers")
        return cls(a, b)

    @classmethod
    def _parse_composition(cls, text: str) -> Ratio:
        try:
            shares = tuple(float(p) for p in text[:-1].split("/"))
        except ValueError:
            shares = ()
        if len(shares) != 3 or min(shares) < 0 or not 0 < sum(shares) < 100:
            raise ConfigError(
                f"ratio {text!r}: a composition needs three percentages "
                "(attribute/mixed/cross_modal) summing to between 0 and 100, such as '2/5/8%'"
            )
        total = sum(shares)
        return cls(100 - total, total, shares)

    @property
    def anomaly_share(self) -> float:
        return self.abnormal / (self.normal + self.abnormal)

    def type_counts(self, anomaly_type: str, k: int) -> dict[str, int]:
        """How many of the k anomalies each type gets: the composition's shares, or by `anomaly_type`."""
        if not self.shares:
            return _type_counts(anomaly_type, k)
        if anomaly_type != "all":
            raise ConfigError(
                f"a composition ratio ({self}) sets every type's share; use it with anomaly type 'all', not {anomaly_type!r}"
            )
        exact = np.array(self.shares) / sum(self.shares) * k
        counts = np.floor(exact).astype(int)
        counts[np.argsort(counts - exact)[: k - counts.sum()]] += 1  # largest remainders
        return dict(zip(COMPOSITION_ORDER, counts.tolist()))

    def __str__(self) -> str:
        if self.shares:
            return "/".join(f"{s:g}" for s in self.shares) + "%"
        return f"{self.normal:g}:{self.abnormal:g}"


class AnomalySampler(Protocol):
    """Source of anomalous modality values; fitted on clean training data before use."""

    def fit(self, normal: MultiModalData) -> AnomalySampler: ...

    def sample(self, n: int, modalities: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
        """`n` rows for each named modality; rows i across modalities belong together."""
        ...


class UniformNoise:
    """Uniform noise inside each feature's range on normal data (the default sampler)."""

    def fit(self, normal: MultiModalData) -> UniformNoise:
        self.low_ = {k: v.min(axis=0) for k, v in normal.modalities.items()}
        self.high_ = {k: v.max(axis=0) for k, v in normal.modalities.items()}
        return self

    def sample(self, n: int, modalities: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
        out = {}
        for m in modalities:
            low, high = self.low_[m], self.high_[m]
            u = rng.random((n, *low.shape), dtype=np.float32)
            out[m] = (low + u * (high - low)).astype(np.float32)
        return out


class HeldOutPool:
    """Real samples of classes held out of training, validation and test (e.g. unseen identities).

    The pool is given to `fit` as the held-out samples; rows are drawn with replacement and the
    same pool row serves every modality of one anomaly, so attribute anomalies are coherent
    samples of a class the detector never saw.
    """

    def fit(self, normal: MultiModalData) -> HeldOutPool:
        self.pool_ = normal
        return self

    def sample(self, n: int, modalities: list[str], rng: np.random.Generator) -> dict[str, np.ndarray]:
        rows = rng.integers(0, len(self.pool_), size=n)
        return {m: self.pool_[m][rows] for m in modalities}


SAMPLERS: dict[str, Callable[[], AnomalySampler]] = {"uniform": UniformNoise, "holdout": HeldOutPool}


def make_sampler(name: str) -> AnomalySampler:
    """A fresh sampler of anomalous values by name; unknown names list the known ones."""
    try:
        return SAMPLERS[name]()
    except KeyError:
        raise ConfigError(f"unknown anomaly sampler {name!r}; known: {sorted(SAMPLERS)}") from None


def count_anomalies(n: int, ratio: Ratio) -> int:
    """Anomalies in a split of n samples at `ratio`, at least one anomaly and one normal."""
    if n < 2:
        raise DataError(f"a split of {n} sample(s) is too small to inject anomalies")
    return int(min(max(round(n * ratio.anomaly_share), 1), n - 1))


def _type_counts(anomaly_type: str, k: int) -> dict[str, int]:
    if anomaly_type not in INJECTED_TYPES:
        raise ConfigError(f"unknown anomaly type {anomaly_type!r}; known: {list(INJECTED_TYPES)}")
    if anomaly_type != "all":
        return {anomaly_type: k}
    base, extra = divmod(k, 3)
    return {t: base + (i < extra) for i, t in enumerate(("attribute", "cross_modal", "mixed"))}


def _partners(labels: np.ndarray, idx: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For each index, another sample of a different class to exchange a modality with.

    Selected samples are paired at random so that most anomalies are true two-way swaps (both
    members are anomalies); a sample left without a different-class partner takes its value
    from a random sample of another class (a one-way copy).
    """
    if len(np.unique(labels)) < 2:
        raise DataError("cross-modal and mixed injection need at least two classes in the split")
    partner = np.full(len(labels), -1)
    pending = rng.permutation(idx)
    for _ in range(20):
        half = len(pending) // 2
        a, b = pending[:half], pending[half : 2 * half]
        ok = labels[a] != labels[b]
        partner[a[ok]], partner[b[ok]] = b[ok], a[ok]
        pending = rng.permutation(np.concatenate([a[~ok], b[~ok], pending[2 * half :]]))
        if len(pending) < 2 or ok.sum() == 0 and len(np.unique(labels[pending])) < 2:
            break
    for i in pending:  # few leftovers: one-way copies from another class
        partner[i] = rng.choice(np.flatnonzero(labels != labels[i]))
    return partner[idx]


def inject(
    data: MultiModalData,
    anomaly_type: str,
    ratio: Ratio,
    sampler: AnomalySampler,
    rng: np.random.Generator,
    swap_modality: str | None = None,
) -> MultiModalData:
    """Return `data` with anomalies of `anomaly_type` injected at `ratio`; untouched samples stay normal.

    `sampler` must already be fitted (on the clean training split). `swap_modality`: the modality
    that cross-modal and mixed anomalies exchange; None draws it per pair (the paper's reading).
    """
    if data.is_injected:
        raise DataError(f"dataset {data.name!r} already carries injected anomalies")
    n, names = len(data), list(data.names)
    if swap_modality is not None and swap_modality not in names:
        raise DataError(f"dataset {data.name!r}: no modality {swap_modality!r} to swap; it has {names}")
    counts = ratio.type_counts(anomaly_type, count_anomalies(n, ratio))
    if len(names) < 2 and any(k and t != "attribute" for t, k in counts.items()):
        raise DataError(f"dataset {data.name!r}: cross-modal and mixed anomalies need two or more modalities")
    chosen = rng.permutation(n)[: sum(counts.values())]
    values = {m: data[m].copy() for m in names}
    anomaly_type = np.full(n, "normal", dtype=object)
    start = 0
    for atype, k in counts.items():
        idx = np.sort(chosen[start : start + k])
        start += k
        if k:
            _apply(atype, idx, data, values, sampler, rng, swap_modality)
            anomaly_type[idx] = atype
    logger.debug("injected %s into %s: %s", anomaly_type, data.name, counts)
    return data.with_anomalies(values, anomaly_type != "normal", anomaly_type.astype(str))


def _apply(
    atype: str,
    idx: np.ndarray,
    data: MultiModalData,
    values: dict[str, np.ndarray],
    sampler: AnomalySampler,
    rng: np.random.Generator,
    swap_modality: str | None = None,
) -> None:
    """Write anomalies of one type into `values` at `idx` (reads originals from `data`)."""
    names = list(data.names)
    if atype == "attribute":
        fresh = sampler.sample(len(idx), names, rng)
        for m in names:
            values[m][idx] = fresh[m]
        return
    partner = _partners(data.labels, idx, rng)
    # one swapped modality per pair: a swap partner copies the choice of its lower index
    swap = rng.integers(0, len(names), size=len(data))  # drawn either way: the same stream follows
    pair_min = np.minimum(idx, partner)
    swap_at = swap[pair_min] if swap_modality is None else np.full(len(idx), names.index(swap_modality))
    for j, m in enumerate(names):
        rows = swap_at == j
        values[m][idx[rows]] = data[m][partner[rows]]
    if atype == "mixed":  # corrupt one other modality with sampled values
        offset = rng.integers(1, len(names), size=len(idx))
        corrupt_at = (swap_at + offset) % len(names)
        for j, m in enumerate(names):
            rows = idx[corrupt_at == j]
            if len(rows):
                values[m][rows] = sampler.sample(len(rows), [m], rng)[m]
