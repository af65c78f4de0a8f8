"""Sweep files (TOML): parsing and checking, nothing else.

A sweep is datasets x anomaly settings x detectors x seeds. Anomaly settings are types x ratios
(x swapped modalities) of one or more `[[anomalies]]` tables (injection protocol), or one normal
class each (`protocol = "one_class"`). An optional `[robustness]` table adds modality ablation
and missing-modality scoring to every cell. `mmadbench.benchmark.measure.cell.expand` turns a parsed sweep into cells.

Renamed keys still work, with a FutureWarning naming the new one: `[anomalies] kinds` -> `types`,
`generator` -> `sampler`; `[[detectors]] label` -> `display_name`; `[[report.tables]] labels` ->
`display_names`.
"""

from __future__ import annotations

import itertools
import json
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mmadbench.datasets.injection import INJECTED_TYPES, SAMPLERS, Ratio
from mmadbench.datasets.missing import IMPUTATIONS
from mmadbench.datasets.splits import InjectionConfig, OneClassConfig, SplitConfig
from mmadbench.errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


@dataclass(frozen=True)
class DatasetSpec:
    """A `[[datasets]]` entry. `label` is how tables, figures and file names show it (empty: the
    report derives one); it never changes a cell's numbers, so it stays out of equality and ids."""

    name: str
    options: tuple[tuple[str, Any], ...] = ()
    label: str = field(default="", compare=False)

    @property
    def display_name(self) -> str:
        """The name tables show (`dataset_display_name`), also used in logs, errors and the manifest."""
        return dataset_display_name(self.name, dict(self.options), self.label)


@dataclass(frozen=True)
class DetectorSpec:
    name: str
    params: tuple[tuple[str, Any], ...] = ()
    display_name: str = ""  # how tables name the row; empty: the detector's name

    @property
    def display(self) -> str:
        return self.display_name or self.name


@dataclass(frozen=True)
class ReportTable:
    """A per-class table the report draws for a one-class sweep (the CAE paper's Tables I, III, IV):
    rows are normal classes plus their average, columns are `metrics` of each method named in
    `display_names`."""

    name: str
    title: str
    display_names: tuple[str, ...]
    metrics: tuple[str, ...] = ("recall", "precision_at_n", "auc")


EACH = "each"  # every modality of the dataset, in turn


@dataclass(frozen=True)
class RobustnessConfig:
    """`[robustness]`: what each modality contributes, and what a missing one costs.

    ablation: modalities left out one at a time (each such cell fits and scores without it), or
        ("each",) for every modality of the dataset; empty: no ablation.
    missing_shares: shares of test samples that lack a modality; empty: no missing-modality test.
    missing_modalities: which modality goes missing (one at a time), ("each",) for every one.
    imputations: how the harness fills the gap for detectors without native support; detectors
        that declare `handles_missing` are also scored on the masked data itself ("native").
    """

    ablation: tuple[str, ...] = ()
    missing_shares: tuple[float, ...] = ()
    missing_modalities: tuple[str, ...] = (EACH,)
    imputations: tuple[str, ...] = IMPUTATIONS

    @staticmethod
    def resolve(chosen: tuple[str, ...], names: tuple[str, ...], where: str) -> tuple[str, ...]:
        """`chosen` modalities against a dataset's `names` ("each": all of them)."""
        if chosen == (EACH,):
            return names
        unknown = [m for m in chosen if m not in names]
        if unknown:
            raise ConfigError(f"robustness.{where}: no modality {unknown} in a dataset with modalities {list(names)}")
        return chosen


