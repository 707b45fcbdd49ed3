"""[data_calibration] False alarms and detection of ``compare`` next to Evidently's defaults.

Each *pair* is a fresh reference and a fresh current frame of the synthetic 20-column
data set (:mod:`bench.data.synth`), both of ``rows`` rows, drawn from their own seeds.

* **No drift**: both frames from the same distribution. A dataset-level false alarm is
  a pair where any column alarms (ours), or where Evidently's own dataset verdict
  (``DriftedColumnsCount(drift_share=0.5)``: at least half the columns drifted) fires;
  Evidently's any-column rate is reported too.
* **Known shifts**: the current frame's three numeric columns ``f_normal``,
  ``f_lognormal``, ``f_gamma`` shifted by 0.05, 0.1, 0.2 or 0.5 population standard
  deviations; or 5, 10 or 20 percentage points of probability moved onto the top level
  of the 10- and 50-level categoricals (a total variation distance of exactly that).
  Detection is reported per shifted column and at dataset level.

Evidently runs in "stattest" mode by default: per column, Evidently's own
``get_stattest`` picks the test exactly as ``DataDriftPreset`` does and runs it on the
same cleaned values (``replace([inf, -inf], nan).dropna()``), without building the
report, which would take minutes per pair at 1M rows. A few pairs are also run
through the real ``Report([DataDriftPreset()])`` and the drifted-column counts
compared (``evidently_preset_check``).

Sizes and pairs (rows per side): default 1k, 10k, 100k, 1M with 200 no-drift pairs
for ninefold at every size and 30 pairs per shift (10 at 1M); Evidently 200/100/50/20
no-drift pairs and 20 (10 at 1M) per shift. ``--quick``: 1k, 10k, 100k; 50 no-drift
pairs, 10 per shift. ``python -m bench.data --full``: 200 no-drift and 50 shifted
pairs at every size for both tools (hours on 2 cores).
"""

from __future__ import annotations

import time
from typing import Any

from bench._harness import Context, console, record
from bench.data import _run

SCENARIOS: list[tuple[str, float]] = [
    ("none", 0.0),
    ("mean", 0.05),
    ("mean", 0.1),
    ("mean", 0.2),
    ("mean", 0.5),
    ("category", 0.05),
    ("category", 0.1),
    ("category", 0.2),
]

FALSE_ALARM_TARGET = 0.01


def plan(quick: bool, full: bool = False) -> list[dict[str, Any]]:
    """Per size: rows, our no-drift pairs and shifted pairs, and Evidently's."""
    if quick:
        return [
            {"rows": r, "pairs": 50, "shift_pairs": 10, "ev_pairs": 50, "ev_shift_pairs": 10}
            for r in (1_000, 10_000, 100_000)
        ]
    if full:
        return [
            {"rows": r, "pairs": 200, "shift_pairs": 50, "ev_pairs": 200, "ev_shift_pairs": 50}
            for r in (1_000, 10_000, 100_000, 1_000_000)
        ]
    return [
        {"rows": 1_000, "pairs": 200, "shift_pairs": 30, "ev_pairs": 200, "ev_shift_pairs": 20},
        {"rows": 10_000, "pairs": 200, "shift_pairs": 30, "ev_pairs": 100, "ev_shift_pairs": 20},
        {"rows": 100_000, "pairs": 200, "shift_pairs": 30, "ev_pairs": 50, "ev_shift_pairs": 20},
        {"rows": 1_000_000, "pairs": 200, "shift_pairs": 10, "ev_pairs": 20, "ev_shift_pairs": 10},
    ]


def _seed(rows: int, scenario: int, rep: int, side: int) -> int:
    import numpy as np

    return int(np.random.SeedSequence([rows, scenario, rep, side]).generate_state(1)[0])


def _pair(rows: int, scenario: int, rep: int) -> tuple[Any, Any]:
    from bench.data import synth

    kind, delta = SCENARIOS[scenario]
    ref = synth.frame(rows, _seed(rows, scenario, rep, 0))
    cur = synth.frame(
        rows,
        _seed(rows, scenario, rep, 1),
        mean_shift=delta if kind == "mean" else 0.0,
        category_shift=delta if kind == "category" else 0.0,
    )
    return ref, cur


def _tally(flags: list[tuple[bool, list[str]]]) -> dict[str, Any]:
    columns: dict[str, int] = {}
    for _, names in flags:
        for name in names:
            columns[name] = columns.get(name, 0) + 1
    return {
        "pairs": len(flags),
        "dataset_alarms": sum(1 for alarm, _ in flags if alarm),
        "any_column_alarms": sum(1 for _, names in flags if names),
        "column_alarms": columns,
    }


