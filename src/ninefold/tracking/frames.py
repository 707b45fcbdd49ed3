"""Search results as DataFrames (polars by default, pandas on request)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal

from ninefold._deps import require
from ninefold.errors import InvalidArgument
from ninefold.store import Run, SearchResult

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

Output = Literal["polars", "pandas", "records"]

_BASE = [
    "run_id",
    "experiment",
    "name",
    "status",
    "start_time",
    "end_time",
    "parent_run_id",
    "user",
]


def _check_output(output: str) -> None:
    if output not in ("polars", "pandas", "records"):
        raise InvalidArgument(f"output must be 'polars', 'pandas' or 'records', got {output!r}.")


def _wide(
    rows: list[tuple[str, str, Any]], prefix: str, dtype: Any, order: pl.DataFrame
) -> pl.DataFrame:
    import polars as pl

    if not rows:
        return order.select("run_id")
    long = pl.DataFrame(
        rows, schema={"run_id": pl.String, "key": pl.String, "value": dtype}, orient="row"
    )
    wide = long.pivot(on="key", index="run_id", values="value")
    keys = sorted(c for c in wide.columns if c != "run_id")
    return wide.select("run_id", *[pl.col(k).alias(f"{prefix}.{k}") for k in keys])


def search_frame(result: SearchResult) -> pl.DataFrame:
    """One row per run in search order: attributes, then ``metrics.*``, ``params.*``, ``tags.*``."""
    import polars as pl

    runs = pl.DataFrame(
        result.runs,
        schema={
            "run_id": pl.String,
            "experiment": pl.String,
            "name": pl.String,
            "status": pl.String,
            "start_time": pl.Int64,
            "end_time": pl.Int64,
            "parent_run_id": pl.String,
            "user": pl.String,
        },
        orient="row",
    ).with_columns(
        pl.from_epoch("start_time", time_unit="ms").dt.replace_time_zone("UTC"),
        pl.from_epoch("end_time", time_unit="ms").dt.replace_time_zone("UTC"),
    )
    frame = runs
    for rows, prefix, dtype in (
        (result.metrics, "metrics", pl.Float64),
        (result.params, "params", pl.String),
        (result.tags, "tags", pl.String),
    ):
        frame = frame.join(
            _wide(rows, prefix, dtype, runs), on="run_id", how="left", maintain_order="left"
        )
    return frame


def to_output(
    result: SearchResult, output: Output
) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
    """Convert a search result to the requested output type."""
    _check_output(output)
    frame = search_frame(result)
    return _convert(frame, output)


def _convert(
    frame: pl.DataFrame, output: Output
) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
    if output == "polars":
        return frame
    if output == "records":
        return frame.to_dicts()
    require("pandas", "pandas", "output='pandas'")
    require("pyarrow", "pandas", "output='pandas'")
    return frame.to_pandas()


def compare_frame(
    runs: Sequence[Run], output: Output
) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
    """Rows ``params.*``, ``metrics.*`` (latest values) and ``tags.*``; one column per run.

    Columns are named after the run (its name, with the id's last 8 characters
    when two runs share a name).
    """
    import polars as pl

    _check_output(output)
    names = [r.name for r in runs]
    columns = [
        n if names.count(n) == 1 else f"{n} ({r.run_id[-8:]})"
        for n, r in zip(names, runs, strict=True)
    ]
    keys: list[str] = []
    for section, attr in (("params", "params"), ("metrics", "metrics"), ("tags", "tags")):
        found = sorted({k for r in runs for k in getattr(r, attr)})
        keys += [f"{section}.{k}" for k in found]
    data: dict[str, list[str | None]] = {"key": ["run_id", "status", "start_time", *keys]}
    for col, run in zip(columns, runs, strict=True):
        values: list[str | None] = [
            run.run_id,
            str(run.status),
            datetime.fromtimestamp(run.start_ms / 1000, tz=UTC).isoformat(timespec="seconds"),
        ]
        for key in keys:
            section, name = key.split(".", 1)
            value = getattr(run, section).get(name)
            values.append(None if value is None else str(value))
        data[col] = values
    frame = pl.DataFrame(data, schema=dict.fromkeys(data, pl.String))
    if len(runs) > 1:
        cells = frame.select(columns)
        differs = [len({row[i] for i in range(len(columns))}) > 1 for row in cells.iter_rows()]
        frame = frame.with_columns(pl.Series("differs", differs))
    return _convert(frame, output)
