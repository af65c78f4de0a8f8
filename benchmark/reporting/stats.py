"""Statistics for comparing detectors: intervals over seeds, ranks over settings, the Friedman
test, Nemenyi's critical difference and Holm-corrected Wilcoxon tests (Demšar, JMLR 2006).

Pure functions of numbers; the report decides what a setting is and what gets compared.
Distributions come from scipy (Student t, chi-squared, F, the studentized range), so no
critical value is typed by hand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SATURATED_AUC = 0.999  # a setting where every detector reaches this AUC does not discriminate


@dataclass(frozen=True)
class Interval:
    """Mean and the half-width of its two-sided confidence interval (Student t) over n values."""

    mean: float
    std: float
    half_width: float  # NaN with fewer than two values: no interval
    n: int

    @property
    def low(self) -> float:
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        return self.mean + self.half_width


def half_width(std, n, confidence: float = 0.95):
    """t_{(1+c)/2, n-1} · s / √n, elementwise over arrays or Series; NaN where n < 2."""
    n = np.asarray(n, dtype=float)
    q = stats.t.ppf((1 + confidence) / 2, np.where(n > 1, n - 1, np.nan))
    return std * q / np.sqrt(n)


def t_interval(values, confidence: float = 0.95) -> Interval:
    """Mean ± t_{(1+c)/2, n-1} · s / √n of the finite values (sample standard deviation s)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    n = len(x)
    if n == 0:
        return Interval(np.nan, np.nan, np.nan, 0)
    if n == 1:
        return Interval(float(x[0]), np.nan, np.nan, 1)
    std = float(x.std(ddof=1))
    half = float(half_width(std, n, confidence))
    return Interval(float(x.mean()), std, half, n)


def ranks(scores: pd.DataFrame, higher_is_better: bool = True) -> pd.DataFrame:
    """Rank of each detector (column) within each setting (row), 1 = best; ties share the
    average of the ranks they span."""
    values = -scores.to_numpy(float) if higher_is_better else scores.to_numpy(float)
    return pd.DataFrame(stats.rankdata(values, axis=1), index=scores.index, columns=scores.columns)


@dataclass(frozen=True)
class Friedman:
    """Friedman's test of k detectors over n settings, with Iman and Davenport's F form."""

    k: int
    n: int
    chi2: float
    p_chi2: float
    f: float
    p_f: float


def friedman(average_ranks, n: int) -> Friedman:
    """The Friedman statistic from the detectors' average ranks over n settings (Demšar 2006,
    eq. for chi2_F and F_F): chi2_F = 12n / (k(k+1)) · (Σ R_j² - k(k+1)²/4)."""
    r = np.asarray(average_ranks, dtype=float)
    k = len(r)
    if k < 2 or n < 2:
        raise ValueError(f"the Friedman test needs at least 2 detectors and 2 settings, got {k} and {n}")
    chi2 = 12 * n / (k * (k + 1)) * (np.sum(r**2) - k * (k + 1) ** 2 / 4)
    denom = n * (k - 1) - chi2
    f = (n - 1) * chi2 / denom if denom > 0 else np.inf
    p_f = float(stats.f.sf(f, k - 1, (k - 1) * (n - 1))) if np.isfinite(f) else 0.0
    return Friedman(k, n, float(chi2), float(stats.chi2.sf(chi2, k - 1)), float(f), p_f)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks: q_alpha · sqrt(k(k+1) / (6n)), with q_alpha
    the studentized range quantile (infinite degrees of freedom) over √2."""
    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / np.sqrt(2)
    return float(q * np.sqrt(k * (k + 1) / (6 * n)))


def holm(p_values) -> np.ndarray:
    """Holm's step-down adjustment: the i-th smallest p times (m - i + 1), made monotone, capped at 1."""
    p = np.asarray(p_values, dtype=float)
    order = np.argsort(p, kind="stable")
    m = len(p)
    adjusted = np.minimum(1.0, np.maximum.accumulate(p[order] * (m - np.arange(m))))
    out = np.empty(m)
    out[order] = adjusted
    return out


def wilcoxon_against(scores: pd.DataFrame, best: str) -> pd.DataFrame:
    """Paired Wilcoxon signed-rank test of every other detector (column) against `best` over the
    settings (rows), two-sided, with Holm-adjusted p-values."""
    others = [c for c in scores.columns if c != best]
    raw = []
    for other in others:
        diff = scores[best].to_numpy(float) - scores[other].to_numpy(float)
        raw.append(1.0 if np.allclose(diff, 0) else float(stats.wilcoxon(diff).pvalue))
    return pd.DataFrame({"p": raw, "p_holm": holm(raw) if raw else []}, index=pd.Index(others, name="detector"))


