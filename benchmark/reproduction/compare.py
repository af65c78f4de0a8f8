"""Published figures beside measured ones: `mmadbench compare`.

A sweep file says which published figures its cells reproduce, in `[[reproduces]]` tables (see
`config.Reproduction`): the paper, its tables, the paper's dataset name, the sweep's dataset
that measures it (a stand-in named as one), and which of the sweep's rows (display names) is
which published method. `compare` reads each sweep folder's committed `cells.csv` and
`sweep.toml`, so it runs from a clean checkout without the databases.

Every published figure (`published.csv`) gets one row: the paper's value, the measured mean ±
the half-width of its 95 % interval over seeds and n, the difference, a verdict (inside the
interval, measured higher, measured lower, one seed, or not measured) and, beyond the interval
or not measured, a one-line reason: from the reasons file (`deviations.py`) where an entry
matches, else the sweep file's `reasons`, else a note that none was recorded. The claims the
papers make from these tables are tested in `claims.py`.

How a published setting maps to cells:
- TN-BCL (peng2024): "all types, R" is anomaly type `all` at ratio R; Tables I-IV and VI state no
  ratio, and are compared at the reproduction's `unstated_ratio` (default 1:1). Timings: train
  hours per epoch from `fit_s_per_epoch`, test seconds per 1,000 from `score_s_per_1k`.
- CAE (laakom2023): the "average" rows are the mean over the sweep's normal classes within each
  seed, then the interval over seeds; the per-class rows name FIN-Benthic's insects, which no
  stand-in has, so they are reported as not comparable. Recall is the normal class's recall
  (1 - FPR, the share of normal test samples kept), as in the paper, taken at the detector's own
  threshold where it has one (the paper's 95th percentile of training scores), else at the
  Youden threshold from validation.

A published figure whose setting several of a folder's settings match (two samplers, anomaly
shares or class subsets) is not measured rather than pooled: one folder per reproduced setting.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.measure.config import Reproduction, parse_sweep
from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reproduction.deviations import Reasons
from mmadbench.benchmark.reproduction.published import load_published
from mmadbench.errors import ConfigError, MmadbenchError

logger = logging.getLogger(__name__)

SECONDS_PER_HOUR = 3600.0
FETCHABLE = {"Fashion-MNIST": "fashion-mnist"}  # published datasets `mmadbench fetch` downloads
AVERAGE_SETTINGS = ("normal class: average", "average of 4 classes")
NOT_MEASURED, ONE_SEED = "not measured", "one seed: no interval"  # verdicts shared with claims.py


@dataclass(frozen=True)
class Measured:
    """One sweep folder: its cells (as `cells.csv` holds them) and what it reproduces."""

    folder: Path
    cells: pd.DataFrame
    reproductions: tuple[Reproduction, ...]
    normal_classes: dict[str, frozenset] = field(default_factory=dict)  # data -> every one-class task run


def load_measured(folder: Path) -> Measured:
    """A sweep folder's committed cells and its sweep file's `[[reproduces]]` tables."""
    cells_path, sweep_path = folder / "cells.csv", folder / "sweep.toml"
    if not cells_path.is_file() or not sweep_path.is_file():
        raise MmadbenchError(f"{folder}: needs cells.csv and sweep.toml (run the sweep's command first)")
    cells = pd.read_csv(cells_path)
    tasks = cells[cells.protocol == "one_class"] if "protocol" in cells else cells.iloc[:0]
    classes = {str(d): frozenset(part.normal_class.dropna()) for d, part in tasks.groupby("dataset")}
    cells = cells[cells.status == "ok"].copy()
    cells["data"] = cells.dataset  # cells.csv already names datasets as the tables do
    if "dropped_modality" in cells:
        cells = cells[cells.dropped_modality.isna()]
    reproductions = parse_sweep(sweep_path.read_text(), name=folder.name).reproductions
    return Measured(folder, cells, reproductions, classes)


def as_measured(folder: Path | Measured) -> Measured:
    """A sweep folder's cells, read unless the caller has read them already."""
    return folder if isinstance(folder, Measured) else load_measured(Path(folder))


