"""The run filter language: tokenizer and parser.

A filter is parsed once into a small tree that :mod:`ninefold.store.search`
compiles to SQL; nothing is evaluated in Python. Grammar::

    expr       := or
    or         := and ("or" and)*
    and        := unary ("and" unary)*
    unary      := "not" unary | "(" expr ")" | comparison
    comparison := field op literal
                | field ["not"] "in" "(" literal ("," literal)* ")"
                | field ["not"] ("like" | "ilike") string
                | field "is" ["not"] "null"
    field      := ("metrics" | "params" | "tags" | "attributes") "." name | attribute
    op         := "=" | "==" | "!=" | "<>" | "<" | "<=" | ">" | ">="
    literal    := number | 'string' | "string" | true | false | nan | inf | -inf

Names that hold spaces or operators are written in backticks:
``metrics.`val loss` < 0.2``. Keywords are case-insensitive.

Examples::

    metrics.acc > 0.9 and params.model = 'rf'
    (tags.team = 'vision' or tags.team = 'nlp') and status != 'failed'
    params.model in ('rf', 'gbm') and not name like 'debug%'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from ninefold.errors import FilterSyntaxError

Kind = Literal["metric", "param", "tag", "attr"]

ENTITY_ALIASES: dict[str, Kind] = {
    "metrics": "metric",
    "metric": "metric",
    "params": "param",
    "param": "param",
    "parameters": "param",
    "tags": "tag",
    "tag": "tag",
    "attributes": "attr",
    "attribute": "attr",
    "attr": "attr",
    "run": "attr",
}

ATTRIBUTES: dict[str, str] = {
    "run_id": "str",
    "id": "str",
    "name": "str",
    "run_name": "str",
    "status": "str",
    "experiment": "str",
    "experiment_id": "str",
    "parent_run_id": "str",
    "user": "str",
    "host": "str",
    "start_time": "num",
    "end_time": "num",
}

COMPARE_OPS = {
    "=": "=",
    "==": "=",
    "!=": "!=",
    "<>": "!=",
    "<": "<",
    "<=": "<=",
    ">": ">",
    ">=": ">=",
}

Literal_ = str | float | int | bool


@dataclass(frozen=True)
class Field:
    """A reference to a metric, param, tag or run attribute."""

    kind: Kind
    name: str
    position: int


@dataclass(frozen=True)
class Compare:
    """``field op value``."""

    field: Field
    op: str
    value: Literal_
    position: int


@dataclass(frozen=True)
class In:
    """``field [not] in (v1, v2, ...)``."""

    field: Field
    values: tuple[Literal_, ...]
    negated: bool


@dataclass(frozen=True)
class Like:
    """``field [not] like|ilike 'pattern'``."""

    field: Field
    pattern: str
    case_insensitive: bool
    negated: bool


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``."""

    field: Field
    negated: bool


@dataclass(frozen=True)
class BoolOp:
    """``a and b ...`` or ``a or b ...``."""

    op: Literal["and", "or"]
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``not a``."""

    item: Node


Node = Compare | In | Like | IsNull | BoolOp | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``order_by`` entry."""

    field: Field
    descending: bool


@dataclass(frozen=True)
class _Token:
    type: str  # name, string, number, op, lparen, rparen, comma, dot, end
    text: str
    value: str | float | int
    position: int


