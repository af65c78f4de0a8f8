"""Reports drawn from the results store alone: tables (Markdown, LaTeX, CSV) and ROC figures.

Per dataset and anomaly type, a method x (AUC, FPR, TPR, accuracy) table per ratio in the
layout of the TN-BCL paper's Tables I-IV; a timing table (Table VI); ROC curves (Fig. 5).
With more than one seed every cell shows mean ± standard deviation. Best value per column bold.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import ttest_rel

from mmadbench.benchmark.execution.provenance import manifest, write_manifest
from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.config import dataset_display_name, options_key, parse_sweep
from mmadbench.benchmark.reporting import browser, latex, report_oneclass, report_ranks, report_robustness, stats
from mmadbench.benchmark.reporting.figures import (
    SMOKE_BANNER,
    cd_diagram,
    ratio_order,
    roc_figures,
    sweep_styles,
    type_figures,
)
from mmadbench.benchmark.reporting.readme_blocks import marked_block, readme_link, replace_block
from mmadbench.benchmark.reporting.table import CLIPPED_NOTE, Table, flags_none_or_all, fmt, fmt_bounded, slug

logger = logging.getLogger(__name__)

# column -> (heading, which is better, decimals)
METRICS = {"auc": ("AUC", max, 4), "fpr": ("FPR", min, 4), "tpr": ("TPR", max, 4), "accuracy": ("Accuracy", max, 4)}
TIMING = {
    "fit_s": ("Train (s)", min, 3),
    "fit_s_per_epoch": ("Train s / epoch", min, 3),
    "fit_ms_per_sample_epoch": ("Train ms / sample / epoch", min, 3),
    "score_s_per_1k": ("Test s / 1k samples", min, 3),
    "accuracy": ("Accuracy", max, 4),
    "peak_rss_mb": ("Peak RSS above start (MB)", min, 0),
    "peak_gpu_mb": ("Peak GPU above start (MB)", min, 0),
}
FORMATS = ("md", "tex", "csv")
ROPE = 0.01  # practical-equivalence margin of bounded metrics: a smaller difference never decides a bold
ALPHA = 0.05
BOUNDED = frozenset({"auc", "auprc", "fpr", "tpr", "accuracy", "precision", "f1", "precision_at_n", "recall_at_n"})
TYPE_WORDS = {"all": "all", "attribute": "attribute", "cross_modal": "cross-modal", "mixed": "mixed"}
# how captions name the registered datasets (a sweep's display_name wins)
DATASET_WORDS = {
    "mnist": "MNIST",
    "cifar10": "CIFAR-10",
    "cifar10-folder": "CIFAR-10",
    "fashion-mnist": "Fashion-MNIST",
    "av-digits": "audio-visual digits",
    "digits": "digits (8×8)",
    "digits-halves": "digits halves (8×4)",
}


# Columns whose value depends on the Youden threshold; a threshold that flags no test sample or
# every one makes them say nothing about the detector.
THRESHOLD_COLUMNS = ("fpr", "tpr", "accuracy", "recall")


def degenerate_thresholds(df: pd.DataFrame, by: list[str]) -> pd.Series:
    """Per group of `by`: 'flags none' / 'flags all' when the threshold flags no test sample / every
    test sample in every row of the group, 'flags none or all in k of n' when in some rows, else ''."""
    none, every = flags_none_or_all(df)
    flags = pd.DataFrame({"none": none, "all": every, "either": none | every})
    grouped = flags.groupby([df[c] for c in by], sort=True)
    hits, rows = grouped.sum(), grouped.size()

    def note(key) -> str:
        n, k = rows[key], hits.loc[key, "either"]
        if k == 0:
            return ""
        if hits.loc[key, "none"] == n:
            return "flags none"
        if hits.loc[key, "all"] == n:
            return "flags all"
        return f"flags none or all in {k} of {n}"

    return pd.Series({key: note(key) for key in rows.index}, dtype=object)


def _aggregate(
    df: pd.DataFrame, columns: dict, by: list[str], spread: bool = True
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Formatted means (± 95 % interval over seeds) and a bold mask per column; see `aggregate`."""
    agg = aggregate(df, columns, by, spread)
    return agg.text, agg.bold


