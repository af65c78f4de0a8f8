"""Sweep files (TOML) and their expansion into independent, hashed benchmark cells.

A sweep is datasets x anomaly kinds x ratios x detectors x seeds. Each cell is a frozen
spec whose id is a hash of its full configuration, so a sweep can stop and resume anywhere.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from mmadbench.datasets.injection import ANOMALY_KINDS, GENERATORS, Ratio
from mmadbench.datasets.splits import InjectionConfig, SplitConfig
from mmadbench.detectors.base import get_detector_class, list_detectors
from mmadbench.errors import ConfigError
from mmadbench.version import CELL_FORMAT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    options: tuple[tuple[str, Any], ...] = ()

    @property
    def label(self) -> str:
        return self.name if not self.options else f"{self.name}({', '.join(f'{k}={v}' for k, v in self.options)})"


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    label: str = ""

    @property
    def display(self) -> str:
        return self.label or self.name


@dataclass(frozen=True)
class Cell:
    """One benchmark cell: everything that determines its numbers, and its stable id."""

    dataset: DatasetSpec
    injection: InjectionConfig
    split: SplitConfig
    detector: DetectorSpec
    seed: int

    def key(self) -> dict[str, Any]:
        """The canonical configuration hashed into the cell id."""
        key = {"dataset": [self.dataset.name, dict(self.dataset.options)], "injection": asdict(self.injection),
               "split": asdict(self.split), "detector": [self.detector.name, dict(self.detector.params)],
               "seed": self.seed, "cell_format": CELL_FORMAT}
        if self.detector.label:  # two labelled entries of one detector are two cells
            key["label"] = self.detector.label
        return key

    @property
    def cell_id(self) -> str:
        blob = json.dumps(self.key(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:20]

    @property
    def data_key(self) -> tuple:
        """Cells sharing this key share the same injected splits."""
        return (self.dataset, self.injection, self.split, self.seed)


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep file."""

    name: str
    datasets: tuple[DatasetSpec, ...]
    kinds: tuple[str, ...]
    ratios: tuple[str, ...]
    detectors: tuple[DetectorSpec, ...]
    seeds: tuple[int, ...] = (0,)
    generator: str = "uniform"
    holdout_classes: tuple[int, ...] = ()
    split: SplitConfig = field(default_factory=SplitConfig)
    device: str = "auto"
    time_limit_s: float | None = None  # per cell; needs worker processes
    memory_limit_mb: float | None = None  # per worker process
    source: str = ""  # the file's text, kept for provenance

    def expand(self) -> list[Cell]:
        """Every cell, detectors named "*" (or a pattern) resolved against the registry now."""
        detectors = _resolve_detectors(self.detectors)
        cells = []
        for ds, kind, ratio, seed, det in itertools.product(self.datasets, self.kinds, self.ratios, self.seeds, detectors):
            inj = InjectionConfig(kind, ratio, self.generator, self.holdout_classes)
            cells.append(Cell(ds, inj, self.split, det, seed))
        return cells


def _resolve_detectors(specs: tuple[DetectorSpec, ...]) -> list[DetectorSpec]:
    out: list[DetectorSpec] = []
    for spec in specs:
        if any(c in spec.name for c in "*?["):
            names = list_detectors(spec.name)
            if not names:
                raise ConfigError(f"detector pattern {spec.name!r} matches no registered detector")
            out.extend(DetectorSpec(n, spec.params) for n in names)
        else:
            get_detector_class(spec.name)  # unknown names fail here, before anything runs
            out.append(spec)
    seen: dict[str, DetectorSpec] = {}
    for spec in out:
        if spec.display in seen and seen[spec.display] != spec:
            raise ConfigError(f"two detector entries are both shown as {spec.display!r}; give one a distinct `label`")
        seen[spec.display] = spec
    return list(seen.values())