@dataclass(frozen=True)
class Reproduction:
    """`[[reproduces]]`: which published figures this sweep's cells measure (`mmadbench compare`).

    paper, tables, dataset: as `published.csv` names them (e.g. "peng2024", ["I", "V"], "MNIST").
    data: the sweep's dataset as tables name it (e.g. "mnist"); empty: the sweep's only dataset.
    stand_in: what the data is, when it stands in for the paper's (e.g. "audio-visual digits").
    methods: published method -> the sweep's display name (or a list of them: one comparison row
        each); a key "method | setting" applies to the published settings that start with that
        text (e.g. one input size of Table III).
    reasons: published method (or "*") -> one line on why a figure lies outside the interval.
    unstated_ratio: the ratio at which tables that state none are compared.
    """

    paper: str
    tables: tuple[str, ...]
    dataset: str
    data: str = ""
    stand_in: str = ""
    methods: tuple[tuple[str, str], ...] = ()
    reasons: tuple[tuple[str, str], ...] = ()
    unstated_ratio: str = "1:1"

    def display_names(self, method: str, setting: str) -> list[str]:
        """The sweep's rows that measure a published method at a published setting (several when
        the sweep runs it in several forms, e.g. the paper's reading and mmadbench's defaults);
        a key with a setting prefix wins over the method's plain key."""
        plain, specific = [], []
        for key, name in self.methods:
            base, _, prefix = (part.strip() for part in key.partition("|"))
            if base == method and (not prefix or setting.startswith(prefix)):
                (specific if prefix else plain).append(name)
        return specific or plain

    def data_name(self, available) -> str:
        """The sweep's dataset this reproduction reads (`available`: the names its cells carry)."""
        if self.data:
            return self.data
        names = sorted(set(available))
        if len(names) != 1:
            raise ConfigError(
                f"reproduces {self.paper} {self.dataset}: the sweep has datasets {names}; name one in `data`"
            )
        return names[0]

    def reason(self, method: str) -> str:
        reasons = dict(self.reasons)
        return reasons.get(method, reasons.get("*", ""))


@dataclass(frozen=True)
class SweepConfig:
    """A parsed sweep file."""

    name: str
    datasets: tuple[DatasetSpec, ...]
    injections: tuple[InjectionConfig | OneClassConfig, ...]
    detectors: tuple[DetectorSpec, ...]
    seeds: tuple[int, ...] = (0,)
    split: SplitConfig = field(default_factory=SplitConfig)
    device: str = "auto"
    threads: int = 1  # CPU threads of each cell (torch and BLAS); part of every cell's identity
    time_limit_s: float | None = None  # per cell; needs worker processes
    memory_limit_mb: float | None = None  # per worker process
    report_tables: tuple[ReportTable, ...] = ()
    robustness: RobustnessConfig = field(default_factory=RobustnessConfig)
    reproductions: tuple[Reproduction, ...] = ()
    source: str = ""  # the file's text, kept for provenance

    @property
    def protocol(self) -> str:
        return "one_class" if any(i.protocol == "one_class" for i in self.injections) else "injection"


