"""The report's headline: which settings discriminate, the detectors' average ranks over them,
and whether the differences are significant (Friedman, Nemenyi, Wilcoxon-Holm; Demšar 2006).

A setting is one dataset x anomaly type x ratio (injected anomalies) or one dataset x normal
class (one-class protocol). Within a setting each detector's AUC is its mean over seeds, with a
Student-t interval. A setting where every detector is at AUC >= 0.999, or where every
detector's interval overlaps every other's, does not discriminate: it is listed, and left out of
the ranks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from mmadbench.benchmark.reporting import stats
from mmadbench.benchmark.reporting.table import Table

ALPHA = 0.05
ROPE = 0.01  # practical-equivalence margin on AUC: a smaller difference never decides a bold


def setting_names(df: pd.DataFrame) -> pd.Series:
    """Each row's setting: "dataset · anomaly type · ratio", or "dataset · class c" under the one-class protocol."""
    one_class = df.protocol.eq("one_class")
    injected = df.dataset.astype(str) + " · " + df.anomaly_type.astype(str) + " · " + df.ratio.astype(str)
    classes = df.dataset.astype(str) + " · class " + df.normal_class.astype("Int64").astype(str)
    return injected.where(~one_class, classes)


@dataclass
class Ranking:
    """Everything the rank table, the settings table and the critical-difference diagram show."""

    intervals: dict[tuple[str, str], stats.Interval]  # (setting, detector) -> AUC over seeds
    flags: pd.Series  # setting -> "" or why it does not discriminate
    scores: pd.DataFrame  # kept settings x ranked detectors: mean AUC
    average_ranks: pd.Series = field(default_factory=pd.Series)  # best first
    dropped: list[str] = field(default_factory=list)  # detectors without a result in some kept setting
    friedman: stats.Friedman | None = None
    cd: float | None = None
    wilcoxon: pd.DataFrame | None = None
    seeds: tuple[int, int] = (0, 0)  # fewest and most seeds behind one (setting, detector)

    @property
    def ranked(self) -> bool:
        return self.friedman is not None


def below_chance(iv: stats.Interval) -> bool:
    """The AUC interval lies wholly below 0.5 (needs an interval, so at least two seeds)."""
    return bool(np.isfinite(iv.half_width) and iv.high < 0.5)


def rank(df: pd.DataFrame) -> Ranking | None:
    """Intervals, discrimination flags, average ranks and tests of the finished cells in `df`."""
    ok = df[(df.status == "ok") & df.auc.notna()]
    if ok.empty:
        return None
    ok = ok.assign(setting=setting_names(ok))
    intervals = {key: stats.t_interval(part.auc) for key, part in ok.groupby(["setting", "display_name"], sort=True)}
    settings = sorted({s for s, _ in intervals})
    flags = pd.Series(
        {s: stats.discriminates([iv for (t, _), iv in intervals.items() if t == s]) for s in settings}, dtype=object
    )
    means = pd.Series({k: iv.mean for k, iv in intervals.items()}).unstack()
    kept = means.loc[flags.eq("")]
    complete = kept.columns[kept.notna().all()] if len(kept) else kept.columns
    counts = [iv.n for iv in intervals.values()]
    result = Ranking(
        intervals,
        flags,
        kept[complete],
        dropped=sorted(set(kept.columns) - set(complete)),
        seeds=(min(counts), max(counts)),
    )
    if len(result.scores) >= 2 and result.scores.shape[1] >= 2:
        result.average_ranks = stats.ranks(result.scores).mean().sort_values()
        result.friedman = stats.friedman(result.average_ranks, len(result.scores))
        result.cd = stats.nemenyi_cd(len(result.average_ranks), len(result.scores), ALPHA)
        result.wilcoxon = stats.wilcoxon_against(result.scores, result.average_ranks.index[0])
    return result


def _seeds(r: Ranking) -> str:
    lo, hi = r.seeds
    return f"{lo}" if lo == hi else f"{lo}-{hi}"


def _left_out(r: Ranking) -> str:
    counts = r.flags[r.flags.ne("")].value_counts()
    if counts.empty:
        return "Every setting discriminates"
    parts = ", ".join(f"{n} {why}" for why, n in counts.items())
    return f"{int(counts.sum())} of {len(r.flags)} settings do not discriminate and are left out ({parts})"


