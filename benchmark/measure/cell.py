"""One benchmark cell: its identity, and how it runs.

A cell is one (dataset, protocol setting, split, detector, seed, threads) combination, with a
modality left out or a missing-modality test plan where the sweep asks for robustness. `expand`
turns a parsed sweep into frozen cells, each with an id that hashes everything that changes its
numbers: the dataset's name, every loader option (defaults included) and a fingerprint of the
loaded arrays; the protocol setting and split; the detector's resolved hyper-parameters and a
fingerprint of its code; the code of splits, injection and evaluation (with metrics); the seed; the thread count;
the device for detectors that take one; the dropped modality or missing-modality plan and the
robustness code, where set. The id is computed once, here.

`execute_cell` runs one cell: prepare the splits, evaluate the detector on them (read-only,
truth-free views in a seeded random order; see `evaluate`), and return a typed `CellResult` -
never raising for a detector's failure.
"""

from __future__ import annotations

import contextlib
import difflib
import functools
import hashlib
import inspect
import itertools
import json
import logging
import os
import sys
import time
import traceback
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np

from mmadbench.benchmark.measure import evaluate, memory, robustness
from mmadbench.benchmark.measure.config import DatasetSpec, DetectorSpec, RobustnessConfig, SweepConfig
from mmadbench.benchmark.measure.evaluate import Shuffler, fit_views
from mmadbench.benchmark.measure.identity import code_fingerprint, data_fingerprint, git_revision, versions
from mmadbench.benchmark.measure.result import CellResult
from mmadbench.benchmark.measure.roc import stored_curve
from mmadbench.datasets.data import MultiModalData
from mmadbench.datasets.registry import LOCATION_OPTIONS, load_dataset, resolved_options
from mmadbench.datasets.splits import InjectionConfig, OneClassConfig, SplitConfig, Splits
from mmadbench.detectors.base import Detector
from mmadbench.detectors.constraints import check_parameters
from mmadbench.detectors.registry import create_detector, get_detector_class, list_detectors
from mmadbench.detectors.trained_cache import use_slot
from mmadbench.errors import ConfigError, DataError, ParameterError
from mmadbench.version import CELL_FORMAT, __version__

logger = logging.getLogger(__name__)

# The harness code that turns a dataset into a cell's numbers: splits (and through its imports
# injection and the data container) and evaluation (views, blind scoring, metrics).
HARNESS_MODULES = ("mmadbench.datasets.splits", "mmadbench.benchmark.measure.evaluate")
ROBUSTNESS_MODULES = ("mmadbench.benchmark.measure.robustness",)  # and, for robustness cells, ablation and masking
_EXCLUDED_PARAMS = ("self", "random_state", "device")  # the seed and device are keyed on their own
# injection settings that change the validation and test splits only: training data is clean and
# split by seed alone (holdout classes and the sampler stay in the training key: they change it)
INJECTION_SCORING_ONLY = ("anomaly_type", "ratio", "swap_modality")


@dataclass(frozen=True)
class Cell:
    """A frozen cell spec with its id (see the module docstring for what the id covers)."""

    dataset: DatasetSpec
    protocol: InjectionConfig | OneClassConfig
    split: SplitConfig
    detector: DetectorSpec
    seed: int
    threads: int
    identity: str  # canonical JSON of everything hashed into cell_id
    cell_id: str
    dropped_modality: str | None = None  # an ablation cell: fitted and scored without this modality
    missing: robustness.MissingPlan | None = None  # also scored with modalities missing at test time

    @property
    def data_key(self) -> tuple:
        """Cells sharing this key share the same prepared splits."""
        return (self.dataset, self.protocol, self.split, self.seed)

    @property
    def key(self) -> dict[str, Any]:
        """The identity as a dictionary."""
        return json.loads(self.identity)

    @functools.cached_property
    def training_key(self) -> str:
        """Cells with equal keys train the same detector (parameters, code, seed, threads, device)
        on the same data with the same libraries: the identity without what changes only
        validation and test (the injected anomalies) or only scoring (modalities missing at test
        time), plus the library versions (not in the identity: a resumed store checks them)."""
        key = self.key
        key.pop("missing", None)
        key["detector"].pop("display_name", None)
        if key["protocol"] == "injection":
            key["setting"] = {k: v for k, v in key["setting"].items() if k not in INJECTION_SCORING_ONLY}
        key["versions"] = versions()
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:24]


