"""Compile parsed run filters to SQL and run searches.

One compiler serves every backend: filters become SQLAlchemy expressions over
the runs table joined (once per referenced key) to ``latest_metrics``,
``params`` and ``run_tags``. Missing values compare as SQL NULL, so a run
without ``metrics.acc`` never matches ``metrics.acc > 0.9``; NaN metrics are
stored as NULL and behave the same way.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    false,
    func,
    not_,
    or_,
    select,
    true,
)
from sqlalchemy.sql.selectable import Join

from ninefold.errors import FilterSyntaxError
from ninefold.store.database import Database
from ninefold.store.filters import (
    ATTRIBUTES,
    BoolOp,
    Field,
    In,
    IsNull,
    Like,
    Node,
    Not,
    OrderKey,
    parse_filter,
    parse_order_by,
)
from ninefold.store.schema import experiments, latest_metrics, params, run_tags, runs

_ATTR_COLUMNS: dict[str, Any] = {
    "run_id": runs.c.run_id,
    "id": runs.c.run_id,
    "name": runs.c.name,
    "run_name": runs.c.name,
    "status": runs.c.status,
    "experiment": experiments.c.name,
    "experiment_id": runs.c.experiment_id,
    "parent_run_id": runs.c.parent_run_id,
    "user": runs.c.user,
    "host": runs.c.host,
    "start_time": runs.c.start_ms,
    "end_time": runs.c.end_ms,
}
assert set(_ATTR_COLUMNS) == set(ATTRIBUTES)

_TABLES = {"metric": latest_metrics, "param": params, "tag": run_tags}


@dataclass
class SearchResult:
    """Runs matching a search, in order, with their values in long form.

    Attributes:
        runs: one tuple per run: (run_id, experiment, name, status, start_ms,
            end_ms, parent_run_id, user).
        metrics: (run_id, key, value) with NaN for NULL.
        params: (run_id, key, value).
        tags: (run_id, key, value).
    """

    runs: list[tuple[str, str, str, str, int, int | None, str | None, str]] = field(
        default_factory=list
    )
    metrics: list[tuple[str, str, float]] = field(default_factory=list)
    params: list[tuple[str, str, str]] = field(default_factory=list)
    tags: list[tuple[str, str, str]] = field(default_factory=list)


class _Compiler:
    """Turns a filter tree into a WHERE clause plus the joins it needs."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.aliases: dict[tuple[str, str], Any] = {}

    def column(self, f: Field) -> Any:
        if f.kind == "attr":
            return _ATTR_COLUMNS[f.name]
        key = (f.kind, f.name)
        if key not in self.aliases:
            self.aliases[key] = _TABLES[f.kind].alias(f"{f.kind[0]}{len(self.aliases)}")
        return self.aliases[key].c.value

    def present(self, f: Field) -> ColumnElement[bool]:
        """True where the run has the metric, param or tag ``f`` (even if its value is NULL)."""
        self.column(f)
        present: ColumnElement[bool] = self.aliases[(f.kind, f.name)].c.run_id.is_not(None)
        return present

    def joined(self, base: Join) -> Join:
        for (_, name), alias in self.aliases.items():
            base = base.outerjoin(alias, and_(alias.c.run_id == runs.c.run_id, alias.c.key == name))
        return base

    def literal(self, f: Field, value: object, position: int) -> Any:
        numeric = f.kind == "metric" or (f.kind == "attr" and ATTRIBUTES[f.name] == "num")
        if numeric:
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise FilterSyntaxError(
                    f"{_label(f)} is numeric; compare it with a number, not {value!r}",
                    self.text,
                    position,
                )
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                # Beyond 64-bit integers (SQLite's limit) compare as a float.
                try:
                    return float(value)
                except OverflowError:
                    return math.inf if value > 0 else -math.inf
            return value
        if isinstance(value, float):
            return repr(value)
        return str(value).lower() if isinstance(value, bool) else str(value)

    def compile(self, node: Node) -> ColumnElement[bool]:
        if isinstance(node, BoolOp):
            parts = [self.compile(i) for i in node.items]
            return and_(*parts) if node.op == "and" else or_(*parts)
        if isinstance(node, Not):
            return not_(self.compile(node.item))
        if isinstance(node, IsNull):
            if node.field.kind == "attr":
                col = self.column(node.field)
                null_test: ColumnElement[bool] = col.is_not(None) if node.negated else col.is_(None)
                return null_test
            # For metrics, params and tags "null" means "never logged": a NaN
            # metric (stored as NULL) was logged, so it is "not null".
            present = self.present(node.field)
            return present if node.negated else not_(present)
        if isinstance(node, Like):
            col = self.column(node.field)
            if node.field.kind == "metric" or ATTRIBUTES.get(node.field.name) == "num":
                raise FilterSyntaxError(
                    f"'like' needs a text field; {_label(node.field)} is numeric",
                    self.text,
                    node.field.position,
                )
            # Backslash escapes % and _ on every backend (PostgreSQL's default).
            expr: ColumnElement[bool] = (
                col.ilike(node.pattern, escape="\\")
                if node.case_insensitive
                else col.like(node.pattern, escape="\\")
            )
            return not_(expr) if node.negated else expr
        if isinstance(node, In):
            col = self.column(node.field)
            values = [self.literal(node.field, v, node.field.position) for v in node.values]
            member: ColumnElement[bool] = col.not_in(values) if node.negated else col.in_(values)
            return member
        col = self.column(node.field)
        value = self.literal(node.field, node.value, node.position)
        if node.field.kind in ("param", "tag") and node.op not in ("=", "!="):
            raise FilterSyntaxError(
                f"{_label(node.field)} is text; use =, !=, in or like (log numbers as metrics "
                "to compare them with < or >)",
                self.text,
                node.position,
            )
        if isinstance(value, float) and math.isnan(value):
            # NaN is stored as NULL: "= nan" means "is NaN", which a run without
            # the metric (no row, so also NULL after the outer join) is not.
            if node.op == "=":
                nan_test: ColumnElement[bool] = col.is_(None)
                if node.field.kind != "attr":
                    nan_test = and_(nan_test, self.present(node.field))
                return nan_test
            if node.op == "!=":
                not_nan: ColumnElement[bool] = col.is_not(None)
                return not_nan
            return false()
        ops = {
            "=": col.__eq__,
            "!=": col.__ne__,
            "<": col.__lt__,
            "<=": col.__le__,
            ">": col.__gt__,
            ">=": col.__ge__,
        }
        result: ColumnElement[bool] = ops[node.op](value)
        return result