def _metric(part: pd.DataFrame, metric: str) -> tuple[pd.Series | None, str]:
    """The cells' values of a published metric and a note on how it was read (None: no such column)."""
    if metric == "train_hours_per_epoch":  # a cell that loaded another's trained network did not train
        trained = ~part.fit_reused.fillna(False).astype(bool) if "fit_reused" in part else True
        return part.fit_s_per_epoch.where(trained) / SECONDS_PER_HOUR, "train seconds per epoch / 3,600"
    if metric == "test_seconds_per_1000":
        return part.score_s_per_1k, "test seconds per 1,000 samples"
    if metric == "recall":
        own = 1 - part.own_fpr if "own_fpr" in part else pd.Series(np.nan, index=part.index)
        if own.notna().all():
            return own, "at the detector's own threshold"
        if "fpr" not in part:
            return None, "not measured: the cells have no 'own_fpr' or 'fpr' column"
        return 1 - part.fpr, "at the Youden threshold from validation"
    if metric not in part:
        return None, f"not measured: the cells have no {metric!r} column"
    return part[metric], ""


def _cells_for(
    measured: Measured, rep: Reproduction, paper: str, method: str, setting: str, name: str | None
) -> tuple[pd.DataFrame | None, str]:
    """The cells of the sweep's row `name` that measure one published figure, or None and why not."""
    if name is None:
        return None, f"not measured: the sweep in {measured.folder.name} has no row for {method}"
    cells = measured.cells
    cells = cells[(cells.display_name.str.rstrip(" †") == name) & (cells.data == rep.data_name(cells.data))]
    if paper == "laakom2023":
        if not setting.endswith(AVERAGE_SETTINGS):
            return None, "not comparable: a FIN-Benthic class, which the stand-in does not have"
        return cells[cells.protocol == "one_class"], ""
    ratio = setting.split(", ", 1)[1] if ", " in setting else rep.unstated_ratio
    ratio = rep.unstated_ratio if ratio == "ratio unstated" else ratio
    return cells[(cells.anomaly_type == "all") & (cells.ratio == ratio)], ""


def _per_seed(part: pd.DataFrame, values: pd.Series, classes: frozenset | None) -> pd.Series:
    """One finite value per seed (index: seed): the cell's, or for a one-class average (`classes`:
    every task the sweep ran) the mean over the normal classes, only for seeds that have all of
    them, so an average never silently covers fewer tasks."""
    frame = pd.DataFrame({"seed": part.seed.to_numpy(), "value": values.to_numpy(float)})
    if classes is None:
        per_seed = frame.set_index("seed").value
        return per_seed[np.isfinite(per_seed)]
    frame = frame.assign(normal_class=part.normal_class.to_numpy())[np.isfinite(frame.value)]
    complete = frame.groupby("seed").normal_class.agg(lambda c: frozenset(c) >= classes)
    return frame[frame.seed.isin(complete[complete].index)].groupby("seed").value.mean()


@dataclass(frozen=True)
class SeedValues:
    """A published figure as one sweep row measured it: one value per seed (index: seed), how the
    metric was read, or (values None) why it was not measured."""

    per_seed: pd.Series | None
    how: str = ""
    why: str = ""


def seed_values(
    measured: Measured, rep: Reproduction, paper: str, method: str, setting: str, metric: str, name: str | None
) -> SeedValues:
    """One value per seed of a published figure (paper, method, setting, metric) on the sweep's
    row `name`; `why` says what stopped it (no row, no cell, several matching settings, no column)."""
    part, why = _cells_for(measured, rep, paper, method, setting, name)
    if part is None or part.empty:
        return SeedValues(
            None, why=why or f"not measured: no finished cell of {method} at {setting} in {measured.folder.name}"
        )
    one_class = paper == "laakom2023"
    if part.duplicated(["seed", "normal_class"] if one_class else ["seed"]).any():
        return SeedValues(
            None,
            why=f"not measured: several settings of {measured.folder.name} match (sampler, hold-out classes, "
            "swapped modality, anomaly share or class subset); reproduce each in its own sweep folder",
        )
    values, how = _metric(part, metric)
    if values is None:
        return SeedValues(None, why=how)
    classes = measured.normal_classes.get(rep.data_name(measured.cells.data), frozenset()) if one_class else None
    per_seed = _per_seed(part, values, classes)
    if per_seed.empty:
        incomplete = " on every class of any seed" if one_class else ""
        return SeedValues(None, why=f"not measured: no finite {metric} in the matching cells{incomplete}")
    dropped = part.seed.nunique() - len(per_seed)
    if one_class and dropped:
        how = f"{how}; {dropped} seed(s) without all {len(classes)} classes left out".lstrip("; ")
    return SeedValues(per_seed, how=how)