@dataclass(frozen=True)
class Aggregate:
    """One table's cells: formatted text, bold mask, and the numbers behind them (long form)."""

    text: pd.DataFrame
    bold: pd.DataFrame
    numbers: pd.DataFrame  # one row per group and column: mean, std, ci95 (half-width), n
    clipped: bool = False  # some interval is shown clipped to the metric's range


def aggregate(df: pd.DataFrame, columns: dict, by: list[str], spread: bool = True, rope: float = ROPE) -> Aggregate:
    """Per group of `by`: the mean of each column, ± the half-width of its 95 % Student-t interval
    over the group's rows (its seeds) when `spread` and there are several; a bounded metric whose
    interval would pass 0 or 1 shows it clipped, as [low, high]. Bold (see `_best`): the best mean,
    and every entry not significantly worse (paired over seeds) or within `rope` of it. An AUC whose
    interval lies wholly below 0.5 says "(below chance)". Threshold columns of a group whose
    threshold flags no test sample or every one carry that note and are never bold, nor count
    towards the best."""
    grouped = df.groupby(by, sort=True)
    means, stds = grouped[list(columns)].mean(), grouped[list(columns)].std()
    counts = grouped[list(columns)].count() if spread else pd.DataFrame(1, index=means.index, columns=list(columns))
    half = stats.half_width(stds, counts)
    notes = (
        degenerate_thresholds(df, by).reindex(means.index).fillna("")
        if {"tpr", "fpr"} <= set(df.columns)
        else pd.Series("", index=means.index)
    )
    text = pd.DataFrame(index=means.index, columns=[c[0] for c in columns.values()], dtype=object)
    bold = pd.DataFrame(False, index=means.index, columns=text.columns)
    clipped = False
    for col, (heading, better, digits) in columns.items():
        marked = notes.ne("") if col in THRESHOLD_COLUMNS else pd.Series(False, index=means.index)
        chance = (means[col] + half[col] < 0.5) if col == "auc" else pd.Series(False, index=means.index)
        cells = [fmt_bounded(m, h, n, digits, col in BOUNDED) for m, h, n in zip(means[col], half[col], counts[col])]
        clipped |= any(c[1] for c in cells)
        text[heading] = [
            c[0] + (f" ({notes[i]})" if marked[i] else "") + (" (below chance)" if low else "")
            for i, c, low in zip(means.index, cells, chance)
        ]
        per_seed = _per_seed(df, by, col) if spread else None
        bold[heading] = _best(means[col], marked, better, digits, per_seed, rope if col in BOUNDED else 0.0)
    numbers = pd.concat(
        {c: pd.DataFrame({"mean": means[c], "std": stds[c], "ci95": half[c], "n": counts[c]}) for c in columns},
        names=["metric"],
    ).reset_index()
    return Aggregate(text, bold, numbers, clipped)


def _per_seed(df: pd.DataFrame, by: list[str], col: str) -> pd.DataFrame | None:
    """Groups x seeds: the column's mean per seed, for comparisons paired by seed."""
    if "seed" not in df or df[col].isna().all():
        return None
    return df.pivot_table(index=by, columns="seed", values=col, aggfunc="mean")


def _best(
    means: pd.Series, excluded: pd.Series, better, digits: int, per_seed: pd.DataFrame | None, rope: float
) -> pd.Series:
    """The best mean, and every entry that does not differ from it in a way that counts: its mean
    within `rope` (practical equivalence) or equal as shown, or not significantly different in a
    paired t-test over the seeds both have (two-sided, p >= ALPHA). With one seed there is no
    test, so only the best and its practical equals are bold. Never by overlap of marginal
    intervals, which bolds nearly a whole column when intervals are wide."""
    valid = means[~excluded].dropna()
    out = pd.Series(False, index=means.index)
    if len(valid) < 2:
        return out
    best = valid.idxmax() if better is max else valid.idxmin()
    for key, mean in valid.items():
        tie = abs(mean - valid[best]) <= rope + 1e-12 or round(mean, digits) == round(valid[best], digits)
        out[key] = key == best or tie or not _differs(per_seed, best, key)
    return out


