"""`MultiModalData`: the one container every step of the pipeline passes along.

Each sample has one array row per named modality, a class label, and after injection an
anomaly flag and type. A modality may be marked missing per sample (robustness evaluation).
Subsetting returns the same type, so splits and detectors never need to know how many
modalities there are.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType

import numpy as np

from mmadbench.errors import DataError

MODALITY_KINDS = ("image", "text", "audio", "vector")
ANOMALY_TYPES = ("normal", "attribute", "cross_modal", "mixed", "other_class")  # other_class: one-class protocol
_EXPECTED_NDIM = {"image": 4, "text": 2}


def _channels_last(shape: tuple[int, ...]) -> bool:
    """An image array that is probably (N, H, W, C): a last axis of 1, 3 or 4 channels after an
    axis of more than 4 (images rarely have more than four channels, and C, H, W rarely end in 1)."""
    return len(shape) == 4 and shape[-1] in (1, 3, 4) and shape[1] > 4


def _freeze(mapping: Mapping) -> Mapping:
    return MappingProxyType(dict(mapping))


def contiguous_read_only(array: np.ndarray) -> np.ndarray:
    """A read-only, C-contiguous array (copied only when the layout differs): a detector sees the
    same memory layout whether its input was just computed (e.g. a transposed view) or read back
    from a cache, so a kernel cannot sum in another order and give other bits."""
    return read_only(np.ascontiguousarray(array))


def read_only(array: np.ndarray | None) -> np.ndarray | None:
    """A read-only view of `array` (no copy): a detector that writes to its input fails loudly
    instead of changing the data every later cell sees."""
    if array is None:
        return None
    view = np.asarray(array).view()
    view.flags.writeable = False
    return view


@dataclass(frozen=True, eq=False)
class MultiModalData:
    """Named modalities of equal length, with class labels and (after injection) anomaly truth.

    modalities: name -> float32 array, first axis = samples (images are [n, C, H, W]).
    kinds: name -> one of MODALITY_KINDS, so detectors can pick an encoder per kind.
    labels: int class label per sample (the normal class structure, kept after injection), or
        None in a view handed to a detector that may not see them (see `blind`).
    anomaly: bool per sample, or None for clean data.
    anomaly_type: str per sample from ANOMALY_TYPES, or None for clean data.
    texts: raw captions per sample, kept for reports, or None.
    extras: per-sample side information that travels with subsets (e.g. the speaker of a voice).
    missing: name -> bool per sample, True where that modality is missing (its values are zeros
        then and say nothing); only modalities with a missing sample are listed. It is observed
        data, not truth: `blind` keeps it.
    """

    modalities: Mapping[str, np.ndarray]
    kinds: Mapping[str, str]
    labels: np.ndarray | None
    anomaly: np.ndarray | None = None
    anomaly_type: np.ndarray | None = None
    texts: np.ndarray | None = None
    name: str = "unnamed"
    meta: Mapping[str, object] = field(default_factory=dict)
    extras: Mapping[str, np.ndarray] = field(default_factory=dict)  # per-sample side data, e.g. speaker
    missing: Mapping[str, np.ndarray] = field(default_factory=dict)  # modality -> missing per sample

    def __post_init__(self) -> None:
        # every array is kept as a read-only view: the container is immutable all the way down
        modalities = {k: contiguous_read_only(np.asarray(v)) for k, v in self.modalities.items()}
        object.__setattr__(self, "modalities", _freeze(modalities))
        object.__setattr__(self, "kinds", _freeze(self.kinds))
        object.__setattr__(self, "meta", _freeze(self.meta))
        object.__setattr__(self, "extras", _freeze({k: read_only(v) for k, v in self.extras.items()}))
        object.__setattr__(self, "missing", _freeze({k: read_only(v) for k, v in self.missing.items()}))
        for key in ("labels", "anomaly", "anomaly_type", "texts"):
            object.__setattr__(self, key, read_only(getattr(self, key)))
        self._validate()

    def _validate(self) -> None:
        if not self.modalities:
            raise DataError(f"dataset {self.name!r}: needs at least one modality")
        if set(self.kinds) != set(self.modalities):
            raise DataError(
                f"dataset {self.name!r}: kinds {sorted(self.kinds)} do not match modalities {sorted(self.modalities)}"
            )
        n = len(self)
        for key, arr in self.modalities.items():
            kind = self.kinds[key]
            if kind not in MODALITY_KINDS:
                raise DataError(
                    f"dataset {self.name!r}: modality {key!r} has unknown kind {kind!r}; expected one of {MODALITY_KINDS}"
                )
            if not isinstance(arr, np.ndarray) or arr.ndim < 2:
                raise DataError(
                    f"dataset {self.name!r}: modality {key!r} must be an array of shape [n, ...], got {getattr(arr, 'shape', type(arr))}"
                )
            if arr.shape[0] != n:
                raise DataError(
                    f"dataset {self.name!r}: modality {key!r} has {arr.shape[0]} samples but there are {n} "
                    + ("labels" if self.labels is not None else f"in {self.names[0]!r}")
                )
            want = _EXPECTED_NDIM.get(kind)
            if want is not None and arr.ndim != want:
                raise DataError(
                    f"dataset {self.name!r}: {kind} modality {key!r} must have {want} dimensions, got shape {arr.shape}"
                )
            if kind == "image" and _channels_last(arr.shape):
                n_, h, w, c = arr.shape
                raise DataError(
                    f"dataset {self.name!r}: image modality {key!r} has shape {arr.shape}, which looks like "
                    f"(N, H, W, C) = ({n_}, {h}, {w}, {c}); images must be (N, C, H, W): pass "
                    f"array.transpose(0, 3, 1, 2), shape ({n_}, {c}, {h}, {w})"
                )
            if arr.dtype.kind == "f" and not np.isfinite(arr).all():
                bad = int((~np.isfinite(arr.reshape(n, -1))).any(axis=1).sum())
                raise DataError(f"dataset {self.name!r}: modality {key!r} has NaN or infinite values in {bad} samples")
        if self.labels is not None and self.labels.ndim != 1:
            raise DataError(f"dataset {self.name!r}: labels must be one-dimensional, got shape {self.labels.shape}")
        sides = {"anomaly": self.anomaly, "anomaly_type": self.anomaly_type, "texts": self.texts, **self.extras}
        for key, value in sides.items():
            if value is not None and len(value) != n:
                raise DataError(f"dataset {self.name!r}: {key} has {len(value)} entries but there are {n} samples")
        if (self.anomaly is None) != (self.anomaly_type is None):
            raise DataError(f"dataset {self.name!r}: anomaly and anomaly_type must be given together")
        self._validate_missing(n)

    def _validate_missing(self, n: int) -> None:
        for key, mask in self.missing.items():
            if key not in self.modalities:
                raise DataError(f"dataset {self.name!r}: missing-modality mask for unknown modality {key!r}")
            if mask.dtype != bool or mask.shape != (n,):
                raise DataError(
                    f"dataset {self.name!r}: the missing mask of {key!r} must be bool of shape ({n},), "
                    f"got {mask.dtype} {mask.shape}"
                )

    def __len__(self) -> int:
        if self.labels is not None:
            return len(self.labels)
        return len(next(iter(self.modalities.values()))) if self.modalities else 0

    @property
    def names(self) -> tuple[str, ...]:
        """Modality names in their stored order."""
        return tuple(self.modalities)

    @property
    def is_injected(self) -> bool:
        return self.anomaly is not None

    def __getitem__(self, key: str) -> np.ndarray:
        return self.modalities[key]

    def subset(self, index: np.ndarray | slice) -> MultiModalData:
        """The samples at `index` (integer positions or a boolean mask), same type and metadata."""
        pick = lambda a: None if a is None else a[index]  # noqa: E731
        return replace(
            self,
            modalities={k: v[index] for k, v in self.modalities.items()},
            labels=pick(self.labels),
            anomaly=pick(self.anomaly),
            anomaly_type=pick(self.anomaly_type),
            texts=pick(self.texts),
            extras={k: v[index] for k, v in self.extras.items()},
            missing={k: v[index] for k, v in self.missing.items()},
        )

    def select_modalities(self, names: list[str] | tuple[str, ...]) -> MultiModalData:
        """A view with only the named modalities, e.g. two of mfeat's six views, or all but one
        (a modality ablation)."""
        unknown = [m for m in names if m not in self.modalities]
        if unknown:
            raise DataError(f"dataset {self.name!r}: no modality {unknown}; it has {list(self.modalities)}")
        return replace(
            self,
            modalities={m: self.modalities[m] for m in names},
            kinds={m: self.kinds[m] for m in names},
            missing={m: v for m, v in self.missing.items() if m in names},
        )

    def with_missing(self, modalities: Mapping[str, np.ndarray], missing: Mapping[str, np.ndarray]) -> MultiModalData:
        """A copy with new modality values and missing-modality masks (masks with no True dropped)."""
        masks = {m: np.asarray(v, bool) for m, v in missing.items() if np.asarray(v).any()}
        return replace(self, modalities=modalities, missing=masks)

    @property
    def has_missing(self) -> bool:
        """Whether any sample lacks a modality (a mask with no True entry lacks nothing)."""
        return any(bool(np.any(mask)) for mask in self.missing.values())

    def observed(self, name: str) -> np.ndarray:
        """True per sample where modality `name` is present."""
        mask = self.missing.get(name)
        return np.ones(len(self), bool) if mask is None else ~mask

    def with_anomalies(
        self, modalities: Mapping[str, np.ndarray], anomaly: np.ndarray, anomaly_type: np.ndarray
    ) -> MultiModalData:
        """A copy carrying injected modality values and the per-sample truth."""
        return replace(
            self, modalities=modalities, anomaly=np.asarray(anomaly, bool), anomaly_type=np.asarray(anomaly_type)
        )

    def blind(self, labels: bool = False, anomalies: bool = False) -> MultiModalData:
        """The view a detector gets: modalities, kinds and names, without the truth.

        Class labels stay only with `labels=True` (a detector that declares it trains on them),
        the anomaly flag and type only with `anomalies=True` (a detector that declares it uses
        labelled validation data); raw captions (they spell the class) and per-sample extras are
        always dropped. Missing-modality masks stay: they are observed, not truth."""
        return replace(
            self,
            labels=self.labels if labels else None,
            anomaly=self.anomaly if anomalies else None,
            anomaly_type=self.anomaly_type if anomalies else None,
            texts=None,
            extras={},
        )

    def describe(self) -> str:
        """One line: name, sample count, and each modality's kind and feature shape."""
        parts = [f"{k}:{self.kinds[k]}{list(v.shape[1:])}" for k, v in self.modalities.items()]
        classes = "?" if self.labels is None else len(np.unique(self.labels))
        gaps = "".join(f" missing[{m}]={int(v.sum())}" for m, v in self.missing.items())
        return f"{self.name} n={len(self)} classes={classes} " + " ".join(parts) + gaps


def first_per_class(labels: np.ndarray, n: int) -> np.ndarray:
    """Sorted positions of the first `n` samples of every class (a quick, deterministic subset)."""
    return np.sort(np.concatenate([np.flatnonzero(labels == c)[:n] for c in np.unique(labels)]))
