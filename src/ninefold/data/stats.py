"""Two-sample statistics for drift and skew: effect sizes, tests, corrections, detection limits.

Pure functions over counts or samples; nothing here knows about frames or profiles.
``drift.py`` combines them into per-column verdicts.

Conventions:

* *counts* are aligned 1-D arrays of non-negative bin or category counts, one entry per
  bin (numeric columns, on the reference's bin edges) or per category; the reference
  and the current window must use the same bins in the same order.
* Effect sizes are computed on proportions (counts divided by their sum).
* Tests return a :class:`TestResult`; a test that cannot be run (an empty side, a single
  bin with data) returns ``pvalue = nan``, never raises.
* Detection limits ("how large must a shift be before this window can see it") use the
  same approximations as the tests: the asymptotic Kolmogorov distribution for KS and
  the central chi-square for binned and categorical data.

Example:
    >>> psi([50, 50], [50, 50])
    0.0
    >>> round(tvd([80, 20], [60, 40]), 3)
    0.2
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ninefold.errors import InvalidArgument

if TYPE_CHECKING:
    from numpy.typing import ArrayLike, NDArray

EMPTY_BIN_EPSILON = 1e-4
"""Proportion given to a bin that is empty on one side when computing PSI.

PSI has a logarithm of the ratio of proportions, which is infinite when a bin is empty
on one side. Empty bins are raised to this proportion (0.01 %) instead; a bin that is
empty on both sides contributes nothing. With 1e-4 a bin holding 1 % of one side and
nothing of the other adds about 0.046 to PSI, and one holding 10 % adds about 0.69.
"""

MIN_EXPECTED_COUNT = 5.0
"""Smallest expected cell count for the chi-square homogeneity test (Cochran's rule).

Sparse categories (or bins) are pooled into one cell until every cell reaches it, so the
chi-square approximation of the test holds at small windows and for many categories.
"""


@dataclass(frozen=True, slots=True)
class TestResult:
    """The outcome of a two-sample test.

    Attributes:
        name: ``"ks"`` or ``"chi2"``.
        statistic: the KS distance D, or Pearson's chi-square statistic.
        pvalue: the p-value; ``nan`` when the test could not be run.
        dof: degrees of freedom of a chi-square test after pooling, else ``None``.
    """

    __test__ = False  # not a pytest test class despite the name

    name: str
    statistic: float
    pvalue: float
    dof: int | None = None


def _counts(values: ArrayLike, what: str) -> NDArray[np.float64]:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidArgument(f"{what} must be a 1-D array of counts, got shape {arr.shape}")
    if arr.size and (not np.all(np.isfinite(arr)) or np.any(arr < 0)):
        raise InvalidArgument(f"{what} must be finite and non-negative, got {arr!r}")
    return arr


def _pair(reference: ArrayLike, current: ArrayLike) -> tuple[NDArray[np.float64], ...]:
    ref = _counts(reference, "reference counts")
    cur = _counts(current, "current counts")
    if ref.shape != cur.shape:
        raise InvalidArgument(
            f"reference and current counts must have the same bins, "
            f"got {ref.size} and {cur.size} entries"
        )
    return ref, cur


def proportions(counts: ArrayLike) -> NDArray[np.float64]:
    """Counts divided by their total (all zeros when the total is zero)."""
    arr = _counts(counts, "counts")
    total = arr.sum()
    return arr / total if total > 0 else np.zeros_like(arr)


def psi(
    reference_counts: ArrayLike, current_counts: ArrayLike, *, epsilon: float = EMPTY_BIN_EPSILON
) -> float:
    """Population stability index on shared bins.

    ``PSI = sum((q - p) * ln(q / p))`` over bins, with ``p`` the reference and ``q`` the
    current proportions. Symmetric in its arguments; 0 for identical proportions. Bins
    empty on one side are raised to ``epsilon`` (see :data:`EMPTY_BIN_EPSILON`).

    Args:
        reference_counts: counts per bin in the reference.
        current_counts: counts per bin in the current window, same bins.
        epsilon: the proportion used for a bin empty on one side.

    Returns:
        PSI, or ``nan`` when either side has no counts.
    """
    ref, cur = _pair(reference_counts, current_counts)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return math.nan
    p, q = ref / ref.sum(), cur / cur.sum()
    used = (p > 0) | (q > 0)
    p, q = np.maximum(p[used], epsilon), np.maximum(q[used], epsilon)
    return float(max(0.0, np.sum((q - p) * np.log(q / p))))


def jensen_shannon(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Jensen-Shannon *distance* (square root of the divergence), base 2, in ``[0, 1]``.

    Returns ``nan`` when either side has no counts.
    """
    from scipy.spatial.distance import jensenshannon

    ref, cur = _pair(reference_counts, current_counts)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return math.nan
    return float(np.clip(jensenshannon(ref, cur, base=2.0), 0.0, 1.0))


def tvd(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Total variation distance: half the sum of absolute differences of proportions.

    The share of probability mass that would have to move to turn one distribution into
    the other, in ``[0, 1]``. Returns ``nan`` when either side has no counts.
    """
    ref, cur = _pair(reference_counts, current_counts)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return math.nan
    return float(0.5 * np.abs(ref / ref.sum() - cur / cur.sum()).sum())


def linf(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """L-infinity distance: the largest absolute change of one category's proportion.

    Returns ``nan`` when either side has no counts.
    """
    ref, cur = _pair(reference_counts, current_counts)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return math.nan
    return float(np.abs(ref / ref.sum() - cur / cur.sum()).max())


def unseen_share(reference_counts: ArrayLike, current_counts: ArrayLike) -> float:
    """Share of the current window in categories the reference never saw.

    Args:
        reference_counts: counts per category in the reference (0 for a category that
            appears only in the current window).
        current_counts: counts per category in the current window, same categories.

    Returns:
        The unseen share in ``[0, 1]``, or ``nan`` when the current window is empty.
    """
    ref, cur = _pair(reference_counts, current_counts)
    total = cur.sum()
    if total <= 0:
        return math.nan
    return float(cur[ref == 0].sum() / total)


def wasserstein_samples(reference: ArrayLike, current: ArrayLike) -> float:
    """First Wasserstein (earth mover's) distance between two raw samples, in data units.

    Non-finite values must be removed first. Returns ``nan`` when a side is empty.
    """
    from scipy.stats import wasserstein_distance

    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.size == 0 or cur.size == 0:
        return math.nan
    return float(wasserstein_distance(ref, cur))


def wasserstein_histograms(
    edges: ArrayLike, reference_counts: ArrayLike, current_counts: ArrayLike
) -> float:
    """First Wasserstein distance between two histograms on the same bin edges, in data units.

    Mass is taken as spread evenly within each bin, so both distribution functions are
    piecewise linear between edges and the integral of their absolute difference is
    exact for that model. The error against the raw samples is at most the width of
    the bins the two distributions differ in; with reference-quantile bins that is
    small where the data are dense.

    Args:
        edges: ``len(counts) + 1`` increasing, finite edges.
        reference_counts: counts per bin in the reference.
        current_counts: counts per bin in the current window.

    Returns:
        The distance, or ``nan`` when either side has no counts.
    """
    ref, cur = _pair(reference_counts, current_counts)
    e = np.asarray(edges, dtype=np.float64)
    if e.shape != (ref.size + 1,):
        raise InvalidArgument(f"edges must have {ref.size + 1} entries, got {e.size}")
    if ref.sum() <= 0 or cur.sum() <= 0:
        return math.nan
    diff = np.concatenate([[0.0], np.cumsum(ref / ref.sum() - cur / cur.sum())])
    a, b = diff[:-1], diff[1:]
    width = np.diff(e)
    same_sign = a * b >= 0
    abs_sum = np.abs(a) + np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(abs_sum > 0, (a * a + b * b) / (2.0 * abs_sum), 0.0)
    area = np.where(same_sign, 0.5 * abs_sum, crossing) * width
    return float(area.sum())


def wasserstein_cdfs(
    reference_x: ArrayLike,
    reference_f: ArrayLike,
    current_x: ArrayLike,
    current_f: ArrayLike,
) -> float:
    """First Wasserstein distance between two distribution functions known at knots.

    Each distribution function is given by increasing points ``x`` and its values ``f``
    there (from 0 at the first point to 1 at the last) and taken as linear between them:
    for a profile, the minimum, the stored quantiles, the histogram breaks with the
    share of values below each, and the maximum. The integral of ``|F_ref - F_cur|`` is
    then computed exactly for that model. Using every point both sides know (rather
    than spreading each histogram bin evenly) keeps the long outer bins from inflating
    the distance.

    Returns:
        The distance in data units, or ``nan`` when a side has no points.
    """
    rx, rf = np.asarray(reference_x, np.float64), np.asarray(reference_f, np.float64)
    cx, cf = np.asarray(current_x, np.float64), np.asarray(current_f, np.float64)
    if rx.size == 0 or cx.size == 0:
        return math.nan
    if rx.shape != rf.shape or cx.shape != cf.shape:
        raise InvalidArgument("each distribution function needs one value per point")
    grid = np.union1d(rx, cx)
    # The step at a repeated x (a point mass) is kept by interpolating from the right.
    diff = _cdf_at(grid, rx, rf) - _cdf_at(grid, cx, cf)
    a, b = diff[:-1], diff[1:]
    width = np.diff(grid)
    same_sign = a * b >= 0
    abs_sum = np.abs(a) + np.abs(b)
    with np.errstate(invalid="ignore", divide="ignore"):
        crossing = np.where(abs_sum > 0, (a * a + b * b) / (2.0 * abs_sum), 0.0)
    return float((np.where(same_sign, 0.5 * abs_sum, crossing) * width).sum())


def _cdf_at(grid: NDArray[np.float64], x: NDArray[np.float64], f: NDArray[np.float64]) -> Any:
    # np.interp needs increasing x; for tied x (a point mass) take the right-most value.
    keep = np.concatenate([x[1:] != x[:-1], [True]])
    return np.interp(grid, x[keep], f[keep], left=f[0], right=f[-1])


def normalised(distance: float, scale: float) -> float:
    """A distance divided by a scale of the reference (e.g. its standard deviation).

    A zero scale (a constant reference) gives 0 for a zero distance and ``inf`` otherwise.
    """
    if math.isnan(distance) or math.isnan(scale):
        return math.nan
    if scale > 0:
        return distance / scale
    return 0.0 if distance == 0 else math.inf


def ks_test(reference: ArrayLike, current: ArrayLike) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test on raw samples (``scipy.stats.ks_2samp``).

    Exact p-values for small samples, asymptotic ones for large; ties (discrete data)
    make the test conservative, never anti-conservative. Non-finite values must be
    removed first. Returns ``pvalue = nan`` when a side is empty.
    """
    from scipy.stats import ks_2samp

    ref = np.asarray(reference, dtype=np.float64)
    cur = np.asarray(current, dtype=np.float64)
    if ref.size == 0 or cur.size == 0:
        return TestResult("ks", math.nan, math.nan)
    res = ks_2samp(ref, cur, alternative="two-sided", method="auto")
    return TestResult("ks", float(res.statistic), float(res.pvalue))


def ks_binned(reference_counts: ArrayLike, current_counts: ArrayLike) -> TestResult:
    """Two-sample Kolmogorov-Smirnov test on two histograms with the same bins.

    D is the largest difference of the two empirical distribution functions at the bin
    boundaries, which can only be smaller than D on the raw values; the p-value from the
    Kolmogorov distribution at the effective size ``n m / (n + m)`` (as
    ``scipy.stats.ks_2samp`` uses for large samples) is therefore conservative: binning
    never raises the false-alarm rate. With bins at reference quantiles, D is close to
    the raw D for shifts of location. Returns ``pvalue = nan`` when a side is empty.
    """
    from scipy.stats import kstwo

    ref, cur = _pair(reference_counts, current_counts)
    n, m = ref.sum(), cur.sum()
    if n <= 0 or m <= 0:
        return TestResult("ks", math.nan, math.nan)
    d = float(np.max(np.abs(np.cumsum(ref) / n - np.cumsum(cur) / m)))
    en = max(1, round(n * m / (n + m)))
    return TestResult("ks", d, float(min(1.0, kstwo.sf(d, en))))


def combine_min(*results: TestResult) -> float:
    """Bonferroni combination of several tests of one hypothesis: ``min(1, k * min(p))``.

    Valid for any dependence between the tests; ``nan`` when any p-value is ``nan``.
    """
    pvalues = [r.pvalue for r in results]
    if not pvalues or any(math.isnan(p) for p in pvalues):
        return math.nan
    return min(1.0, len(pvalues) * min(pvalues))


def pool_sparse(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    min_expected: float = MIN_EXPECTED_COUNT,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Merge sparse cells of a 2 x k table until every expected count reaches ``min_expected``.

    Cells are sorted by their pooled total; the smallest are merged into one "rest" cell
    until the rest cell and every remaining cell meet the bound. Cells empty on both
    sides are dropped. Merging depends only on the pooled totals, which the homogeneity
    test conditions on, so the test stays valid.

    Returns:
        The pooled reference and current counts (possibly a single cell).
    """
    ref, cur = _pair(reference_counts, current_counts)
    used = (ref + cur) > 0
    ref, cur = ref[used], cur[used]
    n, m = ref.sum(), cur.sum()
    if ref.size == 0 or n <= 0 or m <= 0:
        return ref, cur
    # The smallest expected count of a cell is its pooled total times the smaller row share.
    factor = min(n, m) / (n + m)
    totals = ref + cur
    order = np.argsort(totals, kind="stable")
    cum = np.cumsum(totals[order])
    # Pool the k smallest cells where k is the least count for which the pooled cell and
    # the next cell both meet the bound.
    k = 0
    while k < order.size:
        rest_ok = k == 0 or cum[k - 1] * factor >= min_expected
        next_ok = totals[order[k]] * factor >= min_expected
        if rest_ok and next_ok:
            break
        k += 1
    if k == 0:
        return ref, cur
    pooled, kept = order[:k], order[k:]
    ref_out = np.concatenate([ref[kept], [ref[pooled].sum()]])
    cur_out = np.concatenate([cur[kept], [cur[pooled].sum()]])
    return ref_out, cur_out


def chi2_homogeneity(
    reference_counts: ArrayLike,
    current_counts: ArrayLike,
    *,
    min_expected: float = MIN_EXPECTED_COUNT,
) -> TestResult:
    """Chi-square test of homogeneity on the 2 x k table of reference and current counts.

    Both rows are samples: the null is "the two windows come from the same distribution",
    with the reference's own sampling noise included. (A goodness-of-fit test that takes
    the reference proportions as exact over-rejects badly at equal sample sizes.) Sparse
    cells are pooled first (:func:`pool_sparse`). Uses ``scipy.stats.chi2_contingency``
    without continuity correction.

    Returns:
        The test result; ``pvalue = nan`` when a side is empty, and ``pvalue = 1`` when
        only one cell is left after pooling (nothing to compare).
    """
    from scipy.stats import chi2_contingency

    ref, cur = pool_sparse(reference_counts, current_counts, min_expected=min_expected)
    if ref.sum() <= 0 or cur.sum() <= 0:
        return TestResult("chi2", math.nan, math.nan)
    if ref.size < 2:
        return TestResult("chi2", 0.0, 1.0, 0)
    res = chi2_contingency(np.vstack([ref, cur]), correction=False)
    return TestResult("chi2", float(res.statistic), float(res.pvalue), int(res.dof))


def _as_pvalues(pvalues: Sequence[float] | ArrayLike) -> NDArray[np.float64]:
    arr = np.asarray(pvalues, dtype=np.float64)
    if arr.ndim != 1:
        raise InvalidArgument(f"p-values must be a 1-D sequence, got shape {arr.shape}")
    finite = arr[~np.isnan(arr)]
    if np.any((finite < 0) | (finite > 1)):
        raise InvalidArgument(f"p-values must lie in [0, 1], got {arr!r}")
    return arr


def holm(pvalues: Sequence[float] | ArrayLike) -> NDArray[np.float64]:
    """Holm's step-down adjusted p-values (family-wise error rate control).

    Reject hypothesis *i* at level alpha when its adjusted p-value is at most alpha; the
    chance of any false rejection is then at most alpha, for any dependence between the
    tests. ``nan`` entries (tests not run) stay ``nan`` and do not count in the family.
    """
    p = _as_pvalues(pvalues)
    out = np.full_like(p, np.nan)
    idx = np.flatnonzero(~np.isnan(p))
    k = idx.size
    if k == 0:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    scaled = p[order] * (k - np.arange(k))
    out[order] = np.minimum(1.0, np.maximum.accumulate(scaled))
    return out


def benjamini_hochberg(pvalues: Sequence[float] | ArrayLike) -> NDArray[np.float64]:
    """Benjamini-Hochberg adjusted p-values (false discovery rate control).

    Uses ``scipy.stats.false_discovery_control``. ``nan`` entries stay ``nan`` and do not
    count in the family.
    """
    from scipy.stats import false_discovery_control

    p = _as_pvalues(pvalues)
    out = np.full_like(p, np.nan)
    mask = ~np.isnan(p)
    if mask.any():
        out[mask] = false_discovery_control(p[mask], method="bh")
    return out


def ks_critical_d(n: int, m: int, alpha: float) -> float:
    """The smallest KS distance D that two samples of sizes n and m reject at level alpha.

    Asymptotic Kolmogorov distribution: ``D = sqrt(-ln(alpha / 2) / 2) * sqrt((n + m) / (n m))``
    (slightly conservative for small samples). ``inf`` when a side is empty.
    """
    if n <= 0 or m <= 0:
        return math.inf
    return math.sqrt(-math.log(alpha / 2.0) / 2.0) * math.sqrt((n + m) / (n * m))


def ks_d_to_normal_shift(d: float) -> float:
    """The mean shift, in standard deviations, of a normal whose KS distance is ``d``.

    A normal shifted by delta sigma is at KS distance ``2 * Phi(delta / 2) - 1``; this
    inverts it. ``inf`` for ``d >= 1``.
    """
    from scipy.stats import norm

    if d >= 1.0:
        return math.inf
    return float(2.0 * norm.ppf((1.0 + max(d, 0.0)) / 2.0))


def chi2_critical(dof: int, alpha: float) -> float:
    """The chi-square statistic a homogeneity test with ``dof`` degrees rejects at alpha."""
    from scipy.stats import chi2

    return float(chi2.isf(alpha, max(dof, 1)))


def null_psi(n: int, m: int, bins: int) -> float:
    """The PSI expected between two samples of sizes n and m of the *same* distribution.

    For small differences PSI is about ``(1/n + 1/m)`` times the chi-square statistic,
    whose mean under no drift is ``bins - 1``. ``inf`` when a side is empty.
    """
    if n <= 0 or m <= 0:
        return math.inf
    return max(bins - 1, 0) * (1.0 / n + 1.0 / m)


def critical_psi(n: int, m: int, bins: int, alpha: float) -> float:
    """The PSI at which the chi-square homogeneity test on ``bins`` cells rejects at alpha.

    Same approximation as :func:`null_psi`; shifts with a smaller PSI are out of reach of
    the test at these sample sizes. ``inf`` when a side is empty.
    """
    if n <= 0 or m <= 0:
        return math.inf
    return chi2_critical(bins - 1, alpha) * (1.0 / n + 1.0 / m)


def null_tvd(reference_proportions: ArrayLike, n: int, m: int) -> float:
    """The TVD expected between two samples of sizes n and m of the same categorical law.

    Each category's difference of proportions is about normal with variance
    ``p (1 - p) (1/n + 1/m)``, whose mean absolute value is ``sqrt(2 / pi)`` times its
    standard deviation; TVD is half their sum. ``inf`` when a side is empty.
    """
    if n <= 0 or m <= 0:
        return math.inf
    p = proportions(reference_proportions)
    sd = np.sqrt(p * (1.0 - p) * (1.0 / n + 1.0 / m))
    return float(0.5 * math.sqrt(2.0 / math.pi) * sd.sum())


def critical_tvd(reference_proportions: ArrayLike, n: int, m: int, alpha: float) -> float:
    """The TVD of the least visible shift the chi-square test still rejects at alpha.

    The shift moves mass between the two most frequent categories, where a change is
    hardest to see; for it the chi-square statistic is
    ``delta^2 (1/p1 + 1/p2) / (1/n + 1/m)``. Shifts into rare or new categories are
    visible at smaller TVD. ``inf`` when a side is empty or there is one category.
    """
    p = np.sort(proportions(reference_proportions))[::-1]
    p = p[p > 0]
    if n <= 0 or m <= 0 or p.size < 2:
        return math.inf
    crit = chi2_critical(p.size - 1, alpha)
    return float(math.sqrt(crit * (1.0 / n + 1.0 / m) / (1.0 / p[0] + 1.0 / p[1])))


def normal_shift_sensitivity(reference_proportions: ArrayLike) -> float:
    """PSI per squared sigma of a normal mean shift, for bins with these reference shares.

    Bins are mapped to a standard normal by their cumulative shares; a shift of delta
    sigma moves bin *j*'s share by about ``delta * (phi(z_j) - phi(z_j+1))``, so PSI (and
    the chi-square statistic divided by ``nm / (n + m)``) grows like ``c * delta^2``
    with the ``c`` returned here.
    """
    from scipy.stats import norm

    p = proportions(reference_proportions)
    p = p[p > 0]
    if p.size < 2:
        return 0.0
    z = norm.ppf(np.clip(np.concatenate([[0.0], np.cumsum(p)]), 0.0, 1.0))
    dens = norm.pdf(z)  # 0 at +-inf
    moved = dens[:-1] - dens[1:]
    return float(np.sum(moved * moved / p))


def binned_normal_shift(reference_proportions: ArrayLike, n: int, m: int, alpha: float) -> float:
    """Smallest normal mean shift (in sigma) the binned chi-square test rejects at alpha.

    ``inf`` when a side is empty or there is a single bin.
    """
    c = normal_shift_sensitivity(reference_proportions)
    p = proportions(reference_proportions)
    bins = int(np.count_nonzero(p))
    if c <= 0 or n <= 0 or m <= 0:
        return math.inf
    return math.sqrt(critical_psi(n, m, bins, alpha) / c)


def ks_normal_shift(n: int, m: int, alpha: float) -> float:
    """Smallest normal mean shift (in sigma) the KS test rejects at alpha for sizes n, m."""
    return ks_d_to_normal_shift(ks_critical_d(n, m, alpha))


__all__ = [
    "EMPTY_BIN_EPSILON",
    "MIN_EXPECTED_COUNT",
    "TestResult",
    "benjamini_hochberg",
    "binned_normal_shift",
    "chi2_critical",
    "chi2_homogeneity",
    "combine_min",
    "critical_psi",
    "critical_tvd",
    "holm",
    "jensen_shannon",
    "ks_binned",
    "ks_critical_d",
    "ks_d_to_normal_shift",
    "ks_normal_shift",
    "ks_test",
    "linf",
    "normal_shift_sensitivity",
    "normalised",
    "null_psi",
    "null_tvd",
    "pool_sparse",
    "proportions",
    "psi",
    "tvd",
    "unseen_share",
    "wasserstein_cdfs",
    "wasserstein_histograms",
    "wasserstein_samples",
]