def ours_worker(rows: int, counts: list[int], **options: Any) -> dict[str, Any]:
    """Run ``compare`` on ``counts[i]`` pairs of scenario ``i``; tally the alarms."""
    from ninefold.data import drift

    out: dict[str, Any] = {"scenarios": [], "seconds": 0.0, "tested_columns": None}
    start = time.perf_counter()
    for scenario, reps in enumerate(counts):
        flags = []
        for rep in range(reps):
            ref, cur = _pair(rows, scenario, rep)
            report = drift.compare(ref, cur, **options)
            out["tested_columns"] = report.tested
            flags.append((report.drift_detected, report.drifted_columns))
        out["scenarios"].append(_tally(flags))
    out["seconds"] = time.perf_counter() - start
    return out


def _evidently_flags(ref: Any, cur: Any) -> list[str]:
    """Columns Evidently's default per-column decision flags (as DataDriftPreset decides)."""
    import numpy as np
    from evidently.legacy.calculations.stattests.registry import get_stattest
    from evidently.legacy.core import ColumnType

    from bench.data import synth

    flagged = []
    for names, kind in (
        (synth.NUMERIC_COLUMNS, ColumnType.Numerical),
        (synth.CATEGORICAL_COLUMNS, ColumnType.Categorical),
    ):
        for name in names:
            r = ref[name].replace([-np.inf, np.inf], np.nan).dropna()
            c = cur[name].replace([-np.inf, np.inf], np.nan).dropna()
            test = get_stattest(r, c, kind, None)
            if test(r, c, kind, None).drifted:
                flagged.append(name)
    return flagged


def evidently_worker(rows: int, counts: list[int]) -> dict[str, Any]:
    """Evidently's default decisions on the same pairs (stattest mode, see the module doc)."""
    import evidently

    from bench.data import synth

    total = len(synth.NUMERIC_COLUMNS) + len(synth.CATEGORICAL_COLUMNS)
    out: dict[str, Any] = {"scenarios": [], "version": evidently.__version__}
    start = time.perf_counter()
    for scenario, reps in enumerate(counts):
        flags = []
        for rep in range(reps):
            ref, cur = _pair(rows, scenario, rep)
            names = _evidently_flags(ref.to_pandas(), cur.to_pandas())
            flags.append((len(names) >= 0.5 * total, names))
        out["scenarios"].append(_tally(flags))
    out["seconds"] = time.perf_counter() - start
    return out


def evidently_preset_check(rows: int, scenarios: list[int]) -> dict[str, Any]:
    """Drifted-column counts from the real DataDriftPreset versus stattest mode."""
    from evidently import DataDefinition, Dataset, Report
    from evidently.presets import DataDriftPreset

    from bench.data import synth

    definition = DataDefinition(
        numerical_columns=list(synth.NUMERIC_COLUMNS),
        categorical_columns=list(synth.CATEGORICAL_COLUMNS),
    )
    agree = 0
    cases = []
    for scenario in scenarios:
        ref, cur = _pair(rows, scenario, 0)
        ref_pd, cur_pd = ref.to_pandas(), cur.to_pandas()
        snapshot = Report([DataDriftPreset()]).run(
            Dataset.from_pandas(cur_pd, data_definition=definition),
            Dataset.from_pandas(ref_pd, data_definition=definition),
        )
        preset = next(
            int(m["value"]["count"])
            for m in snapshot.dict()["metrics"]
            if m["metric_name"].startswith("DriftedColumnsCount")
        )
        ours = len(_evidently_flags(ref_pd, cur_pd))
        agree += preset == ours
        cases.append({"scenario": SCENARIOS[scenario], "preset": preset, "stattest_mode": ours})
    return {"rows": rows, "agree": agree, "cases": cases}


def _rates(tally: dict[str, Any], shifted: tuple[str, ...], tested: int) -> dict[str, Any]:
    pairs = tally["pairs"]
    if not pairs:
        return {}
    cols = tally["column_alarms"]
    hits = sum(cols.get(c, 0) for c in shifted)
    false_cols = sum(v for k, v in cols.items() if k not in shifted)
    other = max(1, tested - len(shifted))
    out = {
        "pairs": pairs,
        "dataset": tally["dataset_alarms"] / pairs,
        "any_column": tally["any_column_alarms"] / pairs,
        "false_alarms_per_column": false_cols / (pairs * other),
    }
    if shifted:
        out["detected_per_column"] = hits / (pairs * len(shifted))
    return out