def rank_table(r: Ranking) -> Table | None:
    """Average rank, mean AUC, settings below chance and the Wilcoxon-Holm p against the best."""
    if not r.ranked:
        return None
    best = r.average_ranks.index[0]
    rows = {}
    for det, avg in r.average_ranks.items():
        low = sum(below_chance(iv) for (s, d), iv in r.intervals.items() if d == det)
        p = "–" if det == best else f"{r.wilcoxon.loc[det, 'p_holm']:.3g}"
        if det != best and r.wilcoxon.loc[det, "p_holm"] < ALPHA:
            p += " (worse)"
        rows[det] = {
            "Average rank": f"{avg:.2f}",
            "Mean AUC": f"{r.scores[det].mean():.4f}",
            "Settings below chance": str(low),
            f"p vs {best} (Wilcoxon, Holm)": p,
        }
    text = pd.DataFrame.from_dict(rows, orient="index")
    bold = pd.DataFrame(False, index=text.index, columns=text.columns)
    bold.loc[best, "Average rank"] = True
    mean_auc = r.scores.mean()
    bold.loc[mean_auc.index[mean_auc >= mean_auc.max() - ROPE - 1e-12], "Mean AUC"] = True
    f = r.friedman
    notes = [
        f"Average rank (1 = best) of {f.k} detectors over {f.n} settings, each detector's AUC a mean over "
        f"{_seeds(r)} seed(s); ties share the average rank. {_left_out(r)}."
        + (f" Left out for lacking a setting: {', '.join(r.dropped)}." if r.dropped else ""),
        f"Friedman chi2_F = {f.chi2:.2f} (p = {f.p_chi2:.3g}); {_iman_davenport(f)}. Nemenyi critical "
        f"difference at alpha = {ALPHA}: CD = {r.cd:.2f} ranks.",
        (
            f"p: two-sided Wilcoxon signed-rank test of each detector's per-setting AUC against {best}'s, "
            f'Holm-corrected; "worse" where p < 0.05. {_reach(f.n, f.k - 1)}'
        ).rstrip(),
        f"Bold: the best average rank, and the highest mean AUC with every mean AUC within {ROPE:g} of it "
        "(practical equivalence); the two need not be the same detector.",
    ]
    return Table("Average ranks by AUC across settings", "ranks", text, bold, notes=tuple(notes))


def _iman_davenport(f: stats.Friedman) -> str:
    """Iman-Davenport's F_F, or why there is none: every setting ranks the detectors alike, so
    chi2_F reaches its maximum and F_F divides by zero."""
    if not np.isfinite(f.f):
        return "Iman-Davenport F_F undefined (every setting ranks the detectors in the same order)"
    return f"Iman-Davenport F_F = {f.f:.2f} (p = {f.p_f:.3g})"


def _reach(n: int, comparisons: int) -> str:
    """Whether the Holm-corrected Wilcoxon test can reach p < ALPHA at all with n settings: its
    smallest two-sided exact p is 2 / 2^n, which Holm multiplies by the number of comparisons."""
    smallest = min(1.0, comparisons * 2.0 ** (1 - n))
    if smallest < ALPHA:
        return ""
    return (
        f"With {n} settings and {comparisons} comparisons the smallest p this test can give is {smallest:.2g}, "
        f"so no difference can reach p < {ALPHA} here."
    )


def settings_table(r: Ranking) -> Table:
    """Every setting with its best detector and whether it discriminates."""
    rows = {}
    for setting, flag in r.flags.items():
        ivs = {d: iv for (s, d), iv in r.intervals.items() if s == setting}
        top = max(ivs, key=lambda d: ivs[d].mean)
        rows[setting] = {
            "Detectors": str(len(ivs)),
            "Best": top,
            "Best AUC": f"{ivs[top].mean:.4f}",
            "Lowest AUC": f"{min(iv.mean for iv in ivs.values()):.4f}",
            "Discriminates": "yes" if not flag else f"no ({flag})",
        }
    text = pd.DataFrame.from_dict(rows, orient="index")
    bold = pd.DataFrame(False, index=text.index, columns=text.columns)
    note = (
        f"A setting does not discriminate when every detector's mean AUC is >= {stats.SATURATED_AUC} "
        "(saturated) or every detector's 95 % interval overlaps every other's; such settings are left "
        f"out of the ranks. {_left_out(r)}."
    )
    return Table("Settings and whether they discriminate", "settings", text, bold, row_heading="Setting", notes=(note,))