@dataclass(frozen=True)
class RunOptions:
    """How cells run: where the data is, on which device, and the limits of one cell."""

    data_root: str | None = None
    device: str = "cpu"
    sweep: str = ""
    time_limit_s: float | None = None
    memory_limit_mb: float | None = None
    plugins: tuple[str, ...] = field(default_factory=tuple)
    isolate: bool = False  # each cell in a fresh worker process (timing-grade sweeps)
    trained_folder: str | None = None  # where trained networks are kept for cells with the same training


@dataclass
class Outcome:
    """A finished cell: its record for the store and, when it ran, its scores."""

    result: CellResult
    scores: dict[str, np.ndarray] | None = None

    @property
    def status(self) -> str:
        return self.result.status or "error"


class DataCache:
    """Loaded datasets (with their fingerprints) and the last few prepared splits of one process."""

    # a detector's cells of one seed run back to back over every setting (the runner's order), so
    # the cache holds a seed's settings: Table V's nine ratios, the default bench's eight
    def __init__(self, data_root: str | None, max_splits: int = 12) -> None:
        self.data_root = data_root
        self._data: dict[DatasetSpec, tuple[MultiModalData, str]] = {}
        self._splits: OrderedDict[tuple, Splits] = OrderedDict()
        self.max_splits = max_splits

    def _entry(self, spec: DatasetSpec) -> tuple[MultiModalData, str]:
        if spec not in self._data:
            data = load_dataset(spec.name, self.data_root, **dict(spec.options))
            self._data[spec] = (data, data_fingerprint(data))
        return self._data[spec]

    def dataset(self, spec: DatasetSpec) -> MultiModalData:
        return self._entry(spec)[0]

    def fingerprint(self, spec: DatasetSpec) -> str:
        return self._entry(spec)[1]

    def splits(self, cell: Cell) -> Splits:
        key = cell.data_key
        if key not in self._splits:
            data = self.dataset(cell.dataset)
            self._splits[key] = cell.protocol.prepare(data, cell.split, cell.seed)
            while len(self._splits) > self.max_splits:
                self._splits.popitem(last=False)
        self._splits.move_to_end(key)
        return self._splits[key]


# ---- expansion ------------------------------------------------------------------------------


def resolve_detectors(specs: tuple[DetectorSpec, ...]) -> list[DetectorSpec]:
    """Detector entries with patterns ("*", "knn*") resolved against the registry; unknown names
    and two entries shown under one name raise."""
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
            raise ConfigError(
                f"two detector entries are both shown as {spec.display!r}; give one a distinct `display_name`"
            )
        seen[spec.display] = spec
    return list(seen.values())


def detector_params(cls: type[Detector], overrides: dict[str, Any]) -> dict[str, Any]:
    """Every hyper-parameter the detector runs with: its constructor defaults overlaid by the
    sweep's params (the seed and device excluded: they are keyed separately)."""
    defaults = {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name not in _EXCLUDED_PARAMS and p.default is not p.empty
    }
    return {**defaults, **overrides}