def _label(f: Field) -> str:
    return f.name if f.kind == "attr" else f"{f.kind}s.{f.name}"


_RUN_COLUMNS = (
    runs.c.run_id,
    experiments.c.name,
    runs.c.name,
    runs.c.status,
    runs.c.start_ms,
    runs.c.end_ms,
    runs.c.parent_run_id,
    runs.c.user,
)

CHUNK = 10_000
"""Run ids per ``IN (...)`` list when fetching values (below SQLite's variable limit)."""


def build_query(
    filter_text: str = "",
    order_by: list[str] | tuple[str, ...] = (),
    experiment_ids: list[str] | None = None,
    max_results: int | None = None,
    columns: tuple[Any, ...] = (runs.c.run_id,),
) -> Select[Any]:
    """A SELECT of matching runs, ordered and limited; the filter is parsed once."""
    tree = parse_filter(filter_text)
    compiler = _Compiler(filter_text)
    where: ColumnElement[bool] = compiler.compile(tree) if tree is not None else true()
    order_keys: list[OrderKey] = parse_order_by(list(order_by))
    order_cols = []
    for key in order_keys:
        col = compiler.column(key.field)
        order_cols.append((col.desc() if key.descending else col.asc()).nulls_last())
    order_cols += [runs.c.start_ms.desc(), runs.c.run_id.desc()]
    base = runs.join(experiments, experiments.c.experiment_id == runs.c.experiment_id)
    query = select(*columns).select_from(compiler.joined(base)).where(where)
    if experiment_ids is not None:
        query = query.where(runs.c.experiment_id.in_(experiment_ids))
    query = query.order_by(*order_cols)
    if max_results is not None:
        query = query.limit(max_results)
    return query


def _fetch(conn: Connection, stmt: Select[Any]) -> list[Any]:
    """All rows as the driver's plain tuples (no per-row result processing).

    Only for columns whose driver values need no conversion (strings, floats).
    """
    return list(conn.execute(stmt).cursor.fetchall())


def search(
    db: Database,
    filter_text: str = "",
    order_by: list[str] | tuple[str, ...] = (),
    experiment_ids: list[str] | None = None,
    max_results: int | None = None,
) -> SearchResult:
    """Run a search, then fetch the matching runs' params, tags and latest metrics.

    The filtered, ordered query runs once; values are then read by run id in
    chunks, so the cost grows with the number of matches, not of runs.
    """
    query = build_query(filter_text, order_by, experiment_ids, max_results, _RUN_COLUMNS)
    result = SearchResult()
    with db.read() as conn:
        result.runs = [
            (r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7]) for r in conn.execute(query)
        ]
        ids = [r[0] for r in result.runs]
        for start in range(0, len(ids), CHUNK):
            chunk = ids[start : start + CHUNK]
            for table, target in ((params, result.params), (run_tags, result.tags)):
                target.extend(
                    _fetch(
                        conn,
                        select(table.c.run_id, table.c.key, table.c.value).where(
                            table.c.run_id.in_(chunk)
                        ),
                    )
                )
            rows = _fetch(
                conn,
                select(latest_metrics.c.run_id, latest_metrics.c.key, latest_metrics.c.value).where(
                    latest_metrics.c.run_id.in_(chunk)
                ),
            )
            result.metrics.extend(r if r[2] is not None else (r[0], r[1], math.nan) for r in rows)
    return result


def count(db: Database, filter_text: str = "") -> int:
    """How many runs match a filter."""
    inner = build_query(filter_text).subquery()
    with db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(inner)).scalar() or 0)