# Every key of a sweep file, by table, with what it means: the parser accepts these and no
# others, and docs/sweep-reference.md is generated from them (`python -m
# mmadbench.benchmark.measure.config`; tests/test_config.py fails when the two differ).
SCHEMA: dict[str, dict[str, str]] = {
    "sweep": {
        "name": "Output folder name under --out (default: the file's stem).",
        "seeds": "List of integer seeds; each gives its own split, injected anomalies and detector initialisation (default [0]).",
        "device": '"auto" (CUDA when torch sees a GPU), "cpu", "cuda" or "cuda:<index>" (default "auto"); --device overrides it.',
        "threads": "CPU threads of every cell, for torch and the BLAS/OpenMP pools (default 1); part of every cell's identity.",
        "time_limit_s": "Seconds a cell may run before it is killed and recorded as timeout (needs worker processes).",
        "memory_limit_mb": "Memory of a worker process before the cell is killed and recorded as oom.",
        "protocol": '"injection" (default: anomalies injected into validation and test) or "one_class" (each class in turn is normal).',
        "datasets": "One or more [[datasets]] tables (or names).",
        "anomalies": "The injection protocol's [anomalies] table, or several [[anomalies]] tables.",
        "one_class": 'The one-class protocol\'s [one_class] table (with protocol = "one_class").',
        "split": "[split] shares of the pooled data: train, val, test (default 0.6, 0.2, 0.2).",
        "detectors": 'One or more [[detectors]] tables (or names); default: every registered detector ("*").',
        "robustness": "Optional [robustness] table: modality ablation and modalities missing at test time.",
        "report": "Optional [report] table with [[report.tables]]: per-class tables of a one-class sweep.",
        "reproduces": "Optional [[reproduces]] tables: the published figures this sweep measures (mmadbench compare).",
    },
    "datasets": {
        "name": "A registered dataset (mmadbench list datasets).",
        "options": 'Loader options as a table, e.g. { views = ["pix", "fou"] }; unknown options are an error.',
        "display_name": "How tables, figures and file names show the dataset; not part of any cell's identity.",
    },
    "anomalies": {
        "types": 'Anomaly types: "attribute", "cross_modal", "mixed", "all" (default: all four).',
        "ratios": 'Normal:abnormal ratios such as "9:1", or composition ratios with type "all" (default ["1:1"]).',
        "sampler": 'Where anomalous values come from: "uniform" noise fitted on training data, or "holdout" classes (default "uniform").',
        "holdout_classes": 'Classes removed before splitting and used as anomalies by the "holdout" sampler.',
        "swap_modalities": "Modalities that cross-modal and mixed anomalies exchange, one setting each (default: drawn per pair).",
    },
    "split": {
        "train": "Share of the pooled data for training (clean).",
        "val": "Share for validation (anomalies injected; thresholds are chosen here).",
        "test": "Share for test (anomalies injected).",
    },
    "detectors": {
        "name": 'A registered detector, or a pattern such as "*" or "knn*" (mmadbench list detectors).',
        "params": "Hyper-parameters as a table; checked against the detector's constraints before any cell runs.",
        "display_name": "How tables name the row (needed for two settings of one detector).",
    },
    "one_class": {
        "classes": "Normal classes, one setting each.",
        "train": "Share of the normal class used for training.",
        "val": "Share of the normal class used for validation.",
        "anomaly_share": "Share of anomalies (other classes) in validation and test.",
        "class_subset": "Only these classes take part (normal and anomalous), e.g. the four classes of a paper's table.",
    },
    "robustness": {
        "ablation": '"each" or a list of modalities: also fit and score each cell without each one.',
        "missing_shares": "Shares of test samples, in (0, 1], that lack a modality at test time.",
        "missing_modalities": '"each" (default) or a list: which modality goes missing, one at a time.',
        "imputations": 'How the gap is filled: "zeros", "mean", "nearest" (default: all three); native support is added where declared.',
    },
    "report": {"tables": "[[report.tables]] entries (see report.tables)."},
    "report.tables": {
        "name": "File stem of the table.",
        "title": "Caption (default: the name).",
        "display_names": "The detector rows to show, by display name.",
        "metrics": 'Metrics per detector (default ["recall", "precision_at_n", "auc"]).',
    },
    "reproduces": {
        "paper": 'The paper as published.csv names it (e.g. "peng2024").',
        "tables": 'The paper\'s tables this sweep measures, e.g. ["I", "V"].',
        "dataset": 'The paper\'s dataset as published.csv names it (e.g. "MNIST").',
        "data": "The sweep's dataset as tables name it (default: the sweep's only dataset).",
        "stand_in": 'What the data is when it stands in for the paper\'s (e.g. "audio-visual digits").',
        "methods": 'Published method -> the sweep\'s display name(s); a key "method | setting" applies to one setting.',
        "reasons": 'Published method (or "*") -> one line on why a figure lies outside the interval.',
        "unstated_ratio": 'The ratio at which tables that state none are compared (default "1:1").',
    },
}
RENAMED = {"anomalies": {"kinds": "types", "generator": "sampler"}, "detectors": {"label": "display_name"}, "report.tables": {"labels": "display_names"}}  # fmt: skip