def check_detector_params(spec: DetectorSpec, cls: type[Detector]) -> dict[str, Any]:
    """The parameters a detector entry runs with, checked before any cell runs: an unknown name or
    a value its declared constraints reject is one ConfigError naming detector, parameter and the
    allowed values (otherwise every cell of the entry would fail one by one)."""
    reserved = sorted(set(dict(spec.params)) & {"random_state", "device"})
    if reserved:
        raise ConfigError(
            f"detector {spec.display!r}: {reserved} are set per cell (the sweep's seeds, --device), not in params"
        )
    accepted = [p for p in inspect.signature(cls.__init__).parameters if p not in _EXCLUDED_PARAMS]
    unknown = sorted(set(dict(spec.params)) - set(accepted))
    if unknown:
        close = {u: difflib.get_close_matches(u, accepted, n=1) for u in unknown}
        hints = "".join(f" ({u!r}: did you mean {c[0]!r}?)" for u, c in close.items() if c)
        raise ConfigError(f"detector {spec.display!r}: unknown parameter(s) {unknown}{hints}; it accepts {accepted}")
    params = detector_params(cls, dict(spec.params))
    constraints = {k: c for k, c in cls.parameter_constraints.items() if k in params}
    try:
        check_parameters(spec.display, params, constraints)
    except ParameterError as exc:
        raise ConfigError(f"detector {exc}") from None
    return params


def _identity_options(spec: DatasetSpec) -> dict[str, Any]:
    """Every loader option with its default, less those that only say where files are (the
    content they lead to is fingerprinted; a cache folder on another machine is the same cell)."""
    return {k: v for k, v in resolved_options(spec.name, dict(spec.options)).items() if k not in LOCATION_OPTIONS}


def _takes_device(cls: type[Detector]) -> bool:
    return "device" in inspect.signature(cls.__init__).parameters


def expand(config: SweepConfig, cache: DataCache, device: str = "cpu") -> list[Cell]:
    """Every cell of the sweep, each with its identity and id (loads every dataset once)."""
    code_fingerprint.cache_clear()  # code read now, not when this process first looked
    detectors = resolve_detectors(config.detectors)
    harness = code_fingerprint(*HARNESS_MODULES)
    data_ids = {
        ds: {"name": ds.name, "options": _identity_options(ds), "sha256": cache.fingerprint(ds)}
        for ds in config.datasets
    }
    det_ids = {}
    for det in detectors:
        cls = get_detector_class(det.name)
        det_ids[det] = {
            "name": det.name,
            "display_name": det.display_name,
            "params": check_detector_params(det, cls),
            "code": code_fingerprint(cls.__module__),
            "device": device if _takes_device(cls) else None,
        }
    plans = {ds: _robustness_plan(config.robustness, cache.dataset(ds).names) for ds in config.datasets}
    _check_swaps(config, cache)
    robust_code = code_fingerprint(*ROBUSTNESS_MODULES) if config.robustness != RobustnessConfig() else None
    cells = []
    for ds, prot, seed, det in itertools.product(config.datasets, config.injections, config.seeds, detectors):
        drops, plan = plans[ds]
        for dropped in (None, *drops):
            key = {
                "format": CELL_FORMAT,
                "dataset": data_ids[ds],
                "protocol": prot.protocol,
                "setting": asdict(prot),
                "split": asdict(config.split),
                "detector": det_ids[det],
                "harness_code": harness,
                "seed": seed,
                "threads": config.threads,
            }
            missing = plan if dropped is None else None
            if dropped is not None or missing is not None:  # keys only where set: other cells keep their ids
                key.update(dropped_modality=dropped, missing=missing and asdict(missing), robustness_code=robust_code)
            identity = json.dumps(key, sort_keys=True, default=str)
            cell_id = hashlib.sha256(identity.encode()).hexdigest()[:20]
            cells.append(Cell(ds, prot, config.split, det, seed, config.threads, identity, cell_id, dropped, missing))
    return cells


def _check_swaps(config: SweepConfig, cache: DataCache) -> None:
    """A swapped modality every dataset has, or a ConfigError before anything runs."""
    for ds in config.datasets:
        names = cache.dataset(ds).names
        unknown = sorted({p.swap_modality for p in config.injections if p.swap_modality} - set(names))
        if unknown:
            raise ConfigError(f"swap_modalities: {ds.display_name} has no modality {unknown}; it has {list(names)}")


