"""The filter language: parser errors, parse trees, and a property test over its grammar.

Backend-independent except the property test, which runs each generated filter
on a small SQLite store.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ninefold import _process
from ninefold._ids import new_id
from ninefold.errors import FilterSyntaxError, InvalidArgument
from ninefold.store import MetadataStore
from ninefold.store.filters import (
    ATTRIBUTES,
    BoolOp,
    Compare,
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

# -- errors -----------------------------------------------------------------

BAD_FILTERS = [
    # (filter, position of the offending token, words the message must contain)
    ("foo.bar = 1", 0, "Unknown entity 'foo'"),
    ("metrics.acc > 1 and colour.x = 2", 20, "Unknown entity 'colour'"),
    ("attributes.colour = 'red'", 11, "Unknown attribute 'colour'"),
    ("colour = 'red'", 0, "Unknown field 'colour'"),
    ("params.model = 'rf", 15, "Unterminated string"),
    ('tags.team = "vision', 12, "Unterminated string"),
    ("metrics.`val loss < 1", 8, "Unterminated name"),
    ("metrics.acc >", 13, "Expected a value"),
    ("metrics.acc > and", 14, "Expected a value"),
    ("params.model in ()", 17, "Expected a value"),
    ("params.model in ('rf',", 22, "Expected a value"),
    ("params.model in ('rf' 'gbm')", 22, "')' or ','"),
    ("metrics.acc > 1 foo", 16, "Expected 'and', 'or' or the end"),
    ("metrics.acc > 1)", 15, "Expected 'and', 'or' or the end"),
    ("()", 1, "Expected a field"),
    ("metrics.acc > 1 and ()", 21, "Expected a field"),
    ("(metrics.acc > 1", 16, "Expected ')'"),
    ("metrics.acc > 1 and", 19, "Expected a field"),
    ("not", 3, "Expected a field"),
    ("metrics. > 1", 9, "Expected a metric name"),
    ("metrics.acc ! 1", 12, "Unexpected character '!'"),
    ("metrics.acc @ 1", 12, "Unexpected character '@'"),
    ("metrics.acc 1", 12, "Expected an operator"),
    ("status is 'failed'", 10, "Expected 'null'"),
    ("name like 5", 10, "Expected a quoted pattern"),
    ("metrics.acc > -infinite", 14, "Unexpected character '-'"),
]


@pytest.mark.parametrize(("text", "position", "words"), BAD_FILTERS)
def test_malformed_filter_points_at_the_offending_token(
    text: str, position: int, words: str
) -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter(text)

    err = info.value
    assert err.position == position
    assert err.text == text
    message = str(err)
    assert words in message
    *_, quoted, caret = message.split("\n")
    assert quoted == "  " + text
    assert caret == "  " + " " * position + "^"
    assert isinstance(err, InvalidArgument)


def test_unknown_attribute_lists_the_known_ones() -> None:
    with pytest.raises(FilterSyntaxError) as info:
        parse_filter("attributes.colour = 'red'")
    assert all(name in str(info.value) for name in ATTRIBUTES)


@pytest.mark.parametrize(
    ("entries", "position", "words"),
    [
        (["metrics.acc sideways"], 12, "'asc', 'desc'"),
        (["colour"], 0, "Unknown field"),
        (["metrics.acc desc extra"], 17, "'asc', 'desc'"),
    ],
)
def test_malformed_order_by(entries: list[str], position: int, words: str) -> None:
    with pytest.raises(FilterSyntaxError, match=words) as info:
        parse_order_by(entries)
    assert info.value.position == position


# -- trees ------------------------------------------------------------------


def _strip(node: Any) -> Any:
    """The tree without source positions, with NaN made comparable."""
    if isinstance(node, Field):
        return dataclasses.replace(node, position=0)
    if isinstance(node, float) and math.isnan(node):
        return "NaN"
    if isinstance(node, tuple):
        return tuple(_strip(v) for v in node)
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        changes = {f.name: _strip(getattr(node, f.name)) for f in dataclasses.fields(node)}
        if "position" in changes:
            changes["position"] = 0
        return dataclasses.replace(node, **changes)
    return node


M, P, T = Field("metric", "acc", 0), Field("param", "model", 0), Field("tag", "team", 0)


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("metrics.acc > 0.9", Compare(M, ">", 0.9, 0)),
        ("metric.acc >= 1", Compare(M, ">=", 1, 0)),
        ("metrics.acc == -2.5e-3", Compare(M, "=", -0.0025, 0)),
        ("metrics.acc <> nan", Compare(M, "!=", math.nan, 0)),
        ("metrics.acc < -inf", Compare(M, "<", -math.inf, 0)),
        ("metrics.acc < +Infinity", Compare(M, "<", math.inf, 0)),
        ("params.model = 'r''f'", Compare(P, "=", "r'f", 0)),
        ('params.model = "a\\"b"', Compare(P, "=", 'a"b', 0)),
        ("tags.team = TRUE", Compare(T, "=", True, 0)),
        ("status = 'failed'", Compare(Field("attr", "status", 0), "=", "failed", 0)),
        ("attributes.name = 'x'", Compare(Field("attr", "name", 0), "=", "x", 0)),
        ("metrics.`val loss` < 1", Compare(Field("metric", "val loss", 0), "<", 1, 0)),
        ("params.layer.0.size = 3", Compare(Field("param", "layer.0.size", 0), "=", 3, 0)),
        (
            "metrics.grad/layers.05.w > 0",
            Compare(Field("metric", "grad/layers.05.w", 0), ">", 0, 0),
        ),
        ("params.model NOT IN ('rf', 2)", In(P, ("rf", 2), negated=True)),
        ("params.model ilike 'RF%'", Like(P, "RF%", case_insensitive=True, negated=False)),
        ("params.model not like 'x'", Like(P, "x", case_insensitive=False, negated=True)),
        ("tags.team is not null", IsNull(T, negated=True)),
        (
            "metrics.acc > 1 or tags.team = 'a' and params.model = 'b'",
            BoolOp(
                "or",
                (
                    Compare(M, ">", 1, 0),
                    BoolOp("and", (Compare(T, "=", "a", 0), Compare(P, "=", "b", 0))),
                ),
            ),
        ),
        (
            "not metrics.acc > 1 and tags.team is null",
            BoolOp("and", (Not(Compare(M, ">", 1, 0)), IsNull(T, negated=False))),
        ),
        (
            "not (metrics.acc > 1 and tags.team is null)",
            Not(BoolOp("and", (Compare(M, ">", 1, 0), IsNull(T, negated=False)))),
        ),
    ],
)
def test_parse_tree(text: str, tree: Node) -> None:
    assert _strip(parse_filter(text)) == _strip(tree)


def test_blank_filter_means_no_filter() -> None:
    assert parse_filter("") is None
    assert parse_filter(" \t\n") is None


def test_positions_point_into_the_text() -> None:
    tree = parse_filter("metrics.acc > 1 and  params.lr = 2")
    assert isinstance(tree, BoolOp)
    second = tree.items[1]
    assert isinstance(second, Compare)
    assert (second.field.position, second.position) == (21, 31)


def test_order_by() -> None:
    assert parse_order_by(["metrics.acc DESC", "start_time", "params.`a b` asc"]) == [
        OrderKey(Field("metric", "acc", 0), descending=True),
        OrderKey(Field("attr", "start_time", 0), descending=False),
        OrderKey(Field("param", "a b", 0), descending=False),
    ]


# -- property: every filter of the grammar parses, and runs on SQLite -----------

KEYWORD_CASES = st.sampled_from([str.lower, str.upper, str.capitalize])
SPACE = st.sampled_from([" ", "  ", "\t"])
TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8)
OPS = {
    "=": ["=", "=="],
    "!=": ["!=", "<>"],
    "<": ["<"],
    "<=": ["<="],
    ">": [">"],
    ">=": [">="],
}
ENTITY = {"metric": ["metrics", "metric"], "param": ["params", "param"], "tag": ["tags", "tag"]}
STR_ATTRS = sorted(k for k, v in ATTRIBUTES.items() if v == "str")
NUM_ATTRS = sorted(k for k, v in ATTRIBUTES.items() if v == "num")


def _quote(value: str, quote: str) -> str:
    return quote + value.replace("\\", "\\\\").replace(quote, quote * 2) + quote


@st.composite
def fields(draw: st.DrawFn, numeric: bool) -> tuple[Field, str]:
    kinds = ["metric", "attr"] if numeric else ["param", "tag", "attr"]
    kind = draw(st.sampled_from(kinds))
    if kind == "attr":
        name = draw(st.sampled_from(NUM_ATTRS if numeric else STR_ATTRS))
        prefix = draw(st.sampled_from(["", "attributes.", "attr.", "run."]))
        return Field("attr", name, 0), prefix + name
    entity = draw(st.sampled_from(ENTITY[kind]))
    plain = st.sampled_from(["acc", "loss", "model", "C", "team", "val-loss", "a/b:c", "layer.0"])
    quoted = st.text(
        st.characters(blacklist_categories=("Cs",), blacklist_characters="`\x00"),
        min_size=1,
        max_size=8,
    )
    if draw(st.booleans()):
        name = draw(plain)
        return Field(kind, name, 0), f"{entity}.{name}"  # type: ignore[arg-type]
    name = draw(quoted)
    return Field(kind, name, 0), f"{entity}.`{name}`"  # type: ignore[arg-type]


@st.composite
def numbers(draw: st.DrawFn) -> tuple[float | int, str]:
    choice = draw(st.sampled_from(["int", "float", "special"]))
    if choice == "int":
        value = draw(st.integers())
        return value, str(value)
    if choice == "float":
        x = draw(st.floats(allow_nan=False, allow_infinity=False))
        return x, repr(x)
    spelled = draw(st.sampled_from(["nan", "NaN", "inf", "Infinity", "-inf", "+inf", "-Infinity"]))
    return float(spelled.lower().replace("infinity", "inf")), spelled


@st.composite
def texts(draw: st.DrawFn) -> tuple[str | float | int | bool, str]:
    choice = draw(st.sampled_from(["string", "number", "bool"]))
    if choice == "number":
        return draw(numbers())
    if choice == "bool":
        flag = draw(st.booleans())
        return flag, draw(KEYWORD_CASES)(str(flag).lower())
    value = draw(TEXT)
    return value, _quote(value, draw(st.sampled_from(["'", '"'])))


@st.composite
def comparisons(draw: st.DrawFn) -> tuple[Node, str]:
    numeric = draw(st.booleans())
    field, field_text = draw(fields(numeric))
    sp = draw(SPACE)
    kw = draw(KEYWORD_CASES)
    form = draw(st.sampled_from(["compare", "in", "null"] + ([] if numeric else ["like"])))
    literal = numbers() if numeric else texts()
    if form == "compare":
        op = draw(st.sampled_from(sorted(OPS) if numeric else ["=", "!="]))
        value, value_text = draw(literal)
        op_text = draw(st.sampled_from(OPS[op]))
        return Compare(field, op, value, 0), f"{field_text}{sp}{op_text}{sp}{value_text}"
    negated = draw(st.booleans())
    neg = kw("not") + " " if negated else ""
    if form == "null":
        return IsNull(field, negated), f"{field_text} {kw('is')} {neg}{kw('null')}"
    if form == "like":
        pattern = draw(TEXT)
        ci = draw(st.booleans())
        word = kw("ilike" if ci else "like")
        quoted = _quote(pattern, "'")
        return Like(field, pattern, ci, negated), f"{field_text} {neg}{word} {quoted}"
    values = draw(st.lists(literal, min_size=1, max_size=3))
    listed = ("," + sp).join(t for _, t in values)
    return In(
        field, tuple(v for v, _ in values), negated
    ), f"{field_text} {neg}{kw('in')} ({listed})"


def _grouped(node: Node, text: str) -> str:
    """Parenthesize a boolean operand so that it parses back as one item."""
    return f"({text})" if isinstance(node, BoolOp) else text


@st.composite
def filters(draw: st.DrawFn, depth: int = 0) -> tuple[Node, str]:
    if depth >= 3 or draw(st.integers(0, 2)) == 0:
        return draw(comparisons())
    shape = draw(st.sampled_from(["and", "or", "not", "paren"]))
    kw = draw(KEYWORD_CASES)
    if shape == "paren":
        node, text = draw(filters(depth + 1))
        return node, f"({draw(SPACE)}{text})"
    if shape == "not":
        node, text = draw(filters(depth + 1))
        return Not(node), f"{kw('not')} {_grouped(node, text)}"
    items = draw(st.lists(filters(depth + 1), min_size=2, max_size=3))
    joined = f" {kw(shape)} ".join(_grouped(n, t) for n, t in items)
    return BoolOp(shape, tuple(n for n, _ in items)), joined  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(filters())
def test_generated_filters_parse_to_their_tree(case: tuple[Node, str]) -> None:
    tree, text = case
    assert _strip(parse_filter(text)) == _strip(tree)


@pytest.fixture(scope="module")
def sqlite_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MetadataStore]:
    """A small SQLite store with runs that have, lack, or hold NaN for each key."""
    store = MetadataStore(f"sqlite:///{Path(tmp_path_factory.mktemp('filters')) / 's.db'}")
    exp = store.experiments.create("e")
    host, pid, started = _process.current()
    for i in range(6):
        run_id = new_id()
        store.runs.create(
            run_id=run_id,
            experiment_id=exp.experiment_id,
            name=f"r{i}",
            parent_run_id=None,
            host=host,
            pid=pid,
            pid_started=started,
            user="u",
            params_={"model": ["rf", "gbm", ""][i % 3], "C": str(i / 10)} if i != 5 else {},
            tags={"team": ["vision", "nlp"][i % 2]} if i != 4 else {},
        )
        values = [0.5 * i, math.nan, math.inf, -1.0, 0.0, 2.0]
        store.runs.log_metrics(
            [(run_id, "acc", values[i], 0, 1), (run_id, "loss", values[-1 - i], 0, 1)]
        )
    yield store
    store.close()


def _ids(store: MetadataStore, text: str) -> set[str]:
    return {r[0] for r in store.search(text).runs}


@settings(max_examples=60, deadline=None)
@given(filters(), filters())
def test_generated_filters_run_on_sqlite_with_boolean_laws(
    sqlite_store: MetadataStore, a: tuple[Node, str], b: tuple[Node, str]
) -> None:
    (tree_a, text_a), (tree_b, text_b) = a, b
    found_a, found_b = _ids(sqlite_store, text_a), _ids(sqlite_store, text_b)
    ga, gb = _grouped(tree_a, text_a), _grouped(tree_b, text_b)

    # SQL's three-valued logic still makes AND an intersection and OR a union,
    # and a run can never match both a filter and its negation.
    assert _ids(sqlite_store, f"{ga} and {gb}") == found_a & found_b
    assert _ids(sqlite_store, f"{ga} or {gb}") == found_a | found_b
    assert not found_a & _ids(sqlite_store, f"not {ga}")
