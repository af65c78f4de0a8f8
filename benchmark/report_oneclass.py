"""Tables of one-class sweeps (the CAE paper's protocol): per normal class and averaged.

Recall is the share of the normal class's test samples kept as normal at the detector's own
threshold when it has one (the CAE model's 95th percentile of training scores), otherwise at
the harness's Youden threshold from validation; P@n and ROC AUC need no threshold.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from .config import parse_sweep
from .table import Table, fmt, slug

logger = logging.getLogger(__name__)

# column -> (heading, which is better, decimals)
ONE_CLASS_METRICS = {"recall": ("Recall", max, 3), "precision_at_n": ("P@n", max, 3), "auc": ("ROC", max, 3)}


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
    """Add `recall` (normal-class recall) and which threshold it used."""
    df = df.copy()
    own = df.own_fpr.notna() if "own_fpr" in df else pd.Series(False, index=df.index)
    df["recall"] = np.where(own, 1 - df.get("own_fpr", np.nan), 1 - df.fpr)
    df["recall_at"] = np.where(own, "own", "youden")
    return df


def per_class(df: pd.DataFrame) -> pd.DataFrame:
    """Mean over seeds of each metric, per dataset, method and normal class."""
    cols = list(ONE_CLASS_METRICS)
    return df.groupby(["dataset", "label", "normal_class"])[cols].mean().reset_index()


def summary_tables(df: pd.DataFrame) -> list[Table]:
    """Per dataset: every method's Recall, P@n and ROC averaged over the normal classes."""
    out = []
    for dataset, part in per_class(df).groupby("dataset", sort=True):
        means = part.groupby("label")[list(ONE_CLASS_METRICS)].mean()
        spread = part.groupby("label")[list(ONE_CLASS_METRICS)].std().fillna(0.0)
        classes = part.groupby("label").normal_class.nunique()
        text = pd.DataFrame(index=means.index, dtype=object)
        bold = pd.DataFrame(False, index=means.index, columns=[h for h, _, _ in ONE_CLASS_METRICS.values()])
        for col, (head, better, digits) in ONE_CLASS_METRICS.items():
            text[head] = [fmt(m, s, 2, digits) for m, s in zip(means[col], spread[col])]
            bold[head] = means[col].round(digits) == round(better(means[col].dropna()), digits)
        text["Classes"] = classes.astype(str)
        bold["Classes"] = False
        title = (f"{dataset}: one-class protocol, mean ± std over normal classes (Recall at the detector's "
                 "own threshold where it has one, else the Youden threshold)")
        out.append(Table(title, slug(f"{dataset}_one_class"), text, bold))
    return out


def layout_tables(df: pd.DataFrame, specs) -> list[Table]:
    """The sweep's `[[report.tables]]`: rows normal classes + Average, columns label x metric."""
    out = []
    cells = per_class(df)
    for dataset, part in cells.groupby("dataset", sort=True):
        for spec in specs:
            missing = [lab for lab in spec.labels if lab not in set(part.label)]
            if len(missing) == len(spec.labels):
                continue
            if missing:
                logger.warning("table %s on %s: no results for %s", spec.name, dataset, missing)
            out.append(_layout(dataset, part, spec))
    return out


def _layout(dataset: str, part: pd.DataFrame, spec) -> Table:
    wide, best = {}, {}
    for metric in spec.metrics:
        head, better, digits = ONE_CLASS_METRICS.get(metric, (metric, max, 3))
        table = part.pivot_table(index="normal_class", columns="label", values=metric, aggfunc="mean")
        table.loc["Average"] = table.mean()
        wide[metric] = table
        best[metric] = table.apply(lambda row: row.round(digits) == round(better(row.dropna()), digits), axis=1)
    columns, bold_cols = {}, {}
    for lab in spec.labels:  # the paper's layout: each model's Recall, P@n, ROC side by side
        for metric in spec.metrics:
            if lab not in wide[metric].columns:
                continue
            head, _, digits = ONE_CLASS_METRICS.get(metric, (metric, max, 3))
            columns[f"{lab}: {head}"] = [fmt(v, 0.0, 1, digits) for v in wide[metric][lab]]
            bold_cols[f"{lab}: {head}"] = best[metric][lab].astype(bool).tolist()
    index = pd.Index([str(i) for i in wide[spec.metrics[0]].index])
    return Table(f"{dataset}: {spec.title}", slug(f"{dataset}_{spec.name}"),
                 pd.DataFrame(columns, index=index), pd.DataFrame(bold_cols, index=index), row_heading="Class")


def tables(df: pd.DataFrame, specs=()) -> list[Table]:
    """Every one-class table of the finished cells in `df` (empty when there are none)."""
    ok = df[df.status == "ok"]
    if ok.empty:
        return []
    ok = with_recall(ok)
    return summary_tables(ok) + layout_tables(ok, specs)