def _differs(per_seed: pd.DataFrame | None, best, other) -> bool:
    """A paired t-test over the seeds both entries have rejects equal means (p < ALPHA); True
    without a usable test (fewer than three common seeds: with one degree of freedom the test
    can tell almost nothing apart), since then nothing bolds it but a tie."""
    if per_seed is None or best not in per_seed.index or other not in per_seed.index:
        return True
    pair = per_seed.loc[[best, other]].dropna(axis=1)
    if pair.shape[1] < 3:
        return True
    diff = pair.loc[other].to_numpy(float) - pair.loc[best].to_numpy(float)
    if np.allclose(diff, diff[0]):  # no spread: a constant, non-zero difference is a real one
        return not np.isclose(diff[0], 0.0)
    return bool(ttest_rel(pair.loc[other], pair.loc[best]).pvalue < ALPHA)


def dataset_labels(sweep_source: str) -> dict[tuple[str, str], str]:
    """(loader name, options as JSON) -> the `display_name` the recorded sweep file gives it."""
    if not sweep_source:
        return {}
    try:
        datasets = parse_sweep(sweep_source).datasets
    except Exception as exc:  # a sweep file of an older harness must not stop the report
        logger.warning("dataset display names not read from the recorded sweep file: %s", exc)
        return {}
    return {(d.name, options_key(dict(d.options))): d.label for d in datasets if d.label}


VAL_TRUTH_MARK = " †"
VAL_TRUTH_NOTE = "†: fit uses labelled validation normals (declared by the detector); the others do not."


def load_frame(store: ResultsStore) -> pd.DataFrame:
    """The store's rows with `dataset` replaced by its display name (and its anomaly setting, where a
    dataset has several, so tables never pool them), the protocol filled in, and the label of
    every detector that fits on validation truth marked with a dagger."""
    df = store.frame()
    df["protocol"] = df["protocol"].fillna("injection")
    if len(df):
        labels = dataset_labels(store.sweep_source())
        df["dataset"] = [
            dataset_display_name(n, o, labels.get((n, options_key(o)), ""))
            for n, o in zip(df.dataset, df.dataset_options)
        ]
        df["dataset"] = with_setting(df)
        marked = df.uses_val_truth.fillna(0).astype(bool)
        df.loc[marked, "display_name"] = df.display_name[marked] + VAL_TRUTH_MARK
    return df


def _setting(row: pd.Series) -> str:
    """What else than type and ratio shapes the anomalies: the sampler and hold-out classes
    (injection), or the anomaly share (one-class, where the share is the ratio column)."""
    if row.protocol == "one_class":
        return str(row.ratio)
    held = json.loads(row.holdout_classes) if isinstance(row.holdout_classes, str) and row.holdout_classes else []
    swap = row.get("swap_modality")
    return (
        f"{row.sampler}"
        + (f" holdout {'+'.join(map(str, held))}" if held else "")
        + (f" swap {swap}" if isinstance(swap, str) and swap else "")
    )


def with_setting(df: pd.DataFrame) -> pd.Series:
    """Dataset display names with the anomaly setting appended where one dataset has several, e.g.
    "digits [holdout holdout 9]" beside "digits [uniform]"; unchanged where it has one."""
    setting = df.apply(_setting, axis=1)
    several = setting.groupby(df.dataset).transform("nunique") > 1
    return df.dataset.where(~several, df.dataset + " [" + setting + "]")


def current_rows(df: pd.DataFrame, current: set[str] | None, folder: Path) -> pd.DataFrame:
    """Only the rows of the sweep as last run (`current`, recorded by the runner): cells of
    earlier settings (a changed default, parameter or code gives new cell ids) stay in the
    database but would be pooled with the new ones."""
    if current is None:
        logger.warning("%s records no current cells (written by an older harness): reporting every row", folder)
        return df
    stale = ~df.cell_id.isin(current)
    if stale.any():
        logger.warning(
            "%d cell(s) of earlier settings (%s) stay in %s/results.sqlite but are left out of the report",
            int(stale.sum()),
            ", ".join(sorted(set(df.display_name[stale].astype(str)))),
            folder,
        )
    return df[~stale]


