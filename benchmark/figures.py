"""The report's figures, drawn from the results store alone: mean ROC curves with their band over
seeds (TN-BCL Fig. 5), detection rate per anomaly type (Fig. 6), and the critical-difference
diagram of average ranks (Demšar 2006). Each as PNG (for the README) and PDF (for papers).

A ROC figure stays readable: the main one shows the seed papers' methods and the best few by
mean AUC (at most MAIN_CURVES curves); every detector also appears in its family's figure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from mmadbench.datasets.injection import Ratio

from . import stats
from .roc import GRID, tpr_on_grid
from .store import ResultsStore
from .table import slug

MAIN_CURVES = 8
PAPER_METHODS = ("tnbcl", "cae_occ")  # the seed papers' own methods: always in the main figure


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

    with warnings.catch_warnings():  # long method names: matplotlib keeps the layout and says so
        warnings.filterwarnings("ignore", message="Tight layout not applied")
        fig.tight_layout()
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
        for i, (label, auc) in enumerate(order.items()):
            curve = _mean_curve(rows[rows.display_name == label], store)
            if curve is None:
                continue
            mean, half = curve
            color = plt.cm.tab10(i % 10)
            ax.plot(GRID, mean, lw=1.4, color=color, label=f"{label} ({auc:.3f})")
            if np.isfinite(half).any():
                ax.fill_between(
                    GRID, np.clip(mean - half, 0, 1), np.clip(mean + half, 0, 1), color=color, alpha=0.15, lw=0
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


def type_figures(df: pd.DataFrame, folder: Path) -> list[Path]:
    """Detection rate per anomaly type and method at the Youden threshold (TN-BCL Fig. 6), mean over seeds."""
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
            types = [t for t in ("attribute", "cross_modal", "mixed") if t in rates]
            rates[types].plot.bar(ax=ax, width=0.8, color=["#4c72b0", "#dd8452", "#55a868"][: len(types)])
            ax.set(title=f"{dataset} · all anomaly types · {ratio}", ylabel="detected share", ylim=(0, 1.3), xlabel="")
            ax.legend(fontsize=7, ncol=3, loc="upper right")
        paths += save(fig, folder / f"types_{slug(dataset)}")
    return paths


def cd_diagram(average_ranks: pd.Series, cd: float, title: str, stem: Path) -> list[Path]:
    """Critical-difference diagram in Demšar's layout: the rank axis (1 = best, left), each
    detector hung from its average rank (the better half to the left, the rest to the right),
    the CD as a bar above the axis, and thick bars joining detectors within CD of each other."""
    plt = pyplot()
    r = average_ranks.sort_values()
    names, values, k = list(r.index), r.to_numpy(), len(r)
    groups = stats.cliques(r, cd)
    half = (k + 1) // 2
    step, top = 0.32, 0.18 + 0.12 * len(groups)
    depth = top + step * max(half, k - half)
    margin = 0.9 + 0.075 * max(len(n) for n in names) * max(1.0, (k - 1) / 8)
    fig, ax = plt.subplots(figsize=(10, 1.6 + 0.9 * depth))
    ax.hlines(0, 1, k, color="k", lw=1)
    for t in range(1, k + 1):
        ax.vlines(t, 0, 0.06, color="k", lw=1)
        ax.text(t, 0.09, str(t), ha="center", va="bottom", fontsize=8)
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