def _robustness_plan(
    config: RobustnessConfig, names: tuple[str, ...]
) -> tuple[tuple[str, ...], robustness.MissingPlan | None]:
    """A dataset's modalities to leave out one at a time, and its missing-at-test plan (or None)."""
    drops = RobustnessConfig.resolve(config.ablation, names, "ablation") if config.ablation else ()
    if not config.missing_shares:
        return drops, None
    modalities = RobustnessConfig.resolve(config.missing_modalities, names, "missing_modalities")
    return drops, robustness.MissingPlan(modalities, config.missing_shares, config.imputations)


# ---- running one cell ------------------------------------------------------------------------


@contextlib.contextmanager
def thread_limit(threads: int) -> Iterator[None]:
    """Run with `threads` CPU threads in torch and in the BLAS/OpenMP pools numpy and
    scikit-learn use (the cell's thread count changes float sums, so every executor sets it),
    and with torch's deterministic algorithms where they exist (warning where they do not)."""
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, read at CUDA start
    import torch

    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cudnn.benchmark = False
    with threadpool_limits(limits=threads):
        yield


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def base_fields(cell: Cell, options: RunOptions) -> dict[str, Any]:
    """The configuration part of a cell's record (everything but its outcome)."""
    key = cell.key
    cls_caps = get_detector_class(cell.detector.name).capabilities
    return {
        "cell_id": cell.cell_id,
        "sweep": options.sweep,
        "dataset": cell.dataset.name,
        "dataset_options": dict(cell.dataset.options),
        "protocol": cell.protocol.protocol,
        "normal_class": getattr(cell.protocol, "normal_class", None),
        "anomaly_type": cell.protocol.anomaly_type,
        "ratio": cell.protocol.ratio,
        "sampler": cell.protocol.sampler,
        "holdout_classes": list(cell.protocol.holdout_classes),
        "swap_modality": cell.protocol.swap_modality,
        "dropped_modality": cell.dropped_modality,
        "split": asdict(cell.split),
        "detector": cell.detector.name,
        "display_name": cell.detector.display,
        "family": get_detector_class(cell.detector.name).family,
        "params": key["detector"]["params"],
        "seed": cell.seed,
        "threads": cell.threads,
        "device": options.device,
        "isolated": options.isolate,
        "uses_val_truth": cls_caps.uses_validation_truth,
        "transductive": cls_caps.transductive,
        "versions": versions(),
        "git_rev": git_revision(),
        "harness_version": __version__,
        "data_sha256": key["dataset"]["sha256"],
        "code_sha256": key["detector"]["code"],
        "identity": key,
    }


def failed_outcome(cell: Cell, options: RunOptions, status: str, error: str) -> Outcome:
    """An outcome for a cell that produced no numbers (error, timeout, out of memory)."""
    return Outcome(CellResult(**base_fields(cell, options), status=status, error=error[:2000], finished_at=_now()))