def compare_row(
    row: pd.Series,
    measured: Measured | None,
    rep: Reproduction | None,
    name: str | None = None,
    reasons: Reasons | None = None,
) -> dict:
    """The comparison of one published figure with what the sweep's row `name` measured."""
    out = {
        **{k: row[k] for k in ("paper", "table", "dataset", "method", "setting", "metric")},
        "measured_as": name or "",
        "published": row.value,
        "data": "",
        "measured": np.nan,
        "ci95": np.nan,
        "n": 0,
        "difference": np.nan,
        "verdict": NOT_MEASURED,
        "reason": "",
        "how": "",
    }
    if measured is None or rep is None:
        out["reason"] = f"not measured: no sweep folder reproduces {row.paper} Table {row.table} ({row.dataset})"
        if row.dataset in FETCHABLE:
            out["reason"] += (
                f"; its data is not in the data root: `mmadbench fetch {FETCHABLE[row.dataset]} --root DIR`, "
                "then `make paper DATA_ROOT=DIR`"
            )
        return out
    out["data"] = rep.stand_in or row.dataset
    got = seed_values(measured, rep, row.paper, row.method, row.setting, row.metric, name)
    if got.per_seed is None:
        out["reason"] = got.why
        return out
    interval = stats.t_interval(got.per_seed)
    out.update(
        measured=interval.mean,
        ci95=interval.half_width,
        n=interval.n,
        difference=interval.mean - row.value,
        how=got.how,
    )
    if interval.n < 2:
        out["verdict"] = ONE_SEED
    elif interval.low <= row.value <= interval.high:
        out["verdict"] = "inside the interval"
    else:
        out["verdict"] = "measured higher" if interval.mean > row.value else "measured lower"
        found = reasons.find(out) if reasons else ""
        out["reason"] = found or rep.reason(row.method) or "no reason recorded in the reasons or sweep file"
    return out


def compare(folders: list[Path | Measured], reasons: Reasons | None = None) -> pd.DataFrame:
    """One row per published figure and data it was measured on (several stand-ins give several
    rows; none gives one "not measured" row), in published.csv's order. A deviation beyond the
    interval takes its reason from `reasons` first, then from the sweep file."""
    published = load_published()
    covered: dict[tuple[str, str, str], list[tuple[Measured, Reproduction]]] = {}
    for folder in folders:
        measured = as_measured(folder)
        for rep in measured.reproductions:
            for table in rep.tables:
                readings = covered.setdefault((rep.paper, table, rep.dataset), [])
                clash = [m for m, r in readings if (r.stand_in, r.data) == (rep.stand_in, rep.data)]
                if clash:
                    raise ConfigError(
                        f"{rep.paper} Table {table} ({rep.dataset}) is reproduced by both "
                        f"{clash[0].folder} and {measured.folder} on the same data; name another stand_in"
                    )
                readings.append((measured, rep))
    rows = [
        compare_row(row, measured, rep, name, reasons)
        for _, row in published.iterrows()
        for measured, rep in covered.get((row.paper, row.table, row.dataset)) or [(None, None)]
        for name in (rep.display_names(row.method, row.setting) if rep else []) or [None]
    ]
    return pd.DataFrame(rows)


def _fmt(value: float, digits: int = 4) -> str:
    return "–" if pd.isna(value) else f"{value:.{digits}f}"


def to_markdown(frame: pd.DataFrame) -> str:
    """One section per paper and table: the published value beside the measured one."""
    lines = ["# Published figures beside the measured ones", ""]
    lines += ["The papers' claims, tested on the same cells: [claims.md](claims.md).", ""]
    counts = frame.verdict.value_counts().to_dict()
    lines += ["Verdicts (one per comparison row): " + ", ".join(f"{v} {k}" for k, v in sorted(counts.items())), ""]
    for (paper, table), part in frame.groupby(["paper", "table"], sort=False):
        lines += [f"## {paper}, Table {table}", ""]
        lines += [
            "| dataset (data used) | method | measured as | setting | metric | published | measured (n) | difference "
            "| verdict | reason |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
        ]
        for r in part.itertuples():
            data = r.dataset if not r.data or r.data == r.dataset else f"{r.dataset} ({r.data})"
            measured = "–" if pd.isna(r.measured) else f"{_fmt(r.measured)} ± {_fmt(r.ci95)} ({r.n})"
            lines.append(
                f"| {data} | {r.method} | {r.measured_as or '–'} | {r.setting} | {r.metric} | {r.published:g} | {measured} "
                f"| {_fmt(r.difference)} | {r.verdict} | {r.reason} |"
            )
        lines.append("")
    return "\n".join(lines)
