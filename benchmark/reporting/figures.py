"""The report's figures, drawn from the results store alone: mean ROC curves with their band over
seeds (TN-BCL Fig. 5), detection rate per anomaly type (Fig. 6), and the critical-difference
diagram of average ranks (Demšar 2006). Each as PNG (for the README) and PDF (for papers).

A figure stays readable: the main one shows the seed papers' methods and the best few by mean
AUC (at most MAIN_CURVES lines a panel); every detector also appears in its family's figure. A
detector keeps one colour, marker and line style in every figure of a sweep (`sweep_styles`), and
a smoke run's figures carry a banner saying they are not results (`banner`).
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.benchmark.execution.store import ResultsStore
from mmadbench.benchmark.measure.roc import GRID, tpr_on_grid
from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reporting.table import slug
from mmadbench.datasets.injection import Ratio

MAIN_CURVES = 8
PAPER_METHODS = ("tnbcl", "cae_occ")  # the seed papers' own methods: always in the main figure
SMOKE_BANNER = "SMOKE \u2014 test parameters, not results"


@dataclass(frozen=True)
class LineStyle:
    """How one detector is drawn: the same in every figure of a sweep."""

    color: tuple[float, ...]
    marker: str
    linestyle: str


_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*")
_LINES = ("-", "--", "-.", ":")
_STYLES: contextvars.ContextVar[dict[str, LineStyle] | None] = contextvars.ContextVar("styles", default=None)
_BANNER: contextvars.ContextVar[str] = contextvars.ContextVar("banner", default="")


def palette(names: Iterable[str]) -> dict[str, LineStyle]:
    """A style per display name, assigned in sorted order: the ten strong colours of tab20 first,
    then its ten light ones, then the next line style; markers cycle, so no two detectors of a
    sweep look alike."""
    cmap = pyplot().get_cmap("tab20")
    ordered = sorted(set(names))
    return {
        name: LineStyle(
            tuple(cmap((2 * i) % 20 + (i // 10) % 2)), _MARKERS[i % len(_MARKERS)], _LINES[(i // 20) % len(_LINES)]
        )
        for i, name in enumerate(ordered)
    }


def style_of(name: str) -> LineStyle:
    """The sweep's style of a detector (see `sweep_styles`); a name outside it gets a stable one."""
    styles = _STYLES.get() or {}
    if name in styles:
        return styles[name]
    i = int(hashlib.sha256(name.encode()).hexdigest(), 16)
    return LineStyle(tuple(pyplot().get_cmap("tab20")(i % 20)), _MARKERS[i % len(_MARKERS)], "-")


@contextlib.contextmanager
def sweep_styles(names: Iterable[str], banner: str = "") -> Iterator[None]:
    """Figures drawn inside share one palette over `names`, and carry `banner` (e.g. SMOKE_BANNER)."""
    tokens = _STYLES.set(palette(names)), _BANNER.set(banner)
    try:
        yield
    finally:
        _STYLES.reset(tokens[0])
        _BANNER.reset(tokens[1])


