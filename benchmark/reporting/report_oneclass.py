"""Tables of one-class sweeps (the CAE paper's protocol): per normal class and averaged.

Recall is the share of the normal class's test samples kept as normal at the harness's Youden
threshold from validation, for every method alike. A detector with a threshold of its own (the
CAE model's 95th percentile of training scores) gets its recall there in a separate column,
"Recall (own threshold)", which is never bold: no other method has one to compare. P@n and ROC
AUC need no threshold.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from mmadbench.benchmark.measure.config import parse_sweep
from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reporting.table import CLIPPED_NOTE, Table, flags_none_or_all, fmt_bounded, slug

logger = logging.getLogger(__name__)

# column -> (heading, which is better, decimals)
ONE_CLASS_METRICS = {"recall": ("Recall", max, 3), "precision_at_n": ("P@n", max, 3), "auc": ("ROC", max, 3)}
OWN_RECALL = ("own_recall", "Recall (own threshold)")
_HEADS = {**ONE_CLASS_METRICS, OWN_RECALL[0]: (OWN_RECALL[1], max, 3)}  # metrics a layout table may show


def table_specs(sweep_source: str):
    """The `[[report.tables]]` of the sweep file the runner recorded in the store, if any."""
    if not sweep_source:
        return ()
    try:
        return parse_sweep(sweep_source).report_tables
    except Exception as exc:  # a sweep file of an older harness must not stop the report
        logger.warning("report tables skipped: %s", exc)
        return ()


def with_recall(df: pd.DataFrame) -> pd.DataFrame:
    """Add `recall` (normal-class recall at the Youden threshold), `own_recall` (at the detector's
    own threshold, where it has one) and `degenerate` (the Youden threshold flags no test sample
    or every one, so its recall says nothing)."""
    df = df.copy()
    df["recall"] = 1 - df.fpr
    df["own_recall"] = 1 - df.own_fpr if "own_fpr" in df else np.nan
    none, every = flags_none_or_all(df)
    df["degenerate"] = none | every
    return df


def per_class(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of each metric, per dataset, method and normal class (degenerate: any seed)."""
    cols = [*ONE_CLASS_METRICS, OWN_RECALL[0]]
    grouped = df.groupby(["dataset", "display_name", "normal_class"])
    return grouped[cols].mean().join(grouped.degenerate.any()).reset_index()


def _over_seeds(values: pd.DataFrame, cols: list[str]) -> dict[str, dict]:
    """Per column: {display name: Interval over the `seed` rows of `values` (indexed by display name)}."""
    return {c: {lab: stats.t_interval(part[c]) for lab, part in values.groupby(level="display_name")} for c in cols}


def _cell(iv: stats.Interval, digits: int) -> str:
    """Every one-class metric lies in [0, 1]: an interval past it is shown clipped, as [low, high]."""
    return fmt_bounded(iv.mean, iv.half_width, iv.n if np.isfinite(iv.half_width) else 1, digits, True)[0]


def _clip_notes(text: pd.DataFrame) -> tuple[str, ...]:
    clipped = text.apply(lambda column: column.astype(str).str.contains(r" \[", regex=True)).to_numpy().any()
    return (CLIPPED_NOTE,) if clipped else ()


def summary_tables(df: pd.DataFrame) -> list[Table]:
    """Per dataset: every method's Recall, P@n and ROC averaged over the normal classes, as mean ±
    95 % interval over seeds of that average."""
    out = []
    cols = [*ONE_CLASS_METRICS, OWN_RECALL[0]]
    for dataset, part in df.groupby("dataset", sort=True):
        by_seed = part.groupby(["display_name", "seed"])[cols].mean()  # the average over classes, per seed
        ivs = _over_seeds(by_seed, cols)
        labels = sorted(ivs[cols[0]])
        classes = part.groupby("display_name").normal_class.nunique()
        flagged = per_class(part).groupby("display_name").degenerate.sum()
        text = pd.DataFrame(index=pd.Index(labels, name="display_name"), dtype=object)
        bold = pd.DataFrame(False, index=text.index, columns=[h for h, _, _ in ONE_CLASS_METRICS.values()])
        for col, (head, better, digits) in ONE_CLASS_METRICS.items():
            marked = flagged.reindex(labels).gt(0) if col == "recall" else pd.Series(False, index=labels)
            text[head] = [
                _cell(ivs[col][lab], digits)
                + (f" (threshold flags none or all for {flagged[lab]} class(es))" if marked[lab] else "")
                for lab in labels
            ]
            means = pd.Series({lab: ivs[col][lab].mean for lab in labels})
            valid = means[~marked].dropna()
            bold[head] = (means.round(digits) == round(better(valid), digits)) & ~marked if len(valid) > 1 else False
        if by_seed[OWN_RECALL[0]].notna().any():
            text[OWN_RECALL[1]] = [_cell(ivs[OWN_RECALL[0]][lab], 3) for lab in labels]
            bold[OWN_RECALL[1]] = False
        text["Classes"] = classes.reindex(labels).astype(str)
        bold["Classes"] = False
        seeds = part.groupby("display_name").seed.nunique()
        spread = (
            f"mean ± 95 % interval over {seeds.min()} seeds (Student t) of the average over normal classes"
            if seeds.min() > 1
            else "one seed, average over normal classes"
        )
        title = (
            f"{dataset}: one-class protocol, {spread} (Recall of the normal class at the Youden threshold "
            "for every method; a detector's own threshold in its own column)"
        )
        numbers = pd.DataFrame(
            [
                {"metric": c, "display_name": lab, "mean": iv.mean, "std": iv.std, "ci95": iv.half_width, "n": iv.n}
                for c in cols
                for lab, iv in ivs[c].items()
                if np.isfinite(iv.mean)
            ]
        )
        out.append(Table(title, slug(f"{dataset}_one_class"), text, bold, notes=_clip_notes(text), numbers=numbers))
    return out


