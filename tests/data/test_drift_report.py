"""drift_report(): one self-contained HTML file with the verdicts and both distributions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pytest

from ninefold.data.drift import compare
from ninefold.data.drift_report import drift_report
from ninefold.errors import InvalidArgument


def _frame(n: int, seed: int, shift: float = 0.0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    return pl.DataFrame(
        {
            "amount": rng.normal(50 + 10 * shift, 10, n),
            "plan": rng.choice(["basic", "pro", "team"], size=n, p=[0.6, 0.3, 0.1]),
        }
    )


def test_drift_report_is_offline_html_with_verdicts_and_histograms(tmp_path: Path) -> None:
    report = compare(_frame(20_000, 1), _frame(5_000, 2, shift=0.5).drop("plan"))
    path = drift_report(report, tmp_path / "out" / "drift.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert "Drift detected in 1 of 1 columns: amount." in text
    # The verdict table names each column and its state; the missing one is flagged.
    assert "id='col-amount'" in text
    assert "id='col-plan'" in text
    assert "missing" in text
    # plotly.js is inlined (no CDN), and both distributions of 'amount' are drawn.
    assert "<script src=" not in text
    assert "Plotly" in text[:5_000_000]
    assert "Plotly.newPlot" in text or "Plotly.react" in text
    assert '"name":"reference"' in text
    assert '"name":"current"' in text
    # Sized by what it shows: the same report on 10x the rows is about as large.
    big = compare(_frame(200_000, 3), _frame(50_000, 4, shift=0.5).drop("plan"))
    big_path = drift_report(big, tmp_path / "big.html")
    assert big_path.stat().st_size < path.stat().st_size * 1.2


def test_drift_report_needs_a_drift_report(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="DriftReport"):
        drift_report({"drift": True}, tmp_path / "x.html")  # type: ignore[arg-type]
