"""The seeded synthetic data set of the data benchmarks: N rows x 20 columns.

10 float columns (normal, lognormal, gamma, uniform, exponential, beta, Student t,
a price around 100, a two-normal mixture, a skewed normal; 1 % nulls in three of
them), 5 integer columns (a permuted id, uniform 0-99, Poisson, wide uniform, year),
4 string columns with 10, 50, 200 and 1,000 Zipf-distributed levels (0.5 % nulls)
and 1 timestamp (0.1 % nulls). Only numpy and polars are needed, so the peers'
interpreter can build exactly the same frames from the same seed.

Shifts for the calibration benchmark: ``mean_shift`` adds that many population
standard deviations to :data:`SHIFTED_NUMERIC`; ``category_shift`` moves that much
probability onto the most frequent level of :data:`SHIFTED_CATEGORICAL`, taken from
the other levels in proportion, so the total variation distance is exactly the shift.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

LOGNORMAL_SIGMA = 0.75
GAMMA_SHAPE, GAMMA_SCALE = 2.0, 2.0
CATEGORY_LEVELS = {"c10": 10, "c50": 50, "c200": 200, "c1000": 1000}
ZIPF_EXPONENT = 1.1

SHIFTED_NUMERIC = ("f_normal", "f_lognormal", "f_gamma")
"""Columns moved by a mean shift (by their population standard deviation)."""

SHIFTED_CATEGORICAL = ("c10", "c50")
"""Columns whose top level gains probability in a category shift."""

NUMERIC_COLUMNS = (
    "f_normal",
    "f_lognormal",
    "f_gamma",
    "f_uniform",
    "f_exp",
    "f_beta",
    "f_t",
    "f_price",
    "f_mixture",
    "f_skew",
    "i_id",
    "i_uniform",
    "i_poisson",
    "i_wide",
    "i_year",
)
CATEGORICAL_COLUMNS = tuple(CATEGORY_LEVELS)
TIME_COLUMNS = ("ts",)

POPULATION_STD = {
    "f_normal": 1.0,
    "f_lognormal": math.sqrt((math.exp(LOGNORMAL_SIGMA**2) - 1) * math.exp(LOGNORMAL_SIGMA**2)),
    "f_gamma": math.sqrt(GAMMA_SHAPE) * GAMMA_SCALE,
}


def zipf_shares(levels: int, exponent: float = ZIPF_EXPONENT) -> np.ndarray:
    """Probabilities of ``levels`` categories, proportional to ``1 / rank ** exponent``."""
    weights = 1.0 / np.arange(1, levels + 1) ** exponent
    return np.asarray(weights / weights.sum())


def shifted_shares(shares: np.ndarray, delta: float) -> np.ndarray:
    """Move ``delta`` of probability onto the first level, taken from the others pro rata."""
    if delta <= 0:
        return shares
    out = shares * (1.0 - (shares[0] + delta)) / (1.0 - shares[0])
    out[0] = shares[0] + delta
    return np.asarray(out / out.sum())


def _with_nulls(values: np.ndarray, rng: np.random.Generator, fraction: float) -> Any:
    import polars as pl

    mask = rng.random(values.size) < fraction
    return pl.Series(values).scatter(np.flatnonzero(mask), None)


def frame(rows: int, seed: int, *, mean_shift: float = 0.0, category_shift: float = 0.0) -> Any:
    """A polars DataFrame of ``rows`` x 20 columns drawn with ``seed``."""
    import polars as pl

    rng = np.random.default_rng(seed)
    n = rows
    cols: dict[str, Any] = {}
    cols["f_normal"] = rng.normal(0.0, 1.0, n)
    cols["f_lognormal"] = rng.lognormal(0.0, LOGNORMAL_SIGMA, n)
    cols["f_gamma"] = rng.gamma(GAMMA_SHAPE, GAMMA_SCALE, n)
    for name in SHIFTED_NUMERIC:
        cols[name] = cols[name] + mean_shift * POPULATION_STD[name]
    cols["f_uniform"] = rng.uniform(0.0, 1.0, n)
    cols["f_exp"] = _with_nulls(rng.exponential(1.0, n), rng, 0.01)
    cols["f_beta"] = rng.beta(2.0, 5.0, n)
    cols["f_t"] = rng.standard_t(5, n)
    cols["f_price"] = _with_nulls(np.round(rng.normal(100.0, 15.0, n), 2), rng, 0.01)
    pick = rng.random(n) < 0.3
    cols["f_mixture"] = np.where(pick, rng.normal(-2.0, 0.5, n), rng.normal(1.0, 1.0, n))
    cols["f_skew"] = _with_nulls(np.abs(rng.normal(0.0, 1.0, n)) ** 1.5, rng, 0.01)
    cols["i_id"] = rng.permutation(n).astype(np.int64)
    cols["i_uniform"] = rng.integers(0, 100, n)
    cols["i_poisson"] = rng.poisson(3.0, n)
    cols["i_wide"] = rng.integers(0, 1_000_000_000, n)
    cols["i_year"] = rng.integers(2000, 2025, n)
    for name, levels in CATEGORY_LEVELS.items():
        shares = zipf_shares(levels)
        if name in SHIFTED_CATEGORICAL:
            shares = shifted_shares(shares, category_shift)
        codes = rng.choice(levels, size=n, p=shares)
        names = pl.Series([f"{name}_{i:04d}" for i in range(levels)])
        series = names.gather(codes)
        mask = rng.random(n) < 0.005
        cols[name] = series.scatter(np.flatnonzero(mask), None)
    seconds = rng.integers(0, 365 * 86_400, n)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    stamps = start + seconds.astype("timedelta64[s]").astype("timedelta64[us]")
    cols["ts"] = _with_nulls(stamps, rng, 0.001)
    return pl.DataFrame(
        {k: (v if isinstance(v, pl.Series) else pl.Series(v)) for k, v in cols.items()}
    )


def cache_folder() -> Path:
    """Where generated Parquet files are kept (``NINEFOLD_BENCH_CACHE`` or the temp folder)."""
    root = os.environ.get("NINEFOLD_BENCH_CACHE")
    path = Path(root) if root else Path(tempfile.gettempdir()) / "ninefold-bench-data"
    path.mkdir(parents=True, exist_ok=True)
    return path


def parquet(rows: int, seed: int) -> Path:
    """The path of the seeded frame as Parquet, generated once (in chunks of 1M rows)."""
    import polars as pl

    path = cache_folder() / f"synth-{rows}-{seed}.parquet"
    if path.exists():
        return path
    chunk = 1_000_000
    parts = []
    for i, start in enumerate(range(0, rows, chunk)):
        part = frame(min(chunk, rows - start), seed * 1000 + i)
        if "i_id" in part.columns:
            part = part.with_columns(pl.col("i_id") + start)
        parts.append(part)
    df = pl.concat(parts) if len(parts) > 1 else parts[0]
    tmp = path.with_suffix(".tmp")
    df.write_parquet(tmp, statistics=False)
    tmp.replace(path)
    return path