def sweep_reference() -> str:
    """docs/sweep-reference.md: every key of every table of a sweep file, from SCHEMA."""
    lines = [
        "# Sweep-file reference",
        "",
        "Generated from `SCHEMA` in `benchmark/measure/config.py` (`python -m mmadbench.benchmark.measure.config",
        "> docs/sweep-reference.md`); the parser accepts these keys and no others. See [sweep files](sweep-files.md)",
        "for examples.",
    ]
    for table, keys in SCHEMA.items():
        heading = "top level" if table == "sweep" else f"[{table}]"
        lines += ["", f"## {heading}", "", "| key | meaning |", "| --- | --- |"]
        lines += [f"| `{key}` | {text} |" for key, text in keys.items()]
        renamed = RENAMED.get(table, {})
        if renamed:
            lines += [
                "",
                "Old names still read, with a warning: "
                + ", ".join(f"`{o}` -> `{n}`" for o, n in renamed.items())
                + ".",
            ]
    return "\n".join(lines) + "\n"


def freeze_params(mapping: dict[str, Any]) -> tuple[tuple[str, Any], ...]:
    """Parameters as a sweep entry holds them: sorted (name, value) pairs, lists and tables frozen."""
    return _frozen(mapping, "parameters")


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


def _renamed(table: dict, renames: dict[str, str], where: str) -> dict:
    """`table` with renamed keys under their new names; an old key still works, with a warning."""
    out = dict(table)
    for old, new in renames.items():
        if old not in out:
            continue
        if new in out:
            raise ConfigError(f"{where}: {old!r} is the old name of {new!r}; give only {new!r}")
        warnings.warn(
            f"{where}: the key {old!r} is now {new!r}; the old name will stop working", FutureWarning, stacklevel=3
        )
        out[new] = out.pop(old)
    return out


