"""Seeded synthetic frames for the data tests."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl


def mixed_frame(rows: int = 2_000, seed: int = 0) -> pl.DataFrame:
    """Ids, floats (with nulls), ints, categories, a boolean and a timestamp."""
    rng = np.random.default_rng(seed)
    score = rng.normal(50.0, 10.0, rows)
    frame = pl.DataFrame(
        {
            "customer_id": np.arange(rows, dtype=np.int64),
            "age": rng.integers(18, 90, rows),
            "income": rng.lognormal(10.0, 0.5, rows),
            "score": score,
            "plan": rng.choice(["basic", "pro", "team"], rows, p=[0.6, 0.3, 0.1]),
            "active": rng.random(rows) > 0.3,
            "signup": [dt.datetime(2024, 1, 1) + dt.timedelta(hours=int(h)) for h in range(rows)],
        }
    )
    nulls = rng.random(rows) < 0.02
    return frame.with_columns(
        pl.when(pl.Series(nulls)).then(None).otherwise(pl.col("score")).alias("score")
    )