def pyplot():
    """matplotlib's pyplot on the Agg backend (no display needed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save(fig, stem: Path) -> list[Path]:
    """Save a figure as PNG and PDF, then close it. The PDF carries no creation date, so
    regenerating an unchanged report leaves the files byte-identical."""
    import warnings

    banner = _BANNER.get()
    if banner:
        fig.text(0.5, 0.5, banner, ha="center", va="center", rotation=20, fontsize=22, color="red", alpha=0.35)
        fig.text(0.01, 0.995, banner, ha="left", va="top", fontsize=9, color="red", weight="bold")
    with warnings.catch_warnings():  # long method names: matplotlib keeps the layout and says so
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig.tight_layout(rect=(0, 0, 1, 0.97) if banner else None)
    paths = [stem.with_name(f"{stem.name}.{ext}") for ext in ("png", "pdf")]
    for path in paths:
        fig.savefig(path, dpi=130, metadata={"CreationDate": None} if path.suffix == ".pdf" else None)
    pyplot().close(fig)
    return paths


def ratio_order(ratio: str) -> float:
    """Sort key of a "normal:abnormal" ratio: the anomaly share, smallest first."""
    return Ratio.parse(ratio).anomaly_share


def _mean_curve(rows: pd.DataFrame, store: ResultsStore) -> tuple[np.ndarray, np.ndarray] | None:
    """Mean TPR over the seeds' ROC curves on GRID, and the half-width of its 95 % interval
    (NaN with one seed): vertical averaging, as in Fawcett (2006). From the score files, else
    from the curve kept on the row (a database committed without its score files)."""
    curves = []
    kept = rows.roc_test if "roc_test" in rows else pd.Series([None] * len(rows), index=rows.index)
    for cell_id, row_curve in zip(rows.cell_id, kept):
        saved = store.load_scores(cell_id)
        if saved is not None:
            curves.append(tpr_on_grid(saved["test_truth"], saved["test_scores"]))
        elif isinstance(row_curve, str) and row_curve.startswith("["):  # a JSON column of the store
            curves.append(np.asarray(json.loads(row_curve), float))
    if not curves:
        return None
    arr = np.vstack(curves)
    ivs = [stats.t_interval(arr[:, i]) for i in range(arr.shape[1])] if len(arr) > 1 else None
    half = np.array([iv.half_width for iv in ivs]) if ivs else np.full(len(GRID), np.nan)
    return arr.mean(0), half


def main_display_names(part: pd.DataFrame) -> list[str]:
    """The seed papers' methods and the best others by mean AUC, at most MAIN_CURVES in all."""
    means = part.groupby("display_name").auc.mean().sort_values(ascending=False)
    detector = part.groupby("display_name").detector.first()
    paper = [lab for lab in means.index if detector[lab] in PAPER_METHODS]
    others = [lab for lab in means.index if lab not in paper]
    return paper + others[: max(0, MAIN_CURVES - len(paper))]


