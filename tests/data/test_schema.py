"""Schema YAML: round trip, readability, strict loading with clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ninefold.data import ColumnSchema, DatasetRules, DriftRule, Range, Schema
from ninefold.data.schema import CountRange, Outliers
from ninefold.errors import SchemaError


def _full() -> Schema:
    return Schema(
        {
            "age": ColumnSchema(
                "integer",
                range=Range(0, 130),
                max_out_of_range_fraction=0.001,
                outliers=Outliers(z=7.0, center=40.0, scale=12.5),
                drift=DriftRule(threshold=0.2, metric="psi"),
                skew=DriftRule(enabled=False),
            ),
            "plan": ColumnSchema(
                "string",
                max_null_fraction=0.05,
                categories=["basic", "pro", "yes", "1"],
                max_unseen_fraction=0.01,
                min_domain_coverage=1.0,
                distinct=CountRange(min=2, max=10),
            ),
            "signup": ColumnSchema("datetime", required=False, range=Range("2020-01-01", None)),
            "id": ColumnSchema("string", unique=True, description="customer key"),
        },
        DatasetRules(min_rows=10, max_rows=10_000, keys=["id"], max_duplicate_fraction=0.0),
    )


def test_yaml_round_trip_is_exact(tmp_path: Path) -> None:
    schema = _full()
    path = schema.save(tmp_path / "schema.yaml")
    assert Schema.load(path) == schema


def test_yaml_is_readable_and_omits_defaults() -> None:
    text = _full().to_yaml()
    assert text.startswith("# ninefold data schema")
    data = yaml.safe_load(text)
    assert list(data) == ["format", "dataset", "columns"]
    assert data["columns"]["id"] == {
        "type": "string",
        "unique": True,
        "description": "customer key",
    }
    assert "range: {min: 0, max: 130}" in text
    # Strings that YAML would read as booleans or numbers stay strings.
    assert data["columns"]["plan"]["categories"] == ["basic", "pro", "yes", "1"]


def test_typo_key_names_the_key_and_the_valid_keys(tmp_path: Path) -> None:
    path = tmp_path / "schema.yaml"
    path.write_text("columns:\n  age:\n    type: integer\n    max_nul_fraction: 0.1\n")
    with pytest.raises(SchemaError) as info:
        Schema.load(path)
    message = str(info.value)
    assert "Unknown key 'max_nul_fraction' in columns.age" in message
    assert "Did you mean 'max_null_fraction'?" in message
    assert "Valid keys: type, required, max_null_fraction" in message
    assert str(path) in message


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("colums: {}\n", "Unknown key 'colums' in schema. Did you mean 'columns'?"),
        ("columns:\n  a: {type: number}\n", "columns.a.type must be one of integer, float"),
        ("columns:\n  a: {required: true}\n", "columns.a needs a 'type'"),
        ("columns:\n  a: {type: float, max_null_fraction: 2}\n", "must be between 0.0 and 1.0"),
        ("columns:\n  a: {type: float, range: {min: 5, max: 1}}\n", "min 5 is above max 1"),
        ("columns:\n  a: {type: float, range: {low: 1}}\n", "Unknown key 'low' in columns.a.range"),
        ("columns:\n  a: {type: float, unique: 'yes'}\n", "columns.a.unique must be true or false"),
        ("columns:\n  a: {type: float, range: {min: abc}}\n", "must be a number or an ISO"),
        ("columns:\n  a: {type: string, categories: a}\n", "must be a list of values"),
        ("columns:\n  a: {type: float, drift: {treshold: 1}}\n", "Did you mean 'threshold'?"),
        ("dataset: {keys: [b]}\ncolumns:\n  a: {type: float}\n", "dataset.keys names ['b']"),
        ("dataset: {min_rows: -1}\n", "dataset.min_rows must be a non-negative whole number"),
        ("format: 7\n", "this ninefold reads format 1"),
        ("columns: [a, b]\n", "must map column names to rules"),
        ("columns: {a: {type: float}\n", "not valid YAML"),
        ("", "is empty"),
    ],
)
def test_bad_schemas_are_schema_errors(text: str, expected: str) -> None:
    with pytest.raises(SchemaError, match=None) as info:
        Schema.from_yaml(text)
    assert expected in str(info.value)


def test_missing_schema_file_says_how_to_make_one(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="ninefold data infer"):
        Schema.load(tmp_path / "nope.yaml")


def test_yaml_dates_are_accepted_as_bounds() -> None:
    schema = Schema.from_yaml("columns:\n  t: {type: date, range: {min: 2024-01-31}}\n")
    assert schema["t"].range == Range("2024-01-31", None)
    with pytest.raises(SchemaError, match="no column 'x'"):
        schema["x"]