def cliques(average_ranks: pd.Series, cd: float) -> list[list[str]]:
    """Maximal groups of detectors (sorted by rank) whose average ranks lie within `cd` of each
    other: the bars of a critical-difference diagram."""
    r = average_ranks.sort_values()
    names, values = list(r.index), r.to_numpy()
    groups: list[list[str]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and values[j + 1] - values[i] < cd:
            j += 1
        if j > i and not any(set(names[i : j + 1]) <= set(g) for g in groups):
            groups.append(names[i : j + 1])
    return groups


def overlap(intervals: list[Interval]) -> bool:
    """Every pair of intervals overlaps (the highest low end is below the lowest high end)."""
    lows = [iv.low for iv in intervals if np.isfinite(iv.half_width)]
    highs = [iv.high for iv in intervals if np.isfinite(iv.half_width)]
    return len(lows) == len(intervals) > 1 and max(lows) <= min(highs)


def discriminates(intervals: list[Interval]) -> str:
    """'' when the setting separates detectors; else why not: every mean AUC at or above
    SATURATED_AUC ('saturated'), or every interval overlapping every other ('intervals overlap')."""
    if intervals and all(iv.mean >= SATURATED_AUC for iv in intervals):
        return "saturated"
    if overlap(intervals):
        return "intervals overlap"
    return ""


def rope_ranks(scores: pd.DataFrame, rope: float = 0.0) -> pd.DataFrame:
    """Ranks within each row (1 = best, higher score better) where a difference of at most `rope`
    never decides: rank = 1 + #{clearly better} + ½ #{others within rope}. With rope = 0 these are
    the usual average ranks; a pair within rope shares its two places, so each row still sums to
    k(k+1)/2."""
    values = scores.to_numpy(float)
    diff = values[:, None, :] - values[:, :, None]  # [row, i, j] = x_j - x_i
    tol = rope + 1e-12
    better = (diff > tol).sum(axis=2)
    equal = (np.abs(diff) <= tol).sum(axis=2) - 1
    return pd.DataFrame(1 + better + 0.5 * equal, index=scores.index, columns=scores.columns)


def wilcoxon_p(a, b) -> float:
    """Two-sided Wilcoxon signed-rank p of paired values; 1 where every difference is zero."""
    diff = np.asarray(a, float) - np.asarray(b, float)
    return 1.0 if np.allclose(diff, 0) else float(stats.wilcoxon(diff).pvalue)


def smallest_wilcoxon_p(n: int) -> float:
    """The smallest two-sided exact Wilcoxon signed-rank p over n pairs: 2 / 2^n (every difference
    of one sign). With n = 5 it is 0.0625: five datasets can never show p < 0.05."""
    return min(1.0, 2.0 ** (1 - n))


def pairwise_wilcoxon_holm(scores: pd.DataFrame) -> pd.DataFrame:
    """Holm-adjusted two-sided Wilcoxon p of every pair of columns over the rows (a square,
    symmetric frame; the diagonal is 1): the tests behind a Wilcoxon-Holm critical-difference
    diagram, as aeon and ADBench draw it."""
    names = list(scores.columns)
    pairs = [(i, j) for i in range(len(names)) for j in range(i + 1, len(names))]
    raw = [wilcoxon_p(scores[names[i]], scores[names[j]]) for i, j in pairs]
    adjusted = holm(raw) if raw else []
    out = pd.DataFrame(1.0, index=names, columns=names)
    for (i, j), p in zip(pairs, adjusted):
        out.iloc[i, j] = out.iloc[j, i] = p
    return out


def significance_cliques(average_ranks: pd.Series, p_values: pd.DataFrame, alpha: float = 0.05) -> list[list[str]]:
    """Maximal runs of entries (in rank order) no two of which differ significantly (p >= alpha):
    the bars of a Wilcoxon-Holm critical-difference diagram."""
    names = list(average_ranks.sort_values().index)
    groups: list[list[str]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and all(p_values.loc[names[k], names[j + 1]] >= alpha for k in range(i, j + 1)):
            j += 1
        if j > i and not any(set(names[i : j + 1]) <= set(g) for g in groups):
            groups.append(names[i : j + 1])
    return groups


def bayesian_signed_rank(
    a, b, rope: float = 0.0, prior: float = 0.5, samples: int = 50_000, seed: int = 0
) -> tuple[float, float, float]:
    """P(a better), P(practically equivalent), P(b better) from the Bayesian signed-rank test
    (Benavoli, Corani, Mangili, Zaffalon, Ruggeri, ICML 2014; with a rope, Benavoli et al., JMLR
    2017): a Dirichlet process over the paired differences a - b with a pseudo-observation at 0 of
    weight `prior`; each posterior sample weighs every pair of differences (Walsh averages) and
    the outcome is the region that gets the most weight. Monte Carlo with `samples` draws."""
    d = np.concatenate(([0.0], np.asarray(a, float) - np.asarray(b, float)))
    weights = np.ones(len(d))
    weights[0] = prior
    sums = d[:, None] + d[None, :]
    tol = 2 * rope
    above = (sums > tol) + 0.5 * (sums == tol)
    below = (sums < -tol) + 0.5 * (sums == -tol)
    draws = np.random.RandomState(seed).dirichlet(weights, samples)
    p_a = np.einsum("si,ij,sj->s", draws, above, draws)
    p_b = np.einsum("si,ij,sj->s", draws, below, draws)
    regions = (
        np.stack([p_a, 1 - p_a - p_b, p_b], axis=1) if rope > 0 else np.stack([p_a, np.zeros_like(p_a), 1 - p_a], 1)
    )
    top = regions >= regions.max(axis=1, keepdims=True) - 1e-12  # ties (e.g. identical inputs) split evenly
    winners = (top / top.sum(axis=1, keepdims=True)).mean(axis=0)
    return float(winners[0]), float(winners[1]), float(winners[2])