def interval_note(df: pd.DataFrame, rope: float = ROPE) -> str:
    """How a table's numbers are summarised (one seed, or mean ± 95 % interval over n seeds) and
    what bold means."""
    seeds = (
        df.groupby(["display_name", "anomaly_type", "ratio"], dropna=False).seed.nunique()
        if len(df)
        else pd.Series([1])
    )
    lo, hi = int(seeds.min()), int(seeds.max())
    equal = f"within {rope:g} of it (practical equivalence)"
    if hi <= 1:
        return f"One seed: no interval, no test. Bold: the best value per column and every value {equal}."
    n = f"n = {lo}" if lo == hi else f"n = {lo} to {hi}"
    return (
        f"Mean ± half-width of the 95 % confidence interval over seeds (Student t, {n}). Bold: the best "
        f"mean, every mean {equal}, and every entry not significantly different from it (paired t-test "
        f"over at least three seeds, p ≥ {ALPHA}); a difference that is neither is not a finding."
    )


def caption_name(dataset: str) -> str:
    """A dataset as a caption names it in words ("MNIST", not "mnist"), its setting kept."""
    base, sep, rest = dataset.partition(" [")
    head, paren, opts = base.partition("(")
    return DATASET_WORDS.get(head, head) + paren + opts + sep + rest


def _with_metrics(columns: dict, decimals: int | None) -> dict:
    """`columns` with every metric shown to `decimals` places (None: each column's own)."""
    return columns if decimals is None else {k: (h, b, decimals) for k, (h, b, _) in columns.items()}


def _setting_notes(flags: pd.Series, dataset: str, anomaly_type: str) -> list[str]:
    """The ratios of a dataset and anomaly type that do not discriminate (from the ranking's flags)."""
    prefix = f"{dataset} · {anomaly_type} · "
    bad = [f"{s[len(prefix) :]} ({why})" for s, why in flags.items() if s.startswith(prefix) and why]
    return [f"Does not discriminate (left out of the ranks): {', '.join(bad)}."] if bad else []


def _by_group(frames: list[pd.DataFrame], groups: list[str]) -> pd.DataFrame:
    """Per-group frames side by side, each column named "<metric> (<group>)"."""
    return pd.concat([f.rename(columns={c: f"{c} ({g})" for c in f.columns}) for f, g in zip(frames, groups)], axis=1)


def _group_rows(frames: list[pd.DataFrame], groups: list[str]) -> pd.DataFrame:
    """Per-group frames stacked: rows (method, group) in method order, groups in their own order."""
    out = pd.concat(dict(zip(groups, frames)), names=["Ratio"]).swaplevel()
    order = {g: i for i, g in enumerate(groups)}
    keys = sorted(out.index, key=lambda k: (str(k[0]), order[k[1]]))
    return out.loc[keys]


def metric_tables(df: pd.DataFrame, flags: pd.Series | None = None, decimals: int | None = None) -> list[Table]:
    """One table per dataset and anomaly type: rows methods, columns AUC/FPR/TPR/accuracy per ratio
    (and, for LaTeX, the same with the ratios as rows: `Table.long`)."""
    ok = df[df.status == "ok"]
    flags = flags if flags is not None else pd.Series(dtype=object)
    metrics = _with_metrics(METRICS, decimals)
    tables = []
    for (dataset, anomaly_type), part in ok.groupby(["dataset", "anomaly_type"], sort=True):
        ratios = sorted(part.ratio.unique(), key=ratio_order)
        aggs = [aggregate(part[part.ratio == ratio], metrics, ["display_name"]) for ratio in ratios]
        title = f"{caption_name(dataset)}: {TYPE_WORDS.get(anomaly_type, anomaly_type)} anomalies at each normal:abnormal ratio"
        notes = (
            interval_note(part),
            *([CLIPPED_NOTE] if any(a.clipped for a in aggs) else []),
            *_setting_notes(flags, dataset, anomaly_type),
        )
        tables.append(
            Table(
                title,
                slug(f"{dataset}_{anomaly_type}"),
                _by_group([a.text for a in aggs], ratios).fillna("–"),
                _by_group([a.bold for a in aggs], ratios).fillna(False).astype(bool),
                notes=notes,
                numbers=pd.concat([a.numbers.assign(ratio=r) for a, r in zip(aggs, ratios)], ignore_index=True),
                long=(
                    _group_rows([a.text for a in aggs], ratios).fillna("–"),
                    _group_rows([a.bold for a in aggs], ratios).fillna(False).astype(bool),
                ),
                groups=tuple(ratios),
            )
        )
    return tables