def _roc_figure(part: pd.DataFrame, labels: list[str], store: ResultsStore, title: str, stem: Path) -> list[Path]:
    plt = pyplot()
    ratios = sorted(part.ratio.unique(), key=ratio_order)
    fig, axes = plt.subplots(1, len(ratios), figsize=(5 * len(ratios), 4.6), squeeze=False)
    for ax, ratio in zip(axes[0], ratios):
        rows = part[part.ratio == ratio]
        order = rows.groupby("display_name").auc.mean().reindex(labels).dropna().sort_values(ascending=False)
        for label, auc in order.items():
            curve = _mean_curve(rows[rows.display_name == label], store)
            if curve is None:
                continue
            mean, half = curve
            style = style_of(label)
            ax.plot(
                GRID,
                mean,
                lw=1.4,
                color=style.color,
                ls=style.linestyle,
                marker=style.marker,
                markevery=max(1, len(GRID) // 8),
                markersize=3.5,
                label=f"{label} ({auc:.3f})",
            )
            if np.isfinite(half).any():
                ax.fill_between(
                    GRID, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=style.color, alpha=0.15, lw=0
                )
        ax.plot([0, 1], [0, 1], ls=":", c="grey", lw=0.8)
        ax.set(title=f"{title} · {ratio}", xlabel="False positive rate", ylabel="True positive rate")
        ax.legend(fontsize=7, loc="lower right")
    return save(fig, stem)


def roc_figures(df: pd.DataFrame, store: ResultsStore, folder: Path) -> list[Path]:
    """Per dataset and anomaly type: the main ROC figure, then one per detector family. Curves
    are means over seeds with a 95 % band; the legend gives the mean AUC."""
    ok = df[df.status == "ok"]
    paths = []
    for (dataset, anomaly_type), part in ok.groupby(["dataset", "anomaly_type"], sort=True):
        name = f"{slug(dataset)}_{anomaly_type}"
        paths += _roc_figure(
            part, main_display_names(part), store, f"{dataset} · {anomaly_type}", folder / f"roc_{name}"
        )
        families = part.family.fillna("other") if "family" in part else pd.Series("other", index=part.index)
        for family, members in part.groupby(families, sort=True):
            paths += _roc_figure(
                members,
                sorted(members.display_name.unique()),
                store,
                f"{dataset} · {anomaly_type} · {family}",
                folder / "roc_families" / f"roc_{name}_{slug(family)}",
            )
    return paths


TYPE_COLOURS = {
    "attribute": "#4c72b0",
    "cross_modal": "#dd8452",
    "mixed": "#55a868",
    "normals flagged (FPR)": "#8c8c8c",
}


def type_figures(df: pd.DataFrame, folder: Path) -> list[Path]:
    """Detection rate per anomaly type and method at the Youden threshold (TN-BCL Fig. 6), mean over
    seeds, with the false-positive rate at that threshold beside them: a method that flags nearly
    everything detects every type, and only its false positives show it."""
    plt = pyplot()
    ok = df[(df.status == "ok") & (df.anomaly_type == "all")]
    paths = []
    for dataset, part in ok.groupby("dataset", sort=True):
        ratios = sorted(part.ratio.unique(), key=ratio_order)
        fig, axes = plt.subplots(
            len(ratios), 1, figsize=(max(6, 0.5 * part.display_name.nunique() + 2), 3.2 * len(ratios)), squeeze=False
        )
        for ax, ratio in zip(axes[:, 0], ratios):
            rates = (
                pd.DataFrame(
                    [json.loads(r) for r in part[part.ratio == ratio].detection_rate],
                    index=part[part.ratio == ratio].display_name,
                )
                .groupby(level=0)
                .mean()
            )
            rows = part[part.ratio == ratio]
            rates["normals flagged (FPR)"] = rows.groupby("display_name").fpr.mean().reindex(rates.index)
            types = [t for t in TYPE_COLOURS if t in rates]
            rates[types].plot.bar(ax=ax, width=0.8, color=[TYPE_COLOURS[t] for t in types])
            ax.set(
                title=f"{dataset} · all anomaly types · {ratio}",
                ylabel="share flagged (Youden threshold)",
                ylim=(0, 1.3),
                xlabel="",
            )
            ax.legend(fontsize=7, ncol=4, loc="upper right")
        paths += save(fig, folder / f"types_{slug(dataset)}")
    return paths


def cd_diagram(
    average_ranks: pd.Series, cd: float | None, title: str, stem: Path, groups: list[list[str]] | None = None
) -> list[Path]:
    """Critical-difference diagram in Demšar's layout: the rank axis (1 = best, left), each
    detector hung from its average rank (the better half to the left, the rest to the right),
    and thick bars joining detectors not significantly different: those within Nemenyi's CD
    (drawn as a bar above the axis), or the given `groups` (e.g. Wilcoxon-Holm cliques, cd None)."""
    plt = pyplot()
    r = average_ranks.sort_values()
    names, values, k = list(r.index), r.to_numpy(), len(r)
    groups = groups if groups is not None else stats.cliques(r, cd)
    half = (k + 1) // 2
    step, top = 0.32, 0.18 + 0.12 * len(groups)
    depth = top + step * max(half, k - half)
    margin = 0.9 + 0.075 * max(len(n) for n in names) * max(1.0, (k - 1) / 8)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.9 * depth))
    ax.hlines(0, 1, k, color="k", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.06, color="k", lw=1)
        ax.text(t, 0.09, str(t), ha="center", va="bottom", fontsize=8)
    if cd is not None:
        ax.hlines(0.45, 1, 1 + cd, color="k", lw=1.6)
        ax.vlines([1, 1 + cd], 0.4, 0.5, color="k", lw=1)
        ax.text(1 + cd / 2, 0.52, f"CD = {cd:.2f}", ha="center", va="bottom", fontsize=8)
    for j, group in enumerate(groups):
        y = -0.1 - 0.12 * j
        ax.hlines(y, r[group[0]] - 0.03, r[group[-1]] + 0.03, color="k", lw=3)
    for i, (name, value) in enumerate(zip(names, values)):
        left = i < half
        y = -(top + step * ((i if left else k - 1 - i) + 1))
        end = 1 - 0.2 if left else k + 0.2
        ax.plot([value, value, end], [0, y, y], color="k", lw=0.8)
        ax.text(
            end - 0.05 if left else end + 0.05,
            y,
            f"{name} ({value:.2f})",
            ha="right" if left else "left",
            va="center",
            fontsize=8,
        )
    ax.set_xlim(1 - margin, k + margin)
    ax.set_ylim(-depth - 0.15, 0.75)
    ax.set_title(title, fontsize=9)
    ax.axis("off")
    return save(fig, stem)