_TOKEN_RE = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<string>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.|"")*")
  | (?P<backtick>`[^`]*`)
  | (?P<number>(?<![A-Za-z0-9_\-/:])  # not a part of a dotted name such as layer.0
        [-+]?(?:\d+\.?\d*(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)(?![A-Za-z_]))
  | (?P<signed_inf>[-+](?i:infinity|inf)(?![A-Za-z0-9_]))
  | (?P<op><=|>=|!=|<>|==|=|<|>)
  | (?P<lparen>\()
  | (?P<rparen>\))
  | (?P<comma>,)
  | (?P<dot>\.)
  | (?P<name>[A-Za-z_][A-Za-z0-9_\-/:]*)
    """,
    re.VERBOSE,
)

_SPECIAL_NUMBERS = {"nan": float("nan"), "inf": float("inf"), "infinity": float("inf")}


def _unquote(text: str) -> str:
    quote = text[0]
    body = text[1:-1].replace(quote * 2, quote)
    return re.sub(r"\\(.)", r"\1", body)


def tokenize(text: str) -> list[_Token]:
    """Split a filter into tokens; raises :class:`FilterSyntaxError` on a bad character."""
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if m is None:
            char = text[pos]
            if char in "'\"`":
                raise FilterSyntaxError(
                    f"Unterminated {'name' if char == '`' else 'string'} starting at position "
                    f"{pos}; close it with {char}",
                    text,
                    pos,
                )
            raise FilterSyntaxError(f"Unexpected character {char!r}", text, pos)
        kind = m.lastgroup or ""
        raw = m.group()
        if kind == "string":
            tokens.append(_Token("string", raw, _unquote(raw), pos))
        elif kind == "backtick":
            tokens.append(_Token("name", raw, raw[1:-1], pos))
        elif kind == "signed_inf":
            tokens.append(_Token("number", raw, float(raw), pos))
        elif kind == "number":
            number: float | int = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(_Token("number", raw, number, pos))
        elif kind != "ws":
            tokens.append(_Token(kind, raw, raw, pos))
        pos = m.end()
    tokens.append(_Token("end", "", "", len(text)))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def error(self, message: str, tok: _Token | None = None) -> FilterSyntaxError:
        t = tok or self.tok
        found = "end of filter" if t.type == "end" else repr(t.text)
        return FilterSyntaxError(
            f"{message} (found {found} at position {t.position})", self.text, t.position
        )

    def keyword(self, *words: str) -> bool:
        t = self.tok
        return t.type == "name" and not t.text.startswith("`") and t.text.lower() in words

    def advance(self) -> _Token:
        t = self.tok
        self.i += 1
        return t

    def expect(self, type_: str, what: str) -> _Token:
        if self.tok.type != type_:
            raise self.error(f"Expected {what}")
        return self.advance()

    def parse(self) -> Node:
        if self.tok.type == "end":
            raise self.error("Empty filter")
        node = self.parse_or()
        if self.tok.type != "end":
            raise self.error("Expected 'and', 'or' or the end of the filter")
        return node

    def parse_or(self) -> Node:
        items = [self.parse_and()]
        while self.keyword("or"):
            self.advance()
            items.append(self.parse_and())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def parse_and(self) -> Node:
        items = [self.parse_unary()]
        while self.keyword("and"):
            self.advance()
            items.append(self.parse_unary())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def parse_unary(self) -> Node:
        if self.keyword("not"):
            self.advance()
            return Not(self.parse_unary())
        if self.tok.type == "lparen":
            self.advance()
            node = self.parse_or()
            self.expect("rparen", "')'")
            return node
        return self.parse_comparison()

    def parse_field(self) -> Field:
        t = self.tok
        if t.type != "name":
            raise self.error("Expected a field such as metrics.acc, params.lr, tags.team or status")
        self.advance()
        word = str(t.value)
        if self.tok.type == "dot":
            kind = ENTITY_ALIASES.get(word.lower())
            if kind is None:
                raise self.error(
                    f"Unknown entity {word!r}; use metrics., params., tags. or attributes.", t
                )
            self.advance()
            parts = [self.expect("name", f"a {kind} name after '{word}.'")]
            # Dotted names such as params.model.depth: join until the next operator.
            while self.tok.type == "dot" and self.tokens[self.i + 1].type in ("name", "number"):
                self.advance()
                parts.append(self.advance())
            # A number part keeps its spelling: params.layer.05 is "layer.05".
            name = ".".join(p.text if p.type == "number" else str(p.value) for p in parts)
            if kind == "attr" and name not in ATTRIBUTES:
                raise self.error(
                    f"Unknown attribute {name!r}; known: {', '.join(ATTRIBUTES)}", parts[0]
                )
            return Field(kind, name, t.position)
        if word in ATTRIBUTES:
            return Field("attr", word, t.position)
        raise self.error(
            f"Unknown field {word!r}; prefix it with metrics., params. or tags., "
            f"or use an attribute ({', '.join(ATTRIBUTES)})",
            t,
        )

    def parse_literal(self) -> Literal_:
        t = self.tok
        if t.type in ("string", "number"):
            self.advance()
            return t.value
        if t.type == "name" and t.text.lower() in ("true", "false"):
            self.advance()
            return t.text.lower() == "true"
        if t.type == "name" and t.text.lower() in _SPECIAL_NUMBERS:
            self.advance()
            return _SPECIAL_NUMBERS[t.text.lower()]
        raise self.error("Expected a value: a number or a quoted string such as 'rf'")

    def parse_comparison(self) -> Node:
        field = self.parse_field()
        t = self.tok
        if t.type == "op":
            self.advance()
            return Compare(field, COMPARE_OPS[t.text], self.parse_literal(), t.position)
        negated = False
        if self.keyword("is"):
            self.advance()
            if self.keyword("not"):
                self.advance()
                negated = True
            if not self.keyword("null"):
                raise self.error("Expected 'null' after 'is'")
            self.advance()
            return IsNull(field, negated)
        if self.keyword("not"):
            self.advance()
            negated = True
        if self.keyword("in"):
            self.advance()
            self.expect("lparen", "'(' after 'in'")
            values = [self.parse_literal()]
            while self.tok.type == "comma":
                self.advance()
                values.append(self.parse_literal())
            self.expect("rparen", "')' or ',' in the value list")
            return In(field, tuple(values), negated)
        if self.keyword("like", "ilike"):
            ci = self.advance().text.lower() == "ilike"
            pattern = self.tok
            if pattern.type != "string":
                raise self.error("Expected a quoted pattern after 'like', e.g. 'rf%'")
            self.advance()
            return Like(field, str(pattern.value), ci, negated)
        raise self.error("Expected an operator (=, !=, <, <=, >, >=, in, like, is null)")


def parse_filter(text: str) -> Node | None:
    """Parse a filter string; an empty or blank string means "no filter" (None)."""
    if not text or not text.strip():
        return None
    return _Parser(text).parse()


def parse_order_by(entries: list[str] | tuple[str, ...]) -> list[OrderKey]:
    """Parse ``["metrics.acc desc", "start_time"]`` into order keys."""
    keys: list[OrderKey] = []
    for entry in entries:
        p = _Parser(entry)
        field = p.parse_field()
        descending = False
        if p.keyword("desc", "asc"):
            descending = p.advance().text.lower() == "desc"
        if p.tok.type != "end":
            raise p.error("Expected 'asc', 'desc' or the end of the order_by entry")
        keys.append(OrderKey(field, descending))
    return keys
