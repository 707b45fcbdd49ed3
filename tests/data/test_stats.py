"""Two-sample statistics: hand-computed values, calibration of the tests, detection limits."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm

from ninefold.data import stats
from ninefold.errors import InvalidArgument


def test_psi_matches_hand_computation() -> None:
    # (0.5-0.6)ln(0.5/0.6) + (0.5-0.4)ln(0.5/0.4)
    expected = (0.5 - 0.6) * math.log(0.5 / 0.6) + (0.5 - 0.4) * math.log(0.5 / 0.4)
    assert stats.psi([60, 40], [50, 50]) == pytest.approx(expected, rel=1e-12)
    assert stats.psi([60, 40], [50, 50]) == pytest.approx(0.0405465108, rel=1e-8)


def test_psi_raises_empty_bins_to_epsilon() -> None:
    eps = stats.EMPTY_BIN_EPSILON
    expected = (0.9 - 1.0) * math.log(0.9 / 1.0) + (0.1 - eps) * math.log(0.1 / eps)
    assert stats.psi([100, 0], [90, 10]) == pytest.approx(expected, rel=1e-12)
    # A bin empty on both sides contributes nothing.
    assert stats.psi([100, 0, 0], [90, 10, 0]) == pytest.approx(expected, rel=1e-12)
    assert stats.psi([100, 0], [90, 10], epsilon=1e-2) < stats.psi([100, 0], [90, 10])


def test_jensen_shannon_distance_base_two() -> None:
    # p = (.5, .5), q = (1, 0), m = (.75, .25)
    kl_pm = 0.5 * math.log2(0.5 / 0.75) + 0.5 * math.log2(0.5 / 0.25)
    kl_qm = math.log2(1 / 0.75)
    expected = math.sqrt(0.5 * (kl_pm + kl_qm))
    assert stats.jensen_shannon([1, 1], [1, 0]) == pytest.approx(expected, rel=1e-9)
    assert stats.jensen_shannon([5, 0], [0, 7]) == pytest.approx(1.0)


def test_tvd_and_linf_on_categories() -> None:
    assert stats.tvd([80, 20], [60, 40]) == pytest.approx(0.2)
    assert stats.linf([80, 20], [60, 40]) == pytest.approx(0.2)
    # Four categories each moving by 0.1: TVD counts all of it once, L-inf the largest.
    assert stats.tvd([25, 25, 25, 25], [35, 35, 15, 15]) == pytest.approx(0.2)
    assert stats.linf([25, 25, 25, 25], [35, 35, 15, 15]) == pytest.approx(0.1)


def test_unseen_share_counts_categories_absent_from_reference() -> None:
    assert stats.unseen_share([10, 5, 0], [3, 3, 4]) == pytest.approx(0.4)
    assert stats.unseen_share([10, 5, 1], [3, 3, 4]) == 0.0
    assert math.isnan(stats.unseen_share([10, 5, 0], [0, 0, 0]))


def test_effect_sizes_are_nan_when_a_side_is_empty() -> None:
    for fn in (stats.psi, stats.tvd, stats.linf, stats.jensen_shannon):
        assert math.isnan(fn([0, 0], [3, 4]))
        assert math.isnan(fn([3, 4], [0, 0]))


def test_bad_counts_raise_clear_errors() -> None:
    with pytest.raises(InvalidArgument, match="same bins"):
        stats.psi([1, 2, 3], [1, 2])
    with pytest.raises(InvalidArgument, match="non-negative"):
        stats.tvd([1, -2], [1, 2])
    with pytest.raises(InvalidArgument, match="non-negative"):
        stats.tvd([1, math.inf], [1, 2])
    with pytest.raises(InvalidArgument, match=r"\[0, 1\]"):
        stats.holm([0.1, 1.5])


def test_wasserstein_histograms_exact_for_uniform_bins() -> None:
    # All mass uniform on [0, 1] versus uniform on [1, 2]: a shift by exactly 1.
    assert stats.wasserstein_histograms([0, 1, 2], [1, 0], [0, 1]) == pytest.approx(1.0)
    # Uniform on [0, 2] versus uniform on [0, 1]: W1 = integral |x/2 - min(x, 1)| = 0.5.
    assert stats.wasserstein_histograms([0, 1, 2], [1, 1], [1, 0]) == pytest.approx(0.5)


def _binned_on_reference(ref: np.ndarray, cur: np.ndarray, bins: int = 20) -> tuple:
    """Reference-quantile edges, plus outer bins for current values beyond the reference."""
    edges = np.quantile(ref, np.linspace(0, 1, bins + 1))
    edges = np.concatenate([[min(cur.min(), edges[0])], edges, [max(cur.max(), edges[-1])]])
    return edges, np.histogram(ref, edges)[0], np.histogram(cur, edges)[0]


@pytest.mark.parametrize(
    ("dist", "rel"),
    [("uniform", 0.05), ("normal", 0.25)],
)
def test_wasserstein_histograms_close_to_raw_samples(dist: str, rel: float) -> None:
    rng = np.random.default_rng(7)
    if dist == "uniform":
        ref, cur = rng.uniform(0, 1, 20_000), rng.uniform(0.1, 1.1, 20_000)
    else:
        ref, cur = rng.normal(size=20_000), rng.normal(0.3, 1.2, size=20_000)
    binned = stats.wasserstein_histograms(*_binned_on_reference(ref, cur))
    raw = stats.wasserstein_samples(ref, cur)
    assert binned == pytest.approx(raw, rel=rel)


def test_normalised_distance() -> None:
    assert stats.normalised(0.5, 2.0) == 0.25
    assert stats.normalised(0.0, 0.0) == 0.0
    assert stats.normalised(0.1, 0.0) == math.inf
    assert math.isnan(stats.normalised(math.nan, 1.0))


def test_chi2_homogeneity_matches_hand_computation() -> None:
    # 2 x 2 table [[10, 20], [20, 10]]: N (ad - bc)^2 / (row and column totals) = 6.667.
    res = stats.chi2_homogeneity([10, 20], [20, 10])
    assert res.statistic == pytest.approx(60 * 300**2 / 30**4)
    assert res.dof == 1
    assert res.pvalue == pytest.approx(0.0098232745, rel=1e-6)


def test_chi2_homogeneity_edge_cases() -> None:
    assert math.isnan(stats.chi2_homogeneity([0, 0], [1, 2]).pvalue)
    single = stats.chi2_homogeneity([5, 0], [9, 0])
    assert single.pvalue == 1.0
    assert single.dof == 0


def test_pool_sparse_merges_smallest_cells_until_expected_counts_suffice() -> None:
    ref, cur = stats.pool_sparse([1, 2, 50, 60, 3, 0], [0, 1, 55, 50, 2, 0])
    # The three tiny cells (and then the 105-cell, since 9 rows are too few) merge; the
    # cell empty on both sides disappears; totals are preserved.
    assert ref.sum() == 116
    assert cur.sum() == 108
    assert ref.size == 2
    ref2, cur2 = stats.pool_sparse([500, 400, 300], [500, 400, 300])
    assert cur2.tolist() == [500, 400, 300]
    assert ref2.size == 3  # nothing sparse, nothing pooled


def test_chi2_homogeneity_keeps_its_false_alarm_rate_where_goodness_of_fit_does_not() -> None:
    """Equal-size samples of one 10-level law: homogeneity rejects ~5 %, GOF would ~49 %."""
    rng = np.random.default_rng(11)
    probs = np.array([0.3, 0.2, 0.12, 0.1, 0.08, 0.07, 0.05, 0.04, 0.03, 0.01])
    rejections = 0
    trials = 600
    for _ in range(trials):
        ref = rng.multinomial(400, probs)
        cur = rng.multinomial(400, probs)
        rejections += stats.chi2_homogeneity(ref, cur).pvalue < 0.05
    assert rejections / trials < 0.08


def test_ks_test_on_raw_samples() -> None:
    res = stats.ks_test([1.0, 2.0, 3.0], [4.0, 5.0, 6.0])
    assert res.statistic == 1.0
    assert res.pvalue == pytest.approx(0.1, abs=1e-9)  # exact: 2 / C(6, 3)
    assert math.isnan(stats.ks_test([], [1.0]).pvalue)


def test_holm_against_hand_computed_values() -> None:
    # sorted 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> monotone 0.06
    adjusted = stats.holm([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.03, 0.06, 0.06, 0.02])
    assert stats.holm([0.9, 0.8])[0] == 1.0


def test_benjamini_hochberg_against_hand_computed_values() -> None:
    # sorted p*m/rank: 0.02, 0.02, 0.04, 0.04; running minimum from the top
    adjusted = stats.benjamini_hochberg([0.01, 0.04, 0.03, 0.005])
    np.testing.assert_allclose(adjusted, [0.02, 0.04, 0.04, 0.02])


def test_corrections_leave_untested_columns_out_of_the_family() -> None:
    adjusted = stats.holm([0.01, math.nan, 0.04])
    assert math.isnan(adjusted[1])
    np.testing.assert_allclose(adjusted[[0, 2]], [0.02, 0.04])
    bh = stats.benjamini_hochberg([math.nan, 0.02, 0.04])
    np.testing.assert_allclose(bh[1:], [0.04, 0.04])
    assert stats.holm([]).size == 0


def test_ks_critical_distance_and_normal_shift() -> None:
    assert stats.ks_critical_d(1000, 1000, 0.05) == pytest.approx(1.35810 * math.sqrt(0.002), 1e-4)
    d = 2 * norm.cdf(0.25) - 1
    assert stats.ks_d_to_normal_shift(d) == pytest.approx(0.5)
    assert stats.ks_critical_d(0, 10, 0.05) == math.inf
    # More rows, smaller detectable shift.
    assert stats.ks_normal_shift(100_000, 100_000, 0.01) < stats.ks_normal_shift(1000, 1000, 0.01)


def test_ks_critical_distance_holds_its_level() -> None:
    rng = np.random.default_rng(3)
    crit = stats.ks_critical_d(500, 800, 0.05)
    hits = sum(
        stats.ks_test(rng.normal(size=500), rng.normal(size=800)).statistic >= crit
        for _ in range(400)
    )
    assert hits / 400 < 0.08


def test_null_psi_matches_simulation() -> None:
    rng = np.random.default_rng(5)
    probs = np.full(10, 0.1)
    n = m = 2000
    sims = [stats.psi(rng.multinomial(n, probs), rng.multinomial(m, probs)) for _ in range(400)]
    assert np.mean(sims) == pytest.approx(stats.null_psi(n, m, 10), rel=0.15)
    # The critical PSI at 5 % sits near the simulated 95th percentile.
    assert np.quantile(sims, 0.95) == pytest.approx(stats.critical_psi(n, m, 10, 0.05), rel=0.2)


def test_null_tvd_matches_simulation() -> None:
    rng = np.random.default_rng(6)
    probs = np.array([0.4, 0.3, 0.2, 0.1])
    sims = [
        stats.tvd(rng.multinomial(1000, probs), rng.multinomial(3000, probs)) for _ in range(400)
    ]
    assert np.mean(sims) == pytest.approx(stats.null_tvd(probs, 1000, 3000), rel=0.15)


def test_critical_tvd_hand_value() -> None:
    # two equal categories: delta = sqrt(3.8415 * (2/1000) / (2 + 2))
    assert stats.critical_tvd([1, 1], 1000, 1000, 0.05) == pytest.approx(0.0438261, rel=1e-5)
    assert stats.critical_tvd([1], 1000, 1000, 0.05) == math.inf


def test_binned_normal_shift_sensitivity() -> None:
    edges = norm.ppf(np.linspace(0, 1, 11))
    ref_p = np.diff(norm.cdf(edges))
    cur_p = np.diff(norm.cdf(edges - 0.3))
    c = stats.normal_shift_sensitivity(ref_p)
    # PSI of a real 0.3 sigma shift on decile bins is about c * 0.09.
    assert stats.psi(ref_p * 1e6, cur_p * 1e6) == pytest.approx(c * 0.09, rel=0.05)
    # Fisher information of a normal location is 1; ten bins keep most of it.
    assert 0.9 < c < 1.0
    shift = stats.binned_normal_shift(ref_p, 10_000, 10_000, 0.01)
    assert stats.ks_normal_shift(10_000, 10_000, 0.01) * 0.7 < shift < 0.1


def test_wasserstein_cdfs_matches_raw_samples_on_profile_like_knots() -> None:
    rng = np.random.default_rng(8)
    ref, cur = rng.normal(size=50_000), rng.normal(0.2, 1.1, size=50_000)
    probs = np.linspace(0.05, 0.95, 19)

    def knots(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.quantile(v, probs), probs

    w = stats.wasserstein_cdfs(*knots(ref), *knots(cur))
    # Central 90 % only: the integral of |Q_ref - Q_cur| over u in [0.05, 0.95].
    u = np.linspace(0.05, 0.95, 2001)
    expected = np.trapezoid(np.abs(np.quantile(ref, u) - np.quantile(cur, u)), u)
    assert w == pytest.approx(expected, rel=0.03)
    assert stats.wasserstein_cdfs([0.0, 1.0], [0.0, 1.0], [0.0, 1.0], [0.0, 1.0]) == 0.0
    assert math.isnan(stats.wasserstein_cdfs([], [], [0.0], [1.0]))


def test_ks_binned_is_close_to_raw_ks_and_conservative() -> None:
    rng = np.random.default_rng(9)
    ref, cur = rng.normal(size=5_000), rng.normal(0.1, 1.0, size=4_000)
    breaks = np.quantile(ref, np.linspace(0, 1, 21)[1:-1])
    ref_counts = np.bincount(np.searchsorted(breaks, ref, side="right"), minlength=20)
    cur_counts = np.bincount(np.searchsorted(breaks, cur, side="right"), minlength=20)
    binned = stats.ks_binned(ref_counts, cur_counts)
    raw = stats.ks_test(ref, cur)
    assert binned.statistic <= raw.statistic + 1e-12
    assert binned.statistic == pytest.approx(raw.statistic, abs=0.01)
    assert binned.pvalue >= raw.pvalue * 0.5
    # A two-bin example by hand: F differs by 0.3 at the single boundary.
    two = stats.ks_binned([70, 30], [40, 60])
    assert two.statistic == pytest.approx(0.3)
    assert math.isnan(stats.ks_binned([0, 0], [1, 1]).pvalue)


def test_combine_min_is_bonferroni() -> None:
    a = stats.TestResult("ks", 0.1, 0.004)
    b = stats.TestResult("chi2", 3.0, 0.2)
    assert stats.combine_min(a, b) == pytest.approx(0.008)
    assert stats.combine_min(b, b) == pytest.approx(0.4)
    assert stats.combine_min(stats.TestResult("ks", 0.9, 0.9), b) == pytest.approx(0.4)
    assert math.isnan(stats.combine_min(a, stats.TestResult("chi2", math.nan, math.nan)))