def summarise(rows: int, ours: dict[str, Any], evidently: dict[str, Any] | None) -> dict[str, Any]:
    """Rates per scenario for both tools."""
    from bench.data import synth

    tested = ours.get("tested_columns") or 19
    result: dict[str, Any] = {"rows": rows, "ours_s": ours.get("seconds")}
    if evidently is not None:
        result["evidently_s"] = evidently.get("seconds")
    for i, (kind, delta) in enumerate(SCENARIOS):
        shifted = {
            "none": (),
            "mean": synth.SHIFTED_NUMERIC,
            "category": synth.SHIFTED_CATEGORICAL,
        }[kind]
        key = "no_drift" if kind == "none" else f"{kind}_{delta:g}"
        entry = {"ours": _rates(ours["scenarios"][i], shifted, tested)}
        if evidently is not None and "scenarios" in evidently:
            entry["evidently"] = _rates(evidently["scenarios"][i], shifted, 19)
        result[key] = entry
    return result


def checks(sizes: list[dict[str, Any]], thresholds: dict[str, float]) -> list[dict[str, Any]]:
    """The issue's two calibration targets, one entry per size and shift."""
    out: list[dict[str, Any]] = []
    for s in sizes:
        fa = s["no_drift"]["ours"].get("dataset")
        out.append(
            {
                "check": "false alarms <= 1% of no-drift pairs",
                "rows": s["rows"],
                "value": fa,
                "met": fa is not None and fa <= FALSE_ALARM_TARGET,
            }
        )
        for key, entry in s.items():
            if not key.startswith(("mean_", "category_")) or "evidently" not in entry:
                continue
            kind, delta = key.split("_")
            limit = thresholds["wasserstein"] if kind == "mean" else thresholds["tvd"]
            if float(delta) <= limit:
                continue  # at or below the practical threshold: not a target
            ours, ev = entry["ours"], entry["evidently"]
            if not ev:
                continue
            out.append(
                {
                    "check": "dataset-level detection >= Evidently's",
                    "rows": s["rows"],
                    "shift": key,
                    "ours": ours["dataset"],
                    "evidently": ev["dataset"],
                    "met": ours["dataset"] >= ev["dataset"],
                    "per_column_ours": ours.get("detected_per_column"),
                    "per_column_evidently": ev.get("detected_per_column"),
                }
            )
    return out


def bench(ctx: Context, full: bool = False) -> dict[str, Any]:
    """The calibration benchmark: one JSON record."""
    from ninefold.data.drift import DEFAULT_ALPHA, DEFAULT_THRESHOLDS

    folder = ctx.folder("data_calibration")
    sizes = []
    preset_check: dict[str, Any] | None = None
    ev_error = None
    for p in plan(ctx.quick, full):
        rows = p["rows"]
        counts = [p["pairs"]] + [p["shift_pairs"]] * (len(SCENARIOS) - 1)
        ev_counts = [p["ev_pairs"]] + [p["ev_shift_pairs"]] * (len(SCENARIOS) - 1)
        console.log(
            f"calibration at {rows:,} rows: {sum(counts)} pairs (Evidently {sum(ev_counts)})"
        )
        ours_h = _run.spawn(
            "data.calibration:ours_worker", {"rows": rows, "counts": counts}, folder
        )
        ev_h = None
        if ctx.peer and ev_error is None:
            ev_h = _run.spawn(
                "data.calibration:evidently_worker",
                {"rows": rows, "counts": ev_counts},
                folder,
                python=_run.peers_python(),
            )
        ours = _run.collect(ours_h)
        if "error" in ours:
            raise RuntimeError(ours["error"])
        evidently = _run.collect(ev_h) if ev_h is not None else None
        if evidently is not None and "error" in evidently:
            ev_error, evidently = evidently["error"], None
        sizes.append(summarise(rows, ours, evidently))
    if ctx.peer and ev_error is None:
        preset_check = _run.run(
            "data.calibration:evidently_preset_check",
            {"rows": 10_000, "scenarios": [0, 4, 7]},
            folder,
            python=_run.peers_python(),
        )
    thresholds = DEFAULT_THRESHOLDS.to_dict()
    results = checks(sizes, thresholds)
    met = all(c["met"] for c in results) if results else None
    worst_fa = max(s["no_drift"]["ours"]["dataset"] for s in sizes)
    return record(
        "data_calibration",
        {"alpha": DEFAULT_ALPHA, "correction": "holm", "thresholds": thresholds},
        None,
        None,
        "dataset-level false alarms <= 1% of no-drift pairs at every size; detection >= "
        "Evidently's defaults wherever the shift exceeds the practical threshold",
        met,
        sum(s["no_drift"]["ours"]["pairs"] for s in sizes),
        "share of pairs (dataset) or of shifted columns (per column)",
        worst_false_alarm_rate=worst_fa,
        sizes=sizes,
        checks=results,
        evidently_mode="stattest (Evidently's get_stattest per column, as DataDriftPreset)",
        evidently_preset_check=preset_check,
        evidently_error=ev_error,
    )