def _frozen(mapping: Any, where: str) -> tuple[tuple[str, Any], ...]:
    if mapping is None:
        return ()
    if not isinstance(mapping, dict):
        raise ConfigError(f"{where} must be a table of options, got {mapping!r}")
    return tuple(sorted((k, _hashable(v)) for k, v in mapping.items()))


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    return value


def _as_list(value: Any, where: str) -> list:
    if isinstance(value, (str, int, dict)):
        return [value]
    if not isinstance(value, list) or not value:
        raise ConfigError(f"{where} must be a non-empty list, got {value!r}")
    return value


def _expect(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def parse_sweep(text: str, name: str = "sweep") -> SweepConfig:
    """Parse sweep TOML text; every problem raises a ConfigError that names the key."""
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"sweep file is not valid TOML: {exc}") from None
    _expect(raw, {"name", "seeds", "device", "datasets", "anomalies", "split", "detectors", "time_limit_s",
                  "memory_limit_mb"}, "sweep")
    limits = {k: raw.get(k) for k in ("time_limit_s", "memory_limit_mb")}
    for key, value in limits.items():
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"{key} must be a positive number, got {value!r}")
    datasets = []
    for i, ds in enumerate(_as_list(raw.get("datasets"), "datasets")):
        ds = {"name": ds} if isinstance(ds, str) else ds
        if not isinstance(ds, dict) or "name" not in ds:
            raise ConfigError(f"datasets[{i}] needs a name")
        _expect(ds, {"name", "options"}, f"datasets[{i}]")
        datasets.append(DatasetSpec(str(ds["name"]), _frozen(ds.get("options"), f"datasets[{i}].options")))
    anomalies = raw.get("anomalies") or {}
    _expect(anomalies, {"kinds", "ratios", "generator", "holdout_classes"}, "anomalies")
    kinds = tuple(_as_list(anomalies.get("kinds", list(ANOMALY_KINDS)), "anomalies.kinds"))
    for kind in kinds:
        if kind not in ANOMALY_KINDS:
            raise ConfigError(f"anomalies.kinds: unknown kind {kind!r}; known: {list(ANOMALY_KINDS)}")
    ratios = tuple(str(Ratio.parse(r)) for r in _as_list(anomalies.get("ratios", ["1:1"]), "anomalies.ratios"))
    generator = str(anomalies.get("generator", "uniform"))
    if generator not in GENERATORS:
        raise ConfigError(f"anomalies.generator: unknown generator {generator!r}; known: {sorted(GENERATORS)}")
    detectors = []
    for i, det in enumerate(_as_list(raw.get("detectors", [{"name": "*"}]), "detectors")):
        det = {"name": det} if isinstance(det, str) else det
        if not isinstance(det, dict) or "name" not in det:
            raise ConfigError(f"detectors[{i}] needs a name")
        _expect(det, {"name", "params", "label"}, f"detectors[{i}]")
        detectors.append(DetectorSpec(str(det["name"]), _frozen(det.get("params"), f"detectors[{i}].params"),
                                      str(det.get("label", ""))))
    seeds = _as_list(raw.get("seeds", [0]), "seeds")
    if not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"seeds must be integers, got {seeds!r}")
    split_raw = raw.get("split") or {}
    _expect(split_raw, {"train", "val", "test"}, "split")
    device = str(raw.get("device", "auto"))
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise ConfigError(f"device must be auto, cpu or cuda, got {device!r}")
    return SweepConfig(
        name=str(raw.get("name", name)), datasets=tuple(datasets), kinds=kinds, ratios=ratios,
        detectors=tuple(detectors), seeds=tuple(seeds), generator=generator,
        holdout_classes=tuple(int(c) for c in anomalies.get("holdout_classes", [])),
        split=SplitConfig(**{k: float(v) for k, v in split_raw.items()}), device=device, source=text, **limits)


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and parse a sweep file; a missing file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    return parse_sweep(path.read_text(), name=path.stem)