def ratio_tables(df: pd.DataFrame, decimals: int | None = None) -> list[Table]:
    """Accuracy per method across normal:abnormal ratios, per dataset and anomaly type (TN-BCL Table V)."""
    ok = df[df.status == "ok"]
    out = []
    for (dataset, anomaly_type), part in ok.groupby(["dataset", "anomaly_type"], sort=True):
        ratios = sorted(part.ratio.unique(), key=ratio_order)
        if len(ratios) < 2:
            continue
        aggs = [
            aggregate(
                part[part.ratio == ratio], _with_metrics({"accuracy": (ratio, max, 4)}, decimals), ["display_name"]
            )
            for ratio in ratios
        ]
        kind = TYPE_WORDS.get(anomaly_type, anomaly_type)
        title = f"{caption_name(dataset)}: accuracy of {kind} anomaly detection across normal:abnormal ratios"
        out.append(
            Table(
                title,
                slug(f"{dataset}_{anomaly_type}_ratios"),
                pd.concat([a.text for a in aggs], axis=1).fillna("–"),
                pd.concat([a.bold for a in aggs], axis=1).fillna(False).astype(bool),
                notes=(interval_note(part), *([CLIPPED_NOTE] if any(a.clipped for a in aggs) else [])),
                numbers=pd.concat([a.numbers.assign(ratio=r) for a, r in zip(aggs, ratios)], ignore_index=True),
            )
        )
    return out


FIT_COLUMNS = ("fit_s", "fit_s_per_epoch", "fit_ms_per_sample_epoch")
TRANSDUCTIVE_NOTE = (
    "transductive: fit only keeps reference data and the method's work is done when "
    "scoring, so its cost is in the test column; its train figures are not compared."
)


REUSED_NOTE = (
    "{n} cells loaded the network trained by a cell with the same training data (they differ only in "
    "anomaly type or ratio); their train time and memory are left out of the medians, their test time is in."
)
REUSED_COLUMNS = (*FIT_COLUMNS, "peak_rss_mb", "peak_gpu_mb")


def _per_sample(ok: pd.DataFrame) -> pd.DataFrame:
    """The train time per epoch per training sample in ms (TN-BCL Table VI's time, per pair)."""
    if "n_train" not in ok or "fit_s_per_epoch" not in ok:
        return ok
    ok = ok.copy()
    ok["fit_ms_per_sample_epoch"] = 1000 * ok.fit_s_per_epoch.astype(float) / ok.n_train.astype(float)
    return ok


def _without_reused_training(ok: pd.DataFrame) -> pd.DataFrame:
    """Cells whose training was reused keep their test time; their train time and memory are
    blanked, since they did not train."""
    if "fit_reused" not in ok or not ok.fit_reused.fillna(0).astype(bool).any():
        return ok
    ok = ok.copy()
    reused = ok.fit_reused.fillna(0).astype(bool)
    for column in REUSED_COLUMNS:
        if column in ok:
            ok[column] = ok[column].astype(float).where(~reused)
    return ok


