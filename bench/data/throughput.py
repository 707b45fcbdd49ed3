"""[data_profile, data_infer, data_validate, data_compare] Speed and peak memory.

Data: the seeded 20-column frame of :mod:`bench.data.synth` (reference seed 1, a
fresh batch seed 2), cached as Parquet. Each task runs in a fresh interpreter that
loads the data first (not timed) and then times the task alone: wall seconds, CPU
seconds of the process (all threads) and peak resident memory (``ru_maxrss``), next
to the memory before loading and the data's Arrow size.

* **profile**: ``ninefold.data.profile(df)``. The limit (``polars_same``): polars'
  own aggregation of the same statistics in one ``collect_all`` (moments,
  NaN/inf/zero/negative counts, HyperLogLog distinct counts, the sorted even sample
  of at most 100,000 values the 7 quantiles are read from, string lengths, top-1,000
  categories); ``polars_moments`` is the floor without quantiles and categories.
  Peers: Great Expectations (a suite of statistic expectations whose observed values
  are the statistics: mean, sd, min, max, 7 quantiles, distinct count, nulls per
  column), pandera ``infer_schema`` and Evidently ``Report([DataSummaryPreset()])``.
* **infer**: ``infer_schema(df)`` from raw data (profile included). Peer: pandera
  ``infer_schema`` (GX 1.x and Evidently infer no schema).
* **validate**: the batch against the schema inferred from the reference
  (inference not timed). Peers: pandera's inferred schema (``lazy=True``) and a GX
  suite of the same checks (column present, nulls, numeric range, category set).
* **compare**: ``compare(stored reference profile, batch)``. Peer: Evidently
  ``Report([DataDriftPreset()])`` on the raw reference and batch frames.

Sizes (rows): default ninefold 1M and 10M, peers 1M; ``--quick`` 100k and 1M, peers
100k; ``python -m bench.data --full``: peers at 10M too (Evidently alone needs tens of
minutes there).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from bench._harness import Context, console, ratio, record
from bench.data import _run, synth

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
PEERS = ("great_expectations", "pandera", "evidently")
TIMEOUT_S = 1800.0


def sizes(quick: bool, full: bool, rows: list[int] | None) -> tuple[list[int], list[int]]:
    """Row counts for ninefold and for the peers."""
    if rows:
        return rows, [min(rows)] if not full else rows
    if quick:
        return [100_000, 1_000_000], [100_000]
    if full:
        return [1_000_000, 10_000_000], [1_000_000, 10_000_000]
    return [1_000_000, 10_000_000], [1_000_000]


# -- measuring inside a worker ---------------------------------------------------------


def _load_polars(path: str) -> tuple[Any, dict[str, float]]:
    import polars as pl

    _run.reset_peak()
    before = _run.rss_mb()
    df = pl.read_parquet(path)
    return df, {
        "rss_before_load_mb": before,
        "rss_after_load_mb": _run.rss_mb(),
        "arrow_mb": df.estimated_size() / 2**20,
        "rows": df.height,
    }


def _measure(fn: Any, memory: dict[str, float]) -> dict[str, Any]:
    with _run.Timer() as t:
        result = fn()
    peak = _run.peak_rss_mb()
    out: dict[str, Any] = {
        "wall_s": t.wall,
        "cpu_s": t.cpu,
        "peak_rss_mb": peak,
        "ru_maxrss_mb": _run.maxrss_mb(),
        **memory,
    }
    if memory.get("arrow_mb"):
        out["peak_over_arrow"] = (peak - memory["rss_before_load_mb"]) / memory["arrow_mb"]
    if isinstance(result, dict):
        out["result"] = result
    return out


def ours_worker(task: str, data: str, extra: str | None = None) -> dict[str, Any]:
    """One ninefold task on the Parquet file ``data`` (``extra``: schema or profile path)."""
    # Import what the tasks use before the clock starts, as the peers' workers do.
    import scipy.spatial.distance
    import scipy.stats  # noqa: F401

    import ninefold.data as nfd

    df, memory = _load_polars(data)
    if task == "profile":
        return _measure(lambda: {"columns": nfd.profile(df).num_columns}, memory)
    if task == "infer":
        return _measure(lambda: {"columns": len(nfd.infer_schema(df).columns)}, memory)
    if task == "validate":
        schema = nfd.Schema.load(extra or "")

        def validate() -> dict[str, Any]:
            report = nfd.validate(df, schema)
            return {"anomalies": len(report.anomalies), "errors": len(report.errors)}

        return _measure(validate, memory)
    if task == "compare":
        from ninefold.data.drift import compare
        from ninefold.data.profile import DatasetProfile

        reference = DatasetProfile.load(extra or "")

        def run() -> dict[str, Any]:
            report = compare(reference, df)
            return {"tested": report.tested, "drifted": report.drifted_columns}

        return _measure(run, memory)
    raise ValueError(f"unknown task {task!r}")


def data_worker(rows: int, seed: int) -> dict[str, str]:
    """Generate (or find) the cached Parquet file, in its own process."""
    return {"path": str(synth.parquet(rows, seed))}


def prepare_worker(reference: str, folder: str) -> dict[str, str]:
    """Reference profile (JSON) and inferred schema (YAML) for the validate/compare tasks."""
    import ninefold.data as nfd

    prof = nfd.profile(reference)
    schema = nfd.infer_schema(prof)
    out = Path(folder)
    return {
        "profile": str(prof.save(out / "reference-profile.json")),
        "schema": str(schema.save(out / "reference-schema.yaml")),
    }


def limit_worker(data: str, statistics: str = "same") -> dict[str, Any]:
    """Polars' own aggregation of the profile's statistics, in as few passes as it allows.

    ``statistics="moments"``: one ``select`` of counts, nulls, NaN/inf/zero/negative
    counts, min, max, mean, sd, HLL distinct counts and string lengths (the floor).
    ``"same"``: that, plus per numeric column the sorted even sample of at most 100,000
    values its 7 quantiles are read from, and the top 1,000 categories of each string
    column, all in one ``collect_all``.
    """
    import math

    import numpy as np
    import polars as pl

    df, memory = _load_polars(data)

    def run() -> dict[str, Any]:
        exprs: list[pl.Expr] = []
        frames: list[pl.LazyFrame] = []
        samples: list[str] = []
        step = max(1, math.ceil(df.height / 100_000))
        for name, dtype in df.schema.items():
            col = pl.col(name)
            exprs += [
                col.null_count().alias(f"{name}:nulls"),
                col.drop_nulls().approx_n_unique().alias(f"{name}:distinct"),
            ]
            if dtype.is_numeric() or dtype.is_temporal():
                v = col.to_physical().cast(pl.Float64) if dtype.is_temporal() else col
                exprs += [
                    v.min().alias(f"{name}:min"),
                    v.max().alias(f"{name}:max"),
                    v.mean().alias(f"{name}:mean"),
                    v.std().alias(f"{name}:std"),
                    (v == 0).sum().alias(f"{name}:zeros"),
                    (v < 0).sum().alias(f"{name}:neg"),
                ]
                if dtype.is_float():
                    exprs += [
                        v.is_nan().sum().alias(f"{name}:nan"),
                        v.is_infinite().sum().alias(f"{name}:inf"),
                    ]
                if statistics == "same":
                    sample = v.drop_nulls().gather_every(step).cast(pl.Float64).sort()
                    exprs.append(sample.implode().alias(f"{name}:sample"))
                    samples.append(f"{name}:sample")
            elif dtype == pl.String:
                length = col.str.len_chars()
                exprs += [
                    length.min().alias(f"{name}:lmin"),
                    length.max().alias(f"{name}:lmax"),
                    length.mean().alias(f"{name}:lmean"),
                ]
                if statistics == "same":
                    frames.append(
                        df.lazy()
                        .select(col.alias("v"))
                        .drop_nulls()
                        .group_by("v")
                        .len()
                        .top_k(1000, by="len")
                    )
        results = pl.collect_all([df.lazy().select(exprs), *frames])
        quantiles = 0
        for key in samples:
            values = results[0][key][0].to_numpy()
            if values.size:
                np.quantile(values, QUANTILES)
                quantiles += len(QUANTILES)
        return {"statistics": results[0].width, "quantiles": quantiles, "tables": len(frames)}

    return _measure(run, memory)


# -- peers (run in the peers' interpreter; pandas) --------------------------------------


def _load_pandas(path: str) -> tuple[Any, dict[str, float]]:
    import pandas as pd

    _run.reset_peak()
    before = _run.rss_mb()
    df = pd.read_parquet(path)
    return df, {
        "rss_before_load_mb": before,
        "rss_after_load_mb": _run.rss_mb(),
        "rows": len(df),
    }


def _gx_batch(df: Any) -> Any:
    import great_expectations as gx

    context = gx.get_context(mode="ephemeral")
    source = context.data_sources.add_pandas("bench")
    asset = source.add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("all").get_batch(
        batch_parameters={"dataframe": df}
    )


def gx_worker(task: str, data: str, reference: str | None = None) -> dict[str, Any]:
    """Great Expectations: statistics (profile) or the inferred checks (validate)."""
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    import great_expectations as gx
    import great_expectations.expectations as gxe

    df, memory = _load_pandas(data)
    batch = _gx_batch(df)  # also creates the context a suite needs
    if task == "profile":
        suite = gx.ExpectationSuite(name="statistics")
        wide: dict[str, Any] = {"min_value": None, "max_value": None}
        for name in synth.NUMERIC_COLUMNS:
            for cls in (
                gxe.ExpectColumnMeanToBeBetween,
                gxe.ExpectColumnStdevToBeBetween,
                gxe.ExpectColumnMinToBeBetween,
                gxe.ExpectColumnMaxToBeBetween,
            ):
                suite.add_expectation(cls(column=name, **wide))
            suite.add_expectation(
                gxe.ExpectColumnQuantileValuesToBeBetween(
                    column=name,
                    quantile_ranges={
                        "quantiles": list(QUANTILES),
                        "value_ranges": [[None, None]] * len(QUANTILES),
                    },
                )
            )
        for name in (*synth.NUMERIC_COLUMNS, *synth.CATEGORICAL_COLUMNS, *synth.TIME_COLUMNS):
            suite.add_expectation(gxe.ExpectColumnUniqueValueCountToBeBetween(column=name, **wide))
            suite.add_expectation(gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=0.0))
        for name in synth.CATEGORICAL_COLUMNS:
            suite.add_expectation(
                gxe.ExpectColumnValueLengthsToBeBetween(column=name, min_value=0, max_value=None)
            )
        return _measure(
            lambda: {"expectations": len(batch.validate(suite, result_format="SUMMARY").results)},
            memory,
        )
    if task == "validate":
        import pandas as pd

        ref = pd.read_parquet(reference or "")
        suite = gx.ExpectationSuite(name="checks")
        for name in ref.columns:
            suite.add_expectation(gxe.ExpectColumnToExist(column=name))
            nulls = float(ref[name].isna().mean())
            suite.add_expectation(
                gxe.ExpectColumnValuesToNotBeNull(column=name, mostly=max(0.0, 1 - 2 * nulls))
            )
            if name in synth.NUMERIC_COLUMNS:
                suite.add_expectation(
                    gxe.ExpectColumnValuesToBeBetween(
                        column=name, min_value=ref[name].min(), max_value=ref[name].max()
                    )
                )
            elif name in synth.CATEGORICAL_COLUMNS:
                levels = sorted(ref[name].dropna().unique().tolist())
                suite.add_expectation(
                    gxe.ExpectColumnValuesToBeInSet(column=name, value_set=levels)
                )
        del ref

        def validate() -> dict[str, Any]:
            res = batch.validate(suite, result_format="BOOLEAN_ONLY")
            return {
                "expectations": len(res.results),
                "failed": sum(not r.success for r in res.results),
            }

        return _measure(validate, memory)
    return {"error": f"Great Expectations 1.x has no {task} step (no profiler, no inference)"}


def pandera_worker(task: str, data: str, reference: str | None = None) -> dict[str, Any]:
    """pandera: ``infer_schema`` (profile, infer) or validation against it (validate)."""
    import pandera.pandas as pa

    df, memory = _load_pandas(data)
    if task in ("profile", "infer"):
        return _measure(lambda: {"columns": len(pa.infer_schema(df).columns)}, memory)
    if task == "validate":
        import pandas as pd

        schema = pa.infer_schema(pd.read_parquet(reference or ""))

        def validate() -> dict[str, Any]:
            try:
                schema.validate(df, lazy=True)
                return {"failures": 0}
            except pa.errors.SchemaErrors as exc:
                return {"failures": len(exc.failure_cases)}

        return _measure(validate, memory)
    return {"error": f"pandera has no {task} step (no drift comparison)"}


def evidently_worker(task: str, data: str, reference: str | None = None) -> dict[str, Any]:
    """Evidently: ``DataSummaryPreset`` (profile) or ``DataDriftPreset`` (compare)."""
    import evidently
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset, DataSummaryPreset

    df, memory = _load_pandas(data)
    definition = DataDefinition(
        numerical_columns=list(synth.NUMERIC_COLUMNS),
        categorical_columns=list(synth.CATEGORICAL_COLUMNS),
        datetime_columns=list(synth.TIME_COLUMNS),
    )
    if task == "profile":
        dataset = Dataset.from_pandas(df, data_definition=definition)
        out = _measure(
            lambda: {"metrics": len(Report([DataSummaryPreset()]).run(dataset).dict()["metrics"])},
            memory,
        )
    elif task == "compare":
        import pandas as pd

        ref = pd.read_parquet(reference or "")
        cur_ds = Dataset.from_pandas(df, data_definition=definition)
        ref_ds = Dataset.from_pandas(ref, data_definition=definition)

        def run() -> dict[str, Any]:
            metrics = Report([DataDriftPreset()]).run(cur_ds, ref_ds).dict()["metrics"]
            count = next(m for m in metrics if m["metric_name"].startswith("DriftedColumnsCount"))
            return {"drifted_columns": count["value"]["count"]}

        out = _measure(run, memory)
    else:
        return {"error": f"Evidently has no {task} step"}
    out["version"] = evidently.__version__
    return out


# -- orchestration -----------------------------------------------------------------------


def _peer(name: str, task: str, data: Path, folder: Path, reference: Path | None) -> dict[str, Any]:
    target = {
        "great_expectations": "data.throughput:gx_worker",
        "pandera": "data.throughput:pandera_worker",
        "evidently": "data.throughput:evidently_worker",
    }[name]
    kwargs: dict[str, Any] = {"task": task, "data": str(data)}
    if reference is not None:
        kwargs["reference"] = str(reference)
    with console.status(f"{name} {task} ..."):
        return _run.run(target, kwargs, folder, python=_run.peers_python(), timeout=TIMEOUT_S)


def _bench(
    ctx: Context, task: str, full: bool, rows: list[int] | None, peers: tuple[str, ...]
) -> dict[str, Any]:
    ours_rows, peer_rows = sizes(ctx.quick, full, rows)
    folder = ctx.folder(f"data_{task}")
    results: list[dict[str, Any]] = []
    for n in ours_rows:
        # Generated in a worker: the runner stays small, so the workers it starts do
        # not inherit a large peak memory.
        data, batch = (
            Path(_run.run("data.throughput:data_worker", {"rows": n, "seed": s}, folder)["path"])
            for s in (1, 2)
        )
        entry: dict[str, Any] = {"rows": n}
        extra = None
        if task in ("validate", "compare"):
            prep = _run.run(
                "data.throughput:prepare_worker",
                {"reference": str(data), "folder": str(folder)},
                folder,
            )
            if "error" in prep:
                raise RuntimeError(prep["error"])
            extra = prep["schema"] if task == "validate" else prep["profile"]
        target_data = batch if task in ("validate", "compare") else data
        console.log(f"data_{task}: ninefold at {n:,} rows")
        entry["ninefold"] = _run.run(
            "data.throughput:ours_worker",
            {"task": task, "data": str(target_data), "extra": extra},
            folder,
            timeout=TIMEOUT_S,
        )
        if task == "profile":
            for kind in ("same", "moments"):
                entry[f"polars_{kind}"] = _run.run(
                    "data.throughput:limit_worker",
                    {"data": str(data), "statistics": kind},
                    folder,
                    timeout=TIMEOUT_S,
                )
        if ctx.peer and n in peer_rows:
            entry["peers"] = {}
            for name in peers:
                reference = data if task in ("validate", "compare") else None
                console.log(f"data_{task}: {name} at {n:,} rows")
                entry["peers"][name] = _peer(name, task, target_data, folder, reference)
        results.append(entry)
    return {"sizes": results}


def _ratios(entry: dict[str, Any], key: str = "wall_s") -> dict[str, float | None]:
    ours = entry.get("ninefold", {}).get(key)
    out = {}
    for name, peer in entry.get("peers", {}).items():
        out[name] = ratio(peer.get(key), ours)
    return out


def bench_profile(
    ctx: Context, full: bool = False, rows: list[int] | None = None
) -> dict[str, Any]:
    """Profile speed and memory against the polars limit and the peers."""
    data = _bench(ctx, "profile", full, rows, PEERS)
    checks = []
    for e in data["sizes"]:
        ours, limit = e["ninefold"], e.get("polars_same", {})
        e["over_limit_wall"] = ratio(ours.get("wall_s"), limit.get("wall_s"))
        e["over_limit_cpu"] = ratio(ours.get("cpu_s"), limit.get("cpu_s"))
        floor = e.get("polars_moments", {})
        e["over_moments_wall"] = ratio(ours.get("wall_s"), floor.get("wall_s"))
        e["over_moments_cpu"] = ratio(ours.get("cpu_s"), floor.get("cpu_s"))
        e["peer_over_ninefold_wall"] = _ratios(e)
        e["peer_over_ninefold_cpu"] = _ratios(e, "cpu_s")
    largest = data["sizes"][-1]
    checks.append(
        {
            "check": "profile within 2x of polars' own aggregation (wall)",
            "rows": largest["rows"],
            "value": largest["over_limit_wall"],
            "met": largest["over_limit_wall"] is not None and largest["over_limit_wall"] <= 2,
        }
    )
    poa = largest["ninefold"].get("peak_over_arrow")
    checks.append(
        {
            "check": "peak memory (above the interpreter) <= 2x the data's Arrow size",
            "rows": largest["rows"],
            "value": poa,
            "met": poa is not None and poa <= 2,
        }
    )
    for e in data["sizes"]:
        for name, r in e.get("peer_over_ninefold_wall", {}).items():
            checks.append(
                {
                    "check": f">= 20x faster than {name} (wall)",
                    "rows": e["rows"],
                    "value": r,
                    "met": r is not None and r >= 20,
                    "error": e["peers"][name].get("error"),
                }
            )
    return _record(
        "data_profile",
        data,
        checks,
        "profile 10M x 20: <= 2x polars limit, >= 20x "
        "faster than GX, pandera, Evidently; peak memory <= 2x Arrow size",
    )


def bench_infer(ctx: Context, full: bool = False, rows: list[int] | None = None) -> dict[str, Any]:
    """Schema inference from raw data (profile included)."""
    data = _bench(ctx, "infer", full, rows, ("pandera",))
    for e in data["sizes"]:
        e["peer_over_ninefold_wall"] = _ratios(e)
    return _record("data_infer", data, [], "none in the issue; reported")


def bench_validate(
    ctx: Context, full: bool = False, rows: list[int] | None = None
) -> dict[str, Any]:
    """Validation of a fresh batch against the schema inferred from the reference."""
    data = _bench(ctx, "validate", full, rows, ("great_expectations", "pandera"))
    for e in data["sizes"]:
        e["peer_over_ninefold_wall"] = _ratios(e)
    return _record("data_validate", data, [], "none in the issue; reported")


def bench_compare(
    ctx: Context, full: bool = False, rows: list[int] | None = None
) -> dict[str, Any]:
    """compare() against a stored reference profile, next to Evidently's DataDriftPreset."""
    data = _bench(ctx, "compare", full, rows, ("evidently",))
    checks = []
    for e in data["sizes"]:
        e["peer_over_ninefold_wall"] = _ratios(e)
        e["peer_over_ninefold_cpu"] = _ratios(e, "cpu_s")
        r = e["peer_over_ninefold_wall"].get("evidently")
        if "peers" in e:
            checks.append(
                {
                    "check": ">= 20x faster than Evidently DataDriftPreset (wall)",
                    "rows": e["rows"],
                    "value": r,
                    "met": r is not None and r >= 20,
                    "error": e["peers"]["evidently"].get("error"),
                }
            )
    return _record(
        "data_compare",
        data,
        checks,
        "compare 1M x 20 against a stored profile "
        ">= 20x faster than Evidently's DataDriftPreset on raw frames",
    )


def _record(
    name: str, data: dict[str, Any], checks: list[dict[str, Any]], target: str
) -> dict[str, Any]:
    largest = data["sizes"][-1]
    ours = largest.get("ninefold", {})
    met = all(c["met"] for c in checks) if checks else None
    return record(
        name,
        {k: v for k, v in ours.items() if k != "result"},
        None,
        None,
        target,
        met,
        largest["rows"],
        "seconds (wall, cpu) and MiB at the largest size; every size in 'sizes'",
        sizes=data["sizes"],
        checks=checks,
        peers_python=_run.peers_python(),
    )
