"""HTML reports: self-contained, one plotly.js, sized by columns, not rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl

from ninefold.data import infer_schema, profile, validate
from ninefold.data.report import histogram_figure, profile_report, validation_report
from tests.data.helpers import mixed_frame

PLOTLY_MARKER = "plotly.js v"  # the licence banner at the top of the bundled library


def test_profile_report_is_self_contained(tmp_path: Path) -> None:
    df = mixed_frame(1_000)
    path = profile_report(profile(df), tmp_path / "profile.html")
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert page.count(PLOTLY_MARKER) == 1
    assert "<script src=" not in page  # nothing fetched from the network
    for name in df.columns:
        assert f"<h3>{name}" in page
    assert page.count("Plotly.newPlot") == len(df.columns)


def test_report_size_follows_columns_not_rows(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)

    def frame(rows: int) -> pl.DataFrame:
        return pl.DataFrame({f"x{i}": rng.normal(size=rows) for i in range(5)})

    small = profile_report(profile(frame(1_000)), tmp_path / "small.html").stat().st_size
    large = profile_report(profile(frame(200_000)), tmp_path / "large.html").stat().st_size
    assert abs(large - small) < 5_000
    wide = (
        profile_report(
            profile(frame(1_000).with_columns([pl.col("x0").alias(f"y{i}") for i in range(20)])),
            tmp_path / "wide.html",
        )
        .stat()
        .st_size
    )
    assert wide > small + 20 * 1_000


def test_validation_report_shows_the_verdict_and_anomalies(tmp_path: Path) -> None:
    ref = mixed_frame(500)
    bad = ref.with_columns(pl.lit("<script>alert(1)</script>").alias("plan"))
    report = validate(bad, infer_schema(ref), profile=True)
    page = validation_report(report, tmp_path / "v.html").read_text(encoding="utf-8")
    assert "Failed: " in page
    assert "new_category" in page
    assert "<script>alert(1)</script>" not in page  # values are escaped
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("Plotly.newPlot") == len(ref.columns)
    passed = validation_report(validate(ref, infer_schema(ref)), tmp_path / "ok.html")
    assert "Passed: no error-severity anomaly" in passed.read_text(encoding="utf-8")


def test_histogram_figure_overlays_the_reference() -> None:
    ref = profile(pl.DataFrame({"x": np.arange(1_000.0), "c": ["a", "b"] * 500}))
    cur = profile(pl.DataFrame({"x": np.arange(500.0) + 300, "c": ["a", "z"] * 250}), reference=ref)
    fig = histogram_figure(cur["x"], ref["x"])
    assert [t.name for t in fig.data] == ["reference", "current"]
    assert len(fig.data[0].x) == len(fig.data[1].x) == 20  # the reference's bins
    cats = histogram_figure(cur["c"], ref["c"])
    assert list(cats.data[1].y) == ["a", "b", "z"]
    assert list(cats.data[1].x) == [0.5, 0.0, 0.5]
    assert histogram_figure(profile(pl.DataFrame({"x": [None, None]}))["x"]) is None