def _medians(part: pd.DataFrame, columns: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Median per method of each timing column, formatted, with the best per column bold; the
    train columns of transductive detectors are marked and take no part in the comparison."""
    grouped = part.groupby("display_name", sort=True)
    medians = grouped[list(columns)].median()
    transductive = grouped["transductive"].max().fillna(0).astype(bool).reindex(medians.index)
    text = pd.DataFrame(index=medians.index, columns=[c[0] for c in columns.values()], dtype=object)
    bold = pd.DataFrame(False, index=medians.index, columns=text.columns)
    for col, (heading, better, digits) in columns.items():
        marked = transductive & (col in FIT_COLUMNS)
        text[heading] = [
            fmt(m, 0.0, 1, digits) + (" (transductive)" if mark and not pd.isna(m) else "")
            for m, mark in zip(medians[col], marked)
        ]
        valid = medians[col][~marked].dropna()
        if len(valid) > 1:
            bold[heading] = (medians[col].round(digits) == round(better(valid), digits)) & ~marked
    return text, bold


def concurrency(runs: list[dict]) -> int:
    """The most cells the sweep's runs had in flight at once (1: one after another)."""
    return max((int(r.get("workers") or 1) for r in runs if r.get("executor", "inprocess") != "inprocess"), default=1)


def _timing_conditions(part: pd.DataFrame, at_once: int = 1) -> str:
    """How the timings of a table were taken: cells per method, threads, isolation, and how many
    cells ran at once (each on its own core when at most one per core)."""
    per_method = part.groupby("display_name").size()
    n = f"{per_method.min()}" if per_method.min() == per_method.max() else f"{per_method.min()}-{per_method.max()}"
    threads = ", ".join(str(int(t)) for t in sorted(part.threads.dropna().unique())) or "?"
    isolated = part.isolated.fillna(0).astype(bool)
    where = (
        "each cell in a fresh process (--isolate)"
        if isolated.all()
        else "cells run in shared processes"
        if not isolated.any()
        else "some cells isolated, some not"
    )
    where += "; one cell at a time" if at_once == 1 else f"; up to {at_once} cells at once (worker processes)"
    return (
        f"Median over {n} cells per method; {threads} CPU thread(s) per cell; {where}. Fit time starts "
        "after the detector's one-off warm-up; memory is the cell's peak above the process's memory at "
        "its start. Timings compare only within one sweep run alone on an otherwise idle machine."
    )


def timing_table(df: pd.DataFrame, at_once: int = 1) -> list[Table]:
    """Per dataset: median training and test time, accuracy and peak memory (TN-BCL Table VI);
    `at_once`: the most cells the runs had in flight together (see `concurrency`)."""
    ok = _without_reused_training(_per_sample(df[df.status == "ok"]))
    out = []
    for dataset, part in ok.groupby("dataset", sort=True):
        columns = {k: v for k, v in TIMING.items() if k in part and part[k].notna().any()}
        timed = {k: v for k, v in columns.items() if k != "accuracy"}
        text, bold = _medians(part, timed)
        if "accuracy" in columns:  # the accuracy is a result: mean over cells, threshold notes kept
            acc_text, acc_bold = _aggregate(part, {"accuracy": columns["accuracy"]}, ["display_name"], spread=False)
            at = list(columns).index("accuracy")
            text.insert(at, acc_text.columns[0], acc_text.iloc[:, 0])
            bold.insert(at, acc_bold.columns[0], acc_bold.iloc[:, 0])
        device = ", ".join(sorted(part.device.dropna().unique()))
        notes = [_timing_conditions(part, at_once)]
        if part.transductive.fillna(0).astype(bool).any():
            notes.append(TRANSDUCTIVE_NOTE)
        reused = int(part.get("fit_reused", pd.Series(dtype=object)).fillna(0).astype(bool).sum())
        if reused:
            notes.append(REUSED_NOTE.format(n=reused))
        title = f"{dataset}: time and memory on {device} (accuracy: mean over the dataset's cells)"
        out.append(Table(title, slug(f"{dataset}_timing"), text, bold, notes=tuple(notes)))
    return out


def _notes(table: Table) -> list[str]:
    """Footnotes a table needs: its own, and the dagger of detectors that fit on validation truth."""
    dagger = [VAL_TRUTH_NOTE] if any(str(i).endswith(VAL_TRUTH_MARK) for i in table.frame.index) else []
    return [*table.notes, *dagger]


def to_markdown(table: Table) -> str:
    shown = table.frame.where(~table.bold, "**" + table.frame + "**")
    shown.index.name = table.row_heading
    notes = "".join(f"\n{n}\n" for n in _notes(table))
    return f"**{table.title}**\n\n" + shown.to_markdown(disable_numparse=True) + "\n" + notes


def to_latex(table: Table, layout: str = "full", metric: str = "AUC") -> str:
    return latex.to_latex(table, _notes(table), layout, metric)


def _clear_outputs(folder: Path) -> None:
    """Remove the generated tables and figures, so a dataset or anomaly type no longer reported leaves
    nothing behind (the README block is built from the tables folder)."""
    for path in [
        *folder.glob("tables/*"),
        *folder.glob("roc_*.p[nd][gf]"),
        *folder.glob("roc_families/*"),
        *folder.glob("types_*.p[nd][gf]"),
        *folder.glob("cd.p[nd][gf]"),
        *folder.glob("missing_*.p[nd][gf]"),
        *folder.glob("missing_families/*"),
    ]:
        if path.is_file():
            path.unlink()


@dataclass(frozen=True)
class ReportStyle:
    """How tables are printed: decimals of the metric tables (None: 4), the LaTeX layout ("full":
    every metric, ratios as rows; "compact": `tex_metric` alone, ratios as columns, to fit a column)."""

    decimals: int | None = None
    tex_layout: str = "full"
    tex_metric: str = "AUC"

    def __post_init__(self) -> None:
        from mmadbench.errors import MmadbenchError

        if self.decimals is not None and not 0 <= self.decimals <= 8:
            raise MmadbenchError(f"--decimals must be between 0 and 8, got {self.decimals}")
        if self.tex_layout not in latex.LAYOUTS:
            raise MmadbenchError(f"--tex-layout must be one of {list(latex.LAYOUTS)}, got {self.tex_layout!r}")
        headings = [h for h, _, _ in METRICS.values()]
        if self.tex_metric not in headings:
            raise MmadbenchError(f"--tex-metric must be one of {headings}, got {self.tex_metric!r}")


def is_smoke(store: ResultsStore) -> bool:
    """The folder holds a smoke run (`--smoke`: test parameters, one seed), not results."""
    return any(run.get("smoke") for run in store.runs())


def write_report(
    folder: str | Path, formats: tuple[str, ...] = FORMATS, figures: bool = True, style: ReportStyle = ReportStyle()
) -> Path:
    """Regenerate every table and figure of a sweep folder from its database; return summary.md."""
    folder = Path(folder)
    if not (folder / "results.sqlite").is_file():
        from mmadbench.errors import MmadbenchError

        raise MmadbenchError(f"no results database in {str(folder)!r}; run a sweep with --out first")
    with ResultsStore(folder) as store:
        every = current_rows(load_frame(store), store.current_ids(), folder)
        df = every[every.dropped_modality.isna()]  # ablation cells are reported on their own
        tables_dir = folder / "tables"
        tables_dir.mkdir(exist_ok=True)
        _clear_outputs(folder)
        injected, one_class = df[df.protocol != "one_class"], df[df.protocol == "one_class"]
        ranking = report_ranks.rank(df)
        headline = (
            [t for t in (report_ranks.rank_table(ranking), report_ranks.settings_table(ranking)) if t is not None]
            if ranking is not None
            else []
        )
        smoke = is_smoke(store)
        tables = (
            headline
            + metric_tables(injected, ranking.flags if ranking is not None else None, style.decimals)
            + ratio_tables(injected, style.decimals)
            + report_oneclass.tables(one_class, report_oneclass.table_specs(store.sweep_source()))
            + timing_table(df, concurrency(store.runs()))
            + report_robustness.tables(every)
        )
        if smoke:
            tables = [smoke_marked(t) for t in tables]
        for table in tables:
            write_table(table, tables_dir, formats, style)
        every.drop(columns=["versions", "identity", "roc_test"], errors="ignore").to_csv(
            folder / "cells.csv", index=False
        )
        figs = []
        if figures:
            (folder / "roc_families").mkdir(exist_ok=True)
            with sweep_styles(every.display_name.dropna().unique(), SMOKE_BANNER if smoke else ""):
                figs = roc_figures(injected, store, folder) + type_figures(injected, folder)
                if ranking is not None and ranking.ranked:
                    figs += cd_diagram(ranking.average_ranks, ranking.cd, _cd_title(ranking), folder / "cd")
                figs += report_robustness.figures(every, folder)
        write_manifest(
            folder,
            manifest(
                str(df.sweep.iloc[0]) if len(df) else folder.name,
                store.sweep_source(),
                every.to_dict("records"),
                store.datasets(),
                store.runs(),
            ),
        )
    summary = folder / "summary.md"
    summary.write_text((f"> **{SMOKE_BANNER}**\n\n" if smoke else "") + _summary_text(df, tables, figs))
    browser.write_sweep_page(folder)
    logger.info("report: %d tables, %d figures in %s", len(tables), len(figs), folder)
    return summary


def smoke_marked(table: Table) -> Table:
    """A smoke run's table: its caption says it holds no results."""
    return replace(table, title=f"{SMOKE_BANNER}: {table.title}")


def write_table(table: Table, folder: Path, formats: tuple[str, ...], style: ReportStyle = ReportStyle()) -> None:
    """A table as Markdown and LaTeX, and as CSV: the numbers behind it (mean, std, ci95, n) where
    it has them, else its cells as shown."""
    if "md" in formats:
        (folder / f"{table.stem}.md").write_text(to_markdown(table))
    if "tex" in formats:
        (folder / f"{table.stem}.tex").write_text(to_latex(table, style.tex_layout, style.tex_metric))
    if "csv" in formats:
        if table.numbers is not None:
            table.numbers.to_csv(folder / f"{table.stem}.csv", index=False, float_format="%.6g")
        else:
            table.frame.to_csv(folder / f"{table.stem}.csv", index_label=table.row_heading.lower())


def _cd_title(ranking: report_ranks.Ranking) -> str:
    f = ranking.friedman
    return (
        f"Average ranks by AUC over {f.n} settings (Friedman p = {f.p_chi2:.2g}); "
        f"bars join detectors within the Nemenyi CD = {ranking.cd:.2f} (alpha = {report_ranks.ALPHA})"
    )


def _status_line(df: pd.DataFrame) -> str:
    counts = df.status.value_counts().to_dict()
    return ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))


