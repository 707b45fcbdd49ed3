"""Laws of the effect sizes (Hypothesis): zero on identical distributions, symmetric, bounded."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from ninefold.data import stats

counts = st.lists(st.integers(min_value=0, max_value=10_000), min_size=1, max_size=30).filter(
    lambda c: sum(c) > 0
)


@st.composite
def count_pairs(draw: st.DrawFn) -> tuple[list[int], list[int]]:
    first = draw(counts)
    second = draw(
        st.lists(
            st.integers(min_value=0, max_value=10_000), min_size=len(first), max_size=len(first)
        ).filter(lambda c: sum(c) > 0)
    )
    return first, second


@settings(max_examples=200, deadline=None)
@given(counts, st.integers(min_value=1, max_value=50))
def test_identical_distributions_have_zero_distance(c: list[int], scale: int) -> None:
    scaled = [x * scale for x in c]  # same proportions, other sample size
    assert stats.psi(c, scaled) == 0.0
    assert stats.tvd(c, scaled) == 0.0
    assert stats.linf(c, scaled) == 0.0
    assert stats.jensen_shannon(c, scaled) < 1e-7
    assert stats.unseen_share(c, scaled) == 0.0


@settings(max_examples=200, deadline=None)
@given(count_pairs())
def test_distances_are_symmetric_and_bounded(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    assert np.isclose(stats.psi(a, b), stats.psi(b, a), rtol=1e-12, atol=1e-15)
    assert np.isclose(stats.tvd(a, b), stats.tvd(b, a))
    assert np.isclose(stats.linf(a, b), stats.linf(b, a))
    assert np.isclose(stats.jensen_shannon(a, b), stats.jensen_shannon(b, a), atol=1e-12)
    tvd = stats.tvd(a, b)
    assert 0.0 <= stats.linf(a, b) <= tvd + 1e-12 <= 1.0 + 1e-12
    assert 0.0 <= stats.jensen_shannon(a, b) <= 1.0
    assert stats.psi(a, b) >= 0.0
    # PSI is at least 2 * TVD^2 / ... by Pinsker-type bounds; at the very least it is
    # positive whenever the proportions differ.
    if tvd > 1e-9:
        assert stats.psi(a, b) > 0.0


@settings(max_examples=100, deadline=None)
@given(count_pairs())
def test_chi2_and_ks_p_values_are_probabilities(pair: tuple[list[int], list[int]]) -> None:
    a, b = pair
    for result in (stats.chi2_homogeneity(a, b), stats.ks_binned(a, b)):
        assert 0.0 <= result.pvalue <= 1.0
        assert result.statistic >= 0.0
    # Swapping the windows does not change the homogeneity test.
    assert np.isclose(stats.chi2_homogeneity(a, b).pvalue, stats.chi2_homogeneity(b, a).pvalue)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.0, max_value=1.0), min_size=1, max_size=40))
def test_adjusted_p_values_dominate_raw_ones_and_keep_their_order(p: list[float]) -> None:
    raw = np.asarray(p)
    for adjusted in (stats.holm(raw), stats.benjamini_hochberg(raw)):
        assert np.all(adjusted >= raw - 1e-12)
        assert np.all(adjusted <= 1.0)
        order = np.argsort(raw, kind="stable")
        assert np.all(np.diff(adjusted[order]) >= -1e-12)
    assert np.all(stats.holm(raw) >= stats.benjamini_hochberg(raw) - 1e-12)