def layout_tables(df: pd.DataFrame, specs) -> list[Table]:
    """The sweep's `[[report.tables]]`: rows normal classes + Average, columns method x metric."""
    out = []
    cells = per_class(df)
    for dataset, part in cells.groupby("dataset", sort=True):
        for spec in specs:
            missing = [lab for lab in spec.display_names if lab not in set(part.display_name)]
            if len(missing) == len(spec.display_names):
                continue
            if missing:
                logger.warning("table %s on %s: no results for %s", spec.name, dataset, missing)
            out.append(_layout(dataset, part, df[df.dataset == dataset], spec))
    return out


def _layout(dataset: str, part: pd.DataFrame, rows: pd.DataFrame, spec) -> Table:
    """`part`: means over seeds per class (for bold); `rows`: the cells, for intervals over seeds."""
    wide, best, shown = {}, {}, {}
    for metric in spec.metrics:
        head, better, digits = _HEADS.get(metric, (metric, max, 3))
        table = part.pivot_table(index="normal_class", columns="display_name", values=metric, aggfunc="mean")
        table.loc["Average"] = table.mean()
        wide[metric] = table
        per_cell = {
            (c, lab): stats.t_interval(g[metric]) for (c, lab), g in rows.groupby(["normal_class", "display_name"])
        }
        average = rows.groupby(["display_name", "seed"])[metric].mean()
        per_cell.update({("Average", lab): stats.t_interval(g) for lab, g in average.groupby(level="display_name")})
        shown[metric] = per_cell
        if metric == "recall":  # a threshold that flags none or all: its recall is never the best
            flags = part.pivot_table(index="normal_class", columns="display_name", values="degenerate", aggfunc="any")
            flags.loc["Average"] = flags.any()
            table = table.where(~flags.reindex_like(table).fillna(False).astype(bool))
        best[metric] = table.apply(
            lambda row, d=digits, b=better: (
                row.round(d) == round(b(row.dropna()), d) if row.notna().any() else row.notna()
            ),
            axis=1,
        )
    columns, bold_cols = {}, {}
    for lab in spec.display_names:  # the paper's layout: each model's Recall, P@n, ROC side by side
        for metric in spec.metrics:
            if lab not in wide[metric].columns:
                continue
            head, _, digits = _HEADS.get(metric, (metric, max, 3))
            columns[f"{lab}: {head}"] = [
                _cell(shown[metric][(c, lab)], digits) if (c, lab) in shown[metric] else "–" for c in wide[metric].index
            ]
            bold_cols[f"{lab}: {head}"] = best[metric][lab].astype(bool).tolist()
    index = pd.Index([str(i) for i in wide[spec.metrics[0]].index])
    text = pd.DataFrame(columns, index=index)
    return Table(
        f"{dataset}: {spec.title}",
        slug(f"{dataset}_{spec.name}"),
        text,
        pd.DataFrame(bold_cols, index=index),
        row_heading="Class",
        notes=_clip_notes(text),
    )


def tables(df: pd.DataFrame, specs=()) -> list[Table]:
    """Every one-class table of the finished cells in `df` (empty when there are none)."""
    ok = df[df.status == "ok"]
    if ok.empty:
        return []
    ok = with_recall(ok)
    return summary_tables(ok) + layout_tables(ok, specs)