def execute_cell(
    cell: Cell, options: RunOptions, cache: DataCache, on_start: Callable[[], None] | None = None
) -> Outcome:
    """Run one cell in this process and return its outcome; never raises for detector errors.

    Data loading and split preparation come first and are not the cell's: `on_start` is called
    after them (a worker starts the cell's time limit there). The detector's one-off warm-up
    follows (within the time limit, outside the measured fit time and memory).
    """
    row = base_fields(cell, options)
    scores = None
    baseline: dict[str, float | None] | None = None
    try:
        with thread_limit(cell.threads):
            splits = _prepared_splits(cell, cache, row)  # 1. the cell's data (less an ablated modality)
            caps = get_detector_class(cell.detector.name).capabilities
            reason = caps.incompatibility(splits.train)
            if reason:
                row.update(status="skipped", error=reason)
            else:
                if on_start is not None:
                    on_start()
                row.update(warmup_s=warm_up(cell, splits, options.device))
                baseline = memory.start()
                detector = _detector(cell, options.device)
                shuffle = Shuffler(cell.seed)
                train, val = (shuffle.view(v) for v in fit_views(splits, caps))  # 2. the views fit may see
                with use_slot(options.trained_folder, cell.training_key):  # a kept network is loaded here
                    fit_s = evaluate.fit(detector, train, val)  # 3. fit
                scored = evaluate.score(detector, splits, shuffle)  # 4. score validation and test blind
                row.update(evaluate.measure(detector, splits, scored, fit_s))  # 5. metrics and timings
                scores = evaluate.score_file(splits, scored)
                row.update(roc_test=stored_curve(scores), fit_reused=bool(getattr(detector, "training_reused_", False)))
                if cell.missing is not None:  # 6. modalities missing at test time, after the timed scoring
                    row["missing"] = robustness.missing_at_test(detector, caps, splits, cell.seed, cell.missing)
                row.update(status="ok", torch_threads=_torch_threads())
    except MemoryError as exc:
        row.update(status="oom", error=f"MemoryError: {exc}")
    except Exception as exc:  # isolate the failure: record it, keep the sweep going
        logger.warning(
            "cell %s (%s on %s) failed: %s: %s",
            cell.cell_id,
            cell.detector.display,
            cell.dataset.display_name,
            type(exc).__name__,
            exc,
        )
        logger.debug("%s", traceback.format_exc())
        row.update(status="error", error=f"{type(exc).__name__}: {exc}"[:2000])
    if baseline is not None:
        try:
            row.update(memory.peaks(baseline))
        except Exception as exc:  # e.g. a CUDA error after a failed cell: the row still gets written
            logger.debug("peak memory unavailable: %s", exc)
    return Outcome(CellResult(**row, finished_at=_now()), scores)


WARM_UP_SAMPLES = 32  # per class of the warm-up's validation data; twice that for training
_warm: set[tuple[str, str]] = set()  # (detector, device) already warmed up in this process


def warm_up(cell: Cell, splits: Splits, device: str) -> float | None:
    """Fit and score a throw-away copy of the cell's detector on a few samples, once per detector
    and device in a process, so that no cell's fit time holds one-off costs (lazy imports, kernel
    loading, allocator growth). Returns its seconds, None when the detector was already warm.

    It runs on the views the detector may see, so it learns nothing the cell may not; a warm-up
    that fails is ignored (the cell's own fit reports any error).
    """
    key = (cell.detector.name, device)
    if key in _warm:
        return None
    _warm.add(key)
    caps = get_detector_class(cell.detector.name).capabilities
    train, val = fit_views(splits, caps)
    anomaly = np.asarray(splits.val.anomaly, bool)
    few = np.concatenate([np.flatnonzero(~anomaly)[:WARM_UP_SAMPLES], np.flatnonzero(anomaly)[:WARM_UP_SAMPLES]])
    start = time.perf_counter()
    try:
        detector = create_detector(
            cell.detector.name, dict(cell.detector.params), random_state=cell.seed, device=device
        )
        detector.fit(train.subset(np.arange(min(len(train), 2 * WARM_UP_SAMPLES))), val.subset(np.sort(few)))
        detector.score(splits.val.blind().subset(np.sort(few)))
    except Exception as exc:
        logger.debug("warm-up of %s failed (ignored): %s", cell.detector.display, exc)
    return time.perf_counter() - start


def _torch_threads() -> int | None:
    torch = sys.modules.get("torch")
    return torch.get_num_threads() if torch is not None else None


def _prepared_splits(cell: Cell, cache: DataCache, row: dict) -> Splits:
    """The cell's splits (from the process's cache), without its ablated modality; the data must
    still be the data the sweep was expanded with."""
    if cache.fingerprint(cell.dataset) != row["data_sha256"]:
        raise DataError(f"dataset {cell.dataset.display_name} changed since the sweep was expanded; run again")
    splits = cache.splits(cell)
    if cell.dropped_modality is not None:
        splits = robustness.drop_modality(splits, cell.dropped_modality)
    row.update(n_train=len(splits.train), n_val=len(splits.val), n_test=len(splits.test))
    return splits


def _detector(cell: Cell, device: str) -> Detector:
    return create_detector(cell.detector.name, dict(cell.detector.params), random_state=cell.seed, device=device)