def _summary_text(df: pd.DataFrame, tables: list[Table], figs: list[Path]) -> str:
    versions = json.loads(df.versions.dropna().iloc[0]) if df.versions.notna().any() else {}
    head = [
        f"# Results of sweep `{df.sweep.iloc[0]}`" if len(df) else "# Results",
        "",
        f"Cells: {len(df)} ({_status_line(df)}). Device: {', '.join(sorted(df.device.dropna().unique()))}. "
        f"Git revision: {', '.join(sorted(df.git_rev.dropna().unique()))}.",
        "",
        "Libraries: " + ", ".join(f"{k} {v}" for k, v in versions.items()),
        "",
        "Threshold: Youden's index on the validation split, applied to test. "
        "FPR/TPR/accuracy use that threshold; AUC is threshold-free.",
        "",
    ]
    errors = df[df.status != "ok"]
    body = [to_markdown(t) for t in tables]
    if len(errors):
        body.append(
            "**Cells that did not produce numbers**\n\n"
            + errors[["display_name", "anomaly_type", "ratio", "seed", "status", "error"]].to_markdown(index=False)
            + "\n"
        )
    main = [p for p in figs if p.suffix == ".png" and p.parent.name != "roc_families"]
    families = [p for p in figs if p.suffix == ".png" and p.parent.name == "roc_families"]
    body += [f"![{p.stem}]({p.name})" for p in main]
    if families:
        body.append(
            "ROC curves per detector family: " + ", ".join(f"[{p.stem}](roc_families/{p.name})" for p in families)
        )
    return "\n".join(head) + "\n" + "\n".join(body) + "\n"