def _expect(table: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def check_device_name(device: str, where: str) -> str:
    """A device the harness knows ("auto", "cpu", "cuda", "cuda:<index>"), or a ConfigError naming
    `where` it came from, before any cell runs."""
    head, _, index = device.partition(":")
    if device not in ("auto", "cpu", "cuda") and not (head == "cuda" and index.isdigit()):
        raise ConfigError(f"{where} must be auto, cpu, cuda or cuda:<index>, got {device!r}")
    return device


def load_toml(text: str, what: str) -> dict[str, Any]:
    """TOML text as a dict; invalid TOML raises a ConfigError that names `what` it is."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{what} is not valid TOML: {exc}") from None


def parse_sweep(text: str, name: str = "sweep") -> SweepConfig:
    """Parse sweep TOML text; every problem raises a ConfigError that names the key."""
    raw = load_toml(text, "sweep file")
    _expect(raw, set(SCHEMA["sweep"]), "sweep")
    limits = {k: raw.get(k) for k in ("time_limit_s", "memory_limit_mb")}
    for key, value in limits.items():
        if value is not None and (not isinstance(value, (int, float)) or value <= 0):
            raise ConfigError(f"{key} must be a positive number, got {value!r}")
    datasets = []
    for i, ds in enumerate(_as_list(raw.get("datasets"), "datasets")):
        ds = {"name": ds} if isinstance(ds, str) else ds
        if not isinstance(ds, dict) or "name" not in ds:
            raise ConfigError(f"datasets[{i}] needs a name")
        _expect(ds, set(SCHEMA["datasets"]), f"datasets[{i}]")
        label = ds.get("display_name", "")
        if not isinstance(label, str) or (label and not label.strip()):
            raise ConfigError(f"datasets[{i}].display_name must be a non-empty string, got {label!r}")
        datasets.append(
            DatasetSpec(str(ds["name"]), _frozen(ds.get("options"), f"datasets[{i}].options"), label.strip())
        )
    _check_dataset_names(datasets)
    protocol = str(raw.get("protocol", "injection"))
    if protocol == "injection":
        injections = _parse_anomalies(raw.get("anomalies") or {})
        if "one_class" in raw:
            raise ConfigError('a [one_class] table needs protocol = "one_class"')
    elif protocol == "one_class":
        if "anomalies" in raw:
            raise ConfigError('protocol "one_class" takes a [one_class] table, not [anomalies]')
        injections = _parse_one_class(raw.get("one_class"))
    else:
        raise ConfigError(f'protocol must be "injection" or "one_class", got {protocol!r}')
    detectors = []
    for i, det in enumerate(_as_list(raw.get("detectors", [{"name": "*"}]), "detectors")):
        det = {"name": det} if isinstance(det, str) else det
        if not isinstance(det, dict) or "name" not in det:
            raise ConfigError(f"detectors[{i}] needs a name")
        det = _renamed(det, RENAMED["detectors"], f"detectors[{i}]")
        _expect(det, set(SCHEMA["detectors"]), f"detectors[{i}]")
        detectors.append(
            DetectorSpec(
                str(det["name"]),
                _frozen(det.get("params"), f"detectors[{i}].params"),
                str(det.get("display_name", "")),
            )
        )
    seeds = _as_list(raw.get("seeds", [0]), "seeds")
    if not all(isinstance(s, int) for s in seeds):
        raise ConfigError(f"seeds must be integers, got {seeds!r}")
    split_raw = raw.get("split") or {}
    _expect(split_raw, set(SCHEMA["split"]), "split")
    threads = raw.get("threads", 1)
    if not isinstance(threads, int) or isinstance(threads, bool) or threads < 1:
        raise ConfigError(f"threads must be a positive integer, got {threads!r}")
    device = check_device_name(str(raw.get("device", "auto")), "device")
    return SweepConfig(
        name=str(raw.get("name", name)),
        datasets=tuple(datasets),
        injections=injections,
        detectors=tuple(detectors),
        seeds=tuple(seeds),
        split=SplitConfig(**{k: float(v) for k, v in split_raw.items()}),
        device=device,
        threads=threads,
        report_tables=_parse_report(raw.get("report") or {}),
        robustness=_parse_robustness(raw.get("robustness"), protocol),
        reproductions=_parse_reproductions(raw.get("reproduces")),
        source=text,
        **limits,
    )


def _parse_anomalies(raw: Any) -> tuple[InjectionConfig, ...]:
    """`[anomalies]` or several `[[anomalies]]` tables -> the distinct injection settings, in order."""
    out: list[InjectionConfig] = []
    for i, table in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"anomalies[{i}]" if isinstance(raw, list) else "anomalies"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} must be a table")
        table = _renamed(table, RENAMED["anomalies"], where)
        _expect(table, set(SCHEMA["anomalies"]), where)
        types = _as_list(table.get("types", list(INJECTED_TYPES)), f"{where}.types")
        for anomaly_type in types:
            if anomaly_type not in INJECTED_TYPES:
                raise ConfigError(
                    f"{where}.types: unknown anomaly type {anomaly_type!r}; known: {list(INJECTED_TYPES)}"
                )
        ratios = [Ratio.parse(r) for r in _as_list(table.get("ratios", ["1:1"]), f"{where}.ratios")]
        sampler = str(table.get("sampler", "uniform"))
        if sampler not in SAMPLERS:
            raise ConfigError(f"{where}.sampler: unknown sampler {sampler!r}; known: {sorted(SAMPLERS)}")
        holdout = tuple(int(c) for c in table.get("holdout_classes", []))
        swaps = _swap_modalities(table, types, where)
        for anomaly_type, ratio, swap in itertools.product(types, ratios, swaps):
            if ratio.shares and anomaly_type != "all":
                raise ConfigError(
                    f"{where}: composition ratio {ratio} sets every type's share; use it with anomaly type 'all'"
                )
            inj = InjectionConfig(
                anomaly_type, str(ratio), sampler, holdout, None if anomaly_type == "attribute" else swap
            )
            if inj not in out:
                out.append(inj)
    return tuple(out)


def _swap_modalities(table: dict, types: list, where: str) -> list[str | None]:
    """`swap_modalities = [...]`: one setting per modality that cross-modal and mixed anomalies
    exchange; absent: [None] (a modality drawn per pair)."""
    if "swap_modalities" not in table:
        return [None]
    swaps = _as_list(table["swap_modalities"], f"{where}.swap_modalities")
    if not all(isinstance(m, str) and m for m in swaps):
        raise ConfigError(f"{where}.swap_modalities must name modalities, got {swaps!r}")
    if set(types) == {"attribute"}:
        raise ConfigError(f"{where}.swap_modalities: attribute anomalies swap nothing; add cross_modal, mixed or all")
    return list(dict.fromkeys(swaps))


def _parse_reproductions(raw: Any) -> tuple[Reproduction, ...]:
    """`[[reproduces]]` tables (see Reproduction); names are checked by `mmadbench compare`."""
    if raw is None:
        return ()
    out = []
    for i, table in enumerate(raw if isinstance(raw, list) else [raw]):
        where = f"reproduces[{i}]"
        if not isinstance(table, dict) or not {"paper", "tables", "dataset"} <= set(table):
            raise ConfigError(f"{where} needs paper, tables and dataset")
        _expect(table, set(SCHEMA["reproduces"]), where)
        for key in ("methods", "reasons"):
            if not isinstance(table.get(key, {}), dict):
                raise ConfigError(f"{where}.{key} must be a table of names")
        out.append(
            Reproduction(
                paper=str(table["paper"]),
                tables=tuple(str(t) for t in _as_list(table["tables"], f"{where}.tables")),
                dataset=str(table["dataset"]),
                data=str(table.get("data", "")),
                stand_in=str(table.get("stand_in", "")),
                methods=tuple(
                    (str(k), str(name))
                    for k, v in table.get("methods", {}).items()
                    for name in (v if isinstance(v, list) else [v])
                ),
                reasons=tuple((str(k), str(v)) for k, v in table.get("reasons", {}).items()),
                unstated_ratio=str(Ratio.parse(table.get("unstated_ratio", "1:1"))),
            )
        )
    return tuple(out)


def _parse_robustness(raw: Any, protocol: str = "injection") -> RobustnessConfig:
    """`[robustness]`: ablation = "each" or [modalities]; missing_shares = [0.1, ...];
    missing_modalities = "each" or [...]; imputations = [...] (default: all of them)."""
    if raw is None:
        return RobustnessConfig()
    if not isinstance(raw, dict):
        raise ConfigError("robustness must be a table")
    if protocol != "injection":
        raise ConfigError("[robustness] is defined for the injection protocol, not for protocol = " + repr(protocol))
    _expect(raw, set(SCHEMA["robustness"]), "robustness")
    ablation = tuple(str(m) for m in _as_list(raw["ablation"], "robustness.ablation")) if "ablation" in raw else ()
    shares = _as_list(raw.get("missing_shares", []), "robustness.missing_shares") if "missing_shares" in raw else []
    for share in shares:
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            raise ConfigError(f"robustness.missing_shares must lie in (0, 1], got {share!r}")
    modalities = tuple(str(m) for m in _as_list(raw.get("missing_modalities", EACH), "robustness.missing_modalities"))
    imputations = tuple(str(i) for i in _as_list(raw.get("imputations", list(IMPUTATIONS)), "robustness.imputations"))
    unknown = [i for i in imputations if i not in IMPUTATIONS]
    if unknown:
        raise ConfigError(
            f"robustness.imputations: unknown {unknown}; known: {list(IMPUTATIONS)} "
            "(detectors that handle missing modalities are scored natively as well)"
        )
    for key, chosen in (("ablation", ablation), ("missing_modalities", modalities)):
        if EACH in chosen and len(chosen) > 1:
            raise ConfigError(f"robustness.{key}: give {EACH!r} alone or a list of modality names")
    return RobustnessConfig(ablation, tuple(sorted(float(s) for s in set(shares))), modalities, imputations)


def _parse_one_class(raw: Any) -> tuple[OneClassConfig, ...]:
    """`[one_class]` -> one setting per normal class."""
    if not isinstance(raw, dict) or "classes" not in raw:
        raise ConfigError('protocol "one_class" needs a [one_class] table with classes = [0, 1, ...]')
    _expect(raw, set(SCHEMA["one_class"]), "one_class")
    classes = _as_list(raw["classes"], "one_class.classes")
    subset = _as_list(raw["class_subset"], "one_class.class_subset") if "class_subset" in raw else []
    if not all(isinstance(c, int) and not isinstance(c, bool) for c in [*classes, *subset]):
        raise ConfigError(f"one_class.classes and class_subset must be integers, got {classes!r} and {subset!r}")
    options: dict[str, Any] = {k: float(raw[k]) for k in ("train", "val", "anomaly_share") if k in raw}
    if subset:
        options["class_subset"] = tuple(sorted(set(subset)))
    return tuple(OneClassConfig(int(c), **options) for c in classes)


def _parse_report(raw: Any) -> tuple[ReportTable, ...]:
    """`[[report.tables]]` entries: per-class tables over chosen methods (by display name)."""
    _expect(raw, set(SCHEMA["report"]), "report")
    out = []
    for i, table in enumerate(_as_list(raw.get("tables", []), "report.tables") if raw.get("tables") else []):
        where = f"report.tables[{i}]"
        if isinstance(table, dict):
            table = _renamed(table, RENAMED["report.tables"], where)
        if not isinstance(table, dict) or not {"name", "display_names"} <= set(table):
            raise ConfigError(f"{where} needs a name and display_names")
        _expect(table, set(SCHEMA["report.tables"]), where)
        metrics = tuple(_as_list(table.get("metrics", list(ReportTable.metrics)), f"{where}.metrics"))
        out.append(
            ReportTable(
                str(table["name"]),
                str(table.get("title", table["name"])),
                tuple(str(x) for x in _as_list(table["display_names"], f"{where}.display_names")),
                metrics,
            )
        )
    return tuple(out)


USER_DATA_LOADERS = ("paired", "image-folder")  # their `path` names the data: shown by its stem


def dataset_display_name(name: str, options: str | dict | None, label: str = "") -> str:
    """The dataset as tables, figures and file names show it: the sweep's `display_name` where it
    gives one, else the loader name with its options in brackets (so two view sets stay apart).
    A path never shows: the `path` of a loader of the user's own data is shown by its file or
    folder stem (in place of the loader name), any other path and cache folder not at all, since
    a user's local path must not end up in a paper's table."""
    if label:
        return label
    opts = json.loads(options) if isinstance(options, str) and options else dict(options or {})
    path = opts.pop("path", None)
    opts.pop("cache_dir", None)
    stem = Path(str(path)).stem if path and name in USER_DATA_LOADERS else ""
    shown = ", ".join(
        f"{k}={'+'.join(map(str, v)) if isinstance(v, (list, tuple)) else v}" for k, v in sorted(opts.items())
    )
    base = stem or name
    return f"{base}({shown})" if shown else base


def _check_dataset_names(datasets: list[DatasetSpec]) -> None:
    """Two datasets of one sweep never share a name in tables or file names (they would be pooled)."""
    shown: dict[str, DatasetSpec] = {}
    for spec in datasets:
        label = dataset_display_name(spec.name, dict(spec.options), spec.label)
        key = re.sub(r"[^A-Za-z0-9_.]+", "-", label).strip("-").lower()
        if key in shown and shown[key] != spec:
            raise ConfigError(
                f"datasets: {shown[key].name!r} and {spec.name!r} would both be shown as {label!r} in tables and "
                "file names; give each its own display_name"
            )
        shown[key] = spec


def options_key(options: str | dict | None) -> str:
    """Loader options as canonical JSON, whether given as a dict or as stored JSON text."""
    opts = json.loads(options) if isinstance(options, str) and options else dict(options or {})
    return json.dumps(opts, sort_keys=True, default=list)


def load_sweep(path: str | Path) -> SweepConfig:
    """Read and parse a sweep file; a missing file is a one-line error."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {str(path)!r} does not exist")
    return parse_sweep(path.read_text(), name=path.stem)


if __name__ == "__main__":  # python -m mmadbench.benchmark.measure.config > docs/sweep-reference.md
    sys.stdout.write(sweep_reference())
