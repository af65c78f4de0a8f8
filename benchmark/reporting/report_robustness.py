"""Tables and figures of modality robustness: the ablation table (AUC with every modality and
without each one, and the drop), AUC against the share of test samples missing a modality per
detector and imputation (a table per modality and imputation, one figure per dataset), and AUC
per swapped modality of cross-modal anomalies.

Intervals are 95 % Student-t intervals over seeds; a drop is the mean of per-seed differences
(paired: the same split and anomalies with and without the modality), with its own interval.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reporting.figures import main_display_names, pyplot, save, style_of
from mmadbench.benchmark.reporting.table import Table, fmt, slug

SETTING = ["dataset", "anomaly_type", "ratio"]
PAIRING = ["display_name", "seed"]
NATIVE_NOTE = "native: the detector scores the masked data itself (it declares handles_missing)."


def _cell(values: pd.Series, digits: int = 4) -> tuple[str, float, float, int]:
    """Formatted mean ± interval of `values`, with the numbers behind it."""
    iv = stats.t_interval(values.to_numpy(dtype=float))
    return fmt(iv.mean, iv.half_width, iv.n, digits), iv.mean, iv.half_width, iv.n


def _put(rows: dict, numbers: list, name: str, heading: str, values: pd.Series, **keys) -> None:
    """One table cell: its formatted text in `rows`, and its numbers (with `keys`) in `numbers`."""
    rows.setdefault(name, {})[heading], mean, half, n = _cell(values)
    numbers.append({"display_name": name, **keys, "mean": mean, "ci95": half, "n": n})


def _frame(rows: dict[str, dict[str, str]], columns: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame.from_dict(rows, orient="index").reindex(columns=columns).fillna("–").sort_index()
    frame.index.name = None
    return frame, pd.DataFrame(False, index=frame.index, columns=frame.columns)


def _skip_note(rows: pd.DataFrame) -> list[str]:
    """Which detectors were skipped where, and why (e.g. a pair method left with one modality)."""
    skipped = rows[rows.status == "skipped"]
    if skipped.empty:
        return []
    where = skipped.dropped_modality.map(lambda m: "with every modality" if not isinstance(m, str) else f"without {m}")
    why = skipped.assign(where=where).groupby(["display_name", "error"]).where.agg(lambda w: ", ".join(sorted(set(w))))
    return [f"Skipped: {'; '.join(f'{d} {w} ({e})' for (d, e), w in why.items())}."]


# ---- ablation ------------------------------------------------------------------------------


def ablation_tables(df: pd.DataFrame) -> list[Table]:
    """Per dataset and setting with ablation cells: rows detectors; columns AUC with every
    modality, without each modality, and the paired drop (with minus without)."""
    if "dropped_modality" not in df or df.dropped_modality.isna().all():
        return []
    tables = []
    for key, part in df.groupby(SETTING, sort=True):
        dropped_rows = part[part.dropped_modality.notna()]
        if dropped_rows.empty:
            continue
        full = part[part.dropped_modality.isna() & (part.status == "ok")].set_index(PAIRING).auc
        modalities = sorted(dropped_rows.dropped_modality.unique())
        columns = ["all modalities"] + [f"without {m}" for m in modalities] + [f"drop without {m}" for m in modalities]
        rows: dict[str, dict[str, str]] = {}
        numbers = []
        for name, group in full.groupby(level="display_name"):
            _put(rows, numbers, name, "all modalities", group, column="all modalities")
        for m in modalities:
            ok = dropped_rows[(dropped_rows.dropped_modality == m) & (dropped_rows.status == "ok")]
            without = ok.set_index(PAIRING).auc
            drop = (full - without).dropna()
            for column, series in ((f"without {m}", without), (f"drop without {m}", drop)):
                for name, group in series.groupby(level="display_name"):
                    _put(rows, numbers, name, column, group, column=column)
        frame, bold = _frame(rows, columns)
        dataset, anomaly_type, ratio = key
        tables.append(
            Table(
                f"{dataset}: AUC with every modality and without each ({anomaly_type} anomalies, {ratio})",
                slug(f"ablation_{dataset}_{anomaly_type}_{ratio}"),
                frame,
                bold,
                row_heading="Detector",
                notes=(
                    "Mean ± half-width of the 95 % interval over seeds (Student t). Drop: the mean of "
                    "per-seed differences (every modality minus without it), on the same splits and "
                    "anomalies; positive = the modality helps. A cross-modal anomaly whose swapped "
                    "modality is left out looks normal, so a drop is expected for every detector.",
                    *_skip_note(part),
                ),
                numbers=pd.DataFrame(numbers).assign(**dict(zip(SETTING, key))),
            )
        )
    return tables


# ---- missing at test time -------------------------------------------------------------------


def missing_frame(df: pd.DataFrame) -> pd.DataFrame:
    """One row per cell and missing-modality condition (share 0: the complete test split, the
    cell's own AUC, repeated for every modality and imputation of the cell)."""
    rows = []
    cells = df[(df.status == "ok") & df.missing.notna()] if "missing" in df else df.iloc[:0]
    for _, cell in cells.iterrows():
        records = json.loads(cell.missing) if isinstance(cell.missing, str) else cell.missing
        base = {k: cell[k] for k in (*SETTING, *PAIRING, "family", "detector")}
        for modality, imputation in {(r["modality"], r["imputation"]) for r in records}:
            rows.append({**base, "modality": modality, "imputation": imputation, "share": 0.0, "auc": cell.auc})
        rows.extend(
            {**base, **{k: r[k] for k in ("modality", "imputation", "share")}, "auc": r.get("auc")} for r in records
        )
    frame = pd.DataFrame(rows)
    return frame.dropna(subset=["auc"]) if len(frame) else frame  # a failed condition has no AUC


def _imputation_order(names) -> list[str]:
    known = ["zeros", "mean", "nearest", "native"]
    return sorted(names, key=lambda n: (known.index(n) if n in known else len(known), n))


def missing_tables(frame: pd.DataFrame) -> list[Table]:
    """Per dataset, setting, missing modality and imputation: rows detectors, columns shares."""
    if frame.empty:
        return []
    tables = []
    for (dataset, anomaly_type, ratio, modality), part in frame.groupby([*SETTING, "modality"], sort=True):
        for imputation in _imputation_order(part.imputation.unique()):
            rows: dict[str, dict[str, str]] = {}
            numbers = []
            chosen = part[part.imputation == imputation]
            shares = sorted(chosen.share.unique())
            columns = [f"{s:.0%} missing" for s in shares]
            for (name, share), group in chosen.groupby(["display_name", "share"]):
                column = f"{share:.0%} missing"
                _put(rows, numbers, name, column, group.auc, share=share)
            frame_, bold = _frame(rows, columns)
            tables.append(
                Table(
                    f"{dataset}: AUC with {modality} missing in a share of test samples, "
                    f"{imputation} ({anomaly_type} anomalies, {ratio})",
                    slug(f"missing_{dataset}_{anomaly_type}_{ratio}_{modality}_{imputation}"),
                    frame_,
                    bold,
                    row_heading="Detector",
                    notes=(
                        "Fitted on complete data; the share of test samples lacking the modality is "
                        "drawn once per seed and nested (the samples missing at a smaller share are among those at a larger one). Mean ± half-width of "
                        "the 95 % interval over seeds.",
                        *([NATIVE_NOTE] if imputation == "native" else []),
                    ),
                    numbers=pd.DataFrame(numbers).assign(
                        dataset=dataset,
                        anomaly_type=anomaly_type,
                        ratio=ratio,
                        modality=modality,
                        imputation=imputation,
                    ),
                )
            )
    return tables


def missing_figures(frame: pd.DataFrame, folder: Path) -> list[Path]:
    """Per dataset and setting: AUC against the missing share, a panel per (missing modality,
    imputation), a line per detector (mean over seeds). The main figure holds the seed papers'
    methods and the best others (at most MAIN_CURVES lines a panel); every detector is also drawn
    in its family's figure under missing_families/."""
    if frame.empty:
        return []
    paths = []
    for (dataset, anomaly_type, ratio), part in frame.groupby(SETTING, sort=True):
        stem = slug(f"missing_{dataset}_{anomaly_type}_{ratio}")
        title = f"{dataset}: missing modality at test time ({anomaly_type}, {ratio})"
        paths += _missing_figure(part, main_display_names(part), title, folder / stem)
        for family, members in part.groupby(part.family.fillna("other"), sort=True):
            (folder / "missing_families").mkdir(exist_ok=True)
            paths += _missing_figure(
                members,
                sorted(members.display_name.unique()),
                f"{title} · {family}",
                folder / "missing_families" / f"{stem}_{slug(str(family))}",
            )
    return paths


def _missing_figure(part: pd.DataFrame, names: list[str], title: str, stem: Path) -> list[Path]:
    """One missing-modality figure of the detectors `names` (each in its sweep style)."""
    plt = pyplot()
    part = part[part.display_name.isin(names)]
    modalities = sorted(part.modality.unique())
    imputations = _imputation_order(part.imputation.unique())
    low = min(
        0.5,
        float(np.floor(part.groupby(["display_name", "modality", "imputation", "share"]).auc.mean().min() * 10) / 10),
    )
    fig, grid = plt.subplots(
        len(modalities),
        len(imputations) + 1,  # the last column holds the legend
        figsize=(3.2 * len(imputations) + 2.4, 2.7 * len(modalities) + 0.6),
        squeeze=False,
        gridspec_kw={"width_ratios": [1] * len(imputations) + [0.75]},
    )
    seen: dict[str, object] = {}
    for i, modality in enumerate(modalities):
        grid[i][-1].axis("off")
        for j, imputation in enumerate(imputations):
            ax = grid[i][j]
            chosen = part[(part.modality == modality) & (part.imputation == imputation)]
            means = chosen.groupby(["display_name", "share"]).auc.mean()
            for name in names:
                if name not in means.index.get_level_values(0):
                    continue
                curve, style = means.loc[name], style_of(name)
                (line,) = ax.plot(
                    curve.index * 100,
                    curve.values,
                    ls=style.linestyle,
                    color=style.color,
                    marker=style.marker,
                    markersize=3,
                    linewidth=1.1,
                )
                seen.setdefault(name, line)
            ax.set_title(f"{modality} missing · {imputation}", fontsize=8)
            ax.set_ylim(low, 1.0)
            ax.grid(alpha=0.3)
            ax.tick_params(labelsize=7)
            if i == len(modalities) - 1:
                ax.set_xlabel("test samples missing it (%)", fontsize=8)
            if j == 0:
                ax.set_ylabel("AUC (mean over seeds)", fontsize=8)
    grid[0][-1].legend(list(seen.values()), list(seen), loc="upper left", fontsize=6.5, frameon=False)
    fig.suptitle(title, fontsize=9)
    return save(fig, stem)


# ---- swapped modality ----------------------------------------------------------------------


def swap_tables(df: pd.DataFrame) -> list[Table]:
    """Per dataset, anomaly type and ratio with a chosen swapped modality: rows detectors, one AUC
    column per modality that the cross-modal (and mixed) anomalies exchange."""
    if "swap_modality" not in df or df.swap_modality.isna().all():
        return []
    ok = df[(df.status == "ok") & df.swap_modality.notna() & df.dropped_modality.isna()]
    # the same dataset and setting but the swap (a suffix " [uniform swap fou]" names both)
    base_name = ok.dataset.str.replace(r" swap [^\]]*\]$", "]", regex=True).str.replace(
        r" \[uniform\]$", "", regex=True
    )
    tables = []
    for (dataset, anomaly_type, ratio), part in ok.groupby([base_name, "anomaly_type", "ratio"], sort=True):
        rows: dict[str, dict[str, str]] = {}
        numbers = []
        modalities = sorted(part.swap_modality.unique())
        for (name, m), group in part.groupby(["display_name", "swap_modality"]):
            _put(rows, numbers, name, f"{m} swapped", group.auc, swap_modality=m)
        frame, bold = _frame(rows, [f"{m} swapped" for m in modalities])
        tables.append(
            Table(
                f"{dataset}: AUC by the modality that {anomaly_type} anomalies swap ({ratio})",
                slug(f"swap_{dataset}_{anomaly_type}_{ratio}"),
                frame,
                bold,
                row_heading="Detector",
                notes=("Mean ± half-width of the 95 % interval over seeds (Student t).",),
                numbers=pd.DataFrame(numbers).assign(dataset=dataset, anomaly_type=anomaly_type, ratio=ratio),
            )
        )
    return tables


def tables(df: pd.DataFrame) -> list[Table]:
    """Every robustness table of a sweep's rows (none when the sweep asked for none)."""
    return ablation_tables(df) + missing_tables(missing_frame(df)) + swap_tables(df)


def figures(df: pd.DataFrame, folder: Path) -> list[Path]:
    return missing_figures(missing_frame(df), folder)