README_START, README_END = "<!-- results:start -->", "<!-- results:end -->"


def readme_block(readme: str | Path, folder: str | Path, anomaly_type: str = "all") -> str:
    """The README's results block for a sweep folder: the average-rank table and critical-difference
    diagram (the headline), then its tables of `anomaly_type` and their ROC figure."""
    readme, folder = Path(readme), Path(folder)
    parts = sorted(folder.glob(f"tables/*_{anomaly_type}.md"), key=lambda p: p.name)
    figure = next(iter(sorted(folder.glob(f"roc_*_{anomaly_type}.png"))), None)
    block = [README_START, ""]
    if (folder / "tables" / "ranks.md").is_file():
        block.append((folder / "tables" / "ranks.md").read_text())
    if (folder / "cd.png").is_file():
        block.append(f"![Critical-difference diagram]({readme_link(folder / 'cd.png', readme)})\n")
    block += [p.read_text() for p in parts]
    if figure is not None:
        block.append(f"![ROC curves]({readme_link(figure, readme)})\n")
    block.append(README_END)
    return "\n".join(block)


def current_readme_block(readme: str | Path) -> str | None:
    """The results block the README holds now, markers included; None without markers."""
    return marked_block(Path(readme).read_text(), README_START, README_END)


def update_readme(readme: str | Path, folder: str | Path, anomaly_type: str = "all") -> None:
    """Replace the README block between result markers with the sweep's tables of `anomaly_type`."""
    replace_block(readme, README_START, README_END, readme_block(readme, folder, anomaly_type))
