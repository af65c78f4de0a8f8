"""Statistics against published worked examples and scipy."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mmadbench.benchmark.reporting import stats


def test_t_interval_matches_the_textbook_formula():
    iv = stats.t_interval([0.80, 0.90, 0.85])
    assert iv.mean == pytest.approx(0.85) and iv.n == 3
    assert iv.std == pytest.approx(0.05)
    assert iv.half_width == pytest.approx(4.302653 * 0.05 / np.sqrt(3), rel=1e-6)  # t_{0.975, 2}
    assert np.isnan(stats.t_interval([0.7]).half_width)  # one seed: no interval


def test_ties_share_the_average_rank():
    scores = pd.DataFrame({"a": [0.9, 0.8], "b": [0.9, 0.7], "c": [0.5, 0.9]})
    r = stats.ranks(scores)
    assert r.loc[0].tolist() == [1.5, 1.5, 3.0]
    assert r.loc[1].tolist() == [2.0, 3.0, 1.0]


def test_friedman_reproduces_demsar_2006_worked_example():
    # Demšar (JMLR 2006, section 3.2.2): four C4.5 variants on 14 data sets, average ranks
    # 3.143, 2.000, 2.893, 1.964 give chi2_F = 9.28 and F_F = 3.69
    result = stats.friedman([3.143, 2.000, 2.893, 1.964], n=14)
    assert result.chi2 == pytest.approx(9.28, abs=0.01)
    assert result.f == pytest.approx(3.69, abs=0.01)
    assert result.p_f < 0.05  # F(3, 39) critical value at 0.05 is 2.85: the null is rejected


def test_friedman_from_ranks_equals_scipys_on_a_matrix_without_ties():
    rng = np.random.default_rng(0)
    scores = pd.DataFrame(rng.random((12, 5)), columns=list("abcde"))
    mine = stats.friedman(stats.ranks(scores).mean(), n=12)
    theirs = sps.friedmanchisquare(*[scores[c] for c in scores])
    assert mine.chi2 == pytest.approx(theirs.statistic) and mine.p_chi2 == pytest.approx(theirs.pvalue)


def test_nemenyi_critical_difference_matches_demsar_2006():
    # q_0.05 for k = 2..10 in Demšar's Table 5(a), and CD = 1.25 for k = 4, N = 14 (section 3.2.2)
    q = [1.960, 2.343, 2.569, 2.728, 2.850, 2.949, 3.031, 3.102, 3.164]
    for k, expected in zip(range(2, 11), q):
        cd = stats.nemenyi_cd(k, n=1)
        assert cd / np.sqrt(k * (k + 1) / 6) == pytest.approx(expected, abs=2e-3)
    assert stats.nemenyi_cd(4, 14) == pytest.approx(1.25, abs=0.01)


def test_holm_adjustment_by_hand():
    # sorted p 0.01, 0.02, 0.04 times 3, 2, 1 -> 0.03, 0.04, 0.04 (monotone)
    np.testing.assert_allclose(stats.holm([0.04, 0.01, 0.02]), [0.04, 0.03, 0.04])
    np.testing.assert_allclose(stats.holm([0.5, 0.6]), [1.0, 1.0])


def test_wilcoxon_against_the_best_is_scipys_paired_test_then_holm():
    rng = np.random.default_rng(1)
    best = rng.random(15)
    scores = pd.DataFrame({"best": best, "close": best - rng.normal(0.001, 0.01, 15), "far": best - 0.2})
    table = stats.wilcoxon_against(scores, "best")
    raw = [sps.wilcoxon(best - scores[c]).pvalue for c in ("close", "far")]
    np.testing.assert_allclose(table.p, raw)
    np.testing.assert_allclose(table.p_holm, stats.holm(raw))
    assert table.loc["far", "p_holm"] < 0.05 < table.loc["close", "p_holm"]


def test_cliques_join_detectors_within_the_critical_difference():
    avg = pd.Series({"a": 1.0, "b": 1.5, "c": 2.6, "d": 3.0})
    assert stats.cliques(avg, cd=1.0) == [["a", "b"], ["c", "d"]]
    assert stats.cliques(avg, cd=2.5) == [["a", "b", "c", "d"]]


def test_a_saturated_or_overlapping_setting_does_not_discriminate():
    sat = [stats.Interval(1.0, 0.0, 0.0, 3), stats.Interval(0.9995, 0.0, 0.001, 3)]
    assert stats.discriminates(sat) == "saturated"
    tied = [stats.Interval(0.80, 0.02, 0.05, 3), stats.Interval(0.82, 0.02, 0.05, 3)]
    assert stats.discriminates(tied) == "intervals overlap"
    apart = [stats.Interval(0.60, 0.01, 0.02, 3), stats.Interval(0.90, 0.01, 0.02, 3)]
    assert stats.discriminates(apart) == ""
