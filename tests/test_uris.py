"""The one URI parser: runs:/, models:/ and datasets:/ forms, and the errors for bad ones."""

from __future__ import annotations

from typing import Any

import pytest

from ninefold import parse_uri
from ninefold.errors import InvalidArgument
from ninefold.uris import DatasetURI, ModelURI, RunArtifactURI

ACCEPTED_FORMS = (
    "runs:/<run_id>/<path>",
    "models:/<name>@<alias>",
    "models:/<name>/<version>",
    "datasets:/<name>@<version>",
)


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("runs:/0abc12/model/model.skops", RunArtifactURI("0abc12", "model/model.skops")),
        ("runs:/0abc12/notes.txt", RunArtifactURI("0abc12", "notes.txt")),
        ("runs:/0abc12/reports/", RunArtifactURI("0abc12", "reports")),
        ("runs:/0abc12", RunArtifactURI("0abc12", "")),
        ("models:/churn@champion", ModelURI("churn", alias="champion")),
        ("models:/churn/3", ModelURI("churn", version=3)),
        ("models:/churn-v2.1/12", ModelURI("churn-v2.1", version=12)),
        ("datasets:/iris@4", DatasetURI("iris", "4")),
        ("datasets:/iris", DatasetURI("iris", None)),
    ],
)
def test_parses_each_form(uri: str, expected: Any) -> None:
    assert parse_uri(uri) == expected


def test_model_uri_sets_exactly_one_of_version_and_alias() -> None:
    by_alias = parse_uri("models:/m@prod")
    by_version = parse_uri("models:/m/7")
    assert isinstance(by_alias, ModelURI)
    assert isinstance(by_version, ModelURI)
    assert (by_alias.version, by_alias.alias) == (None, "prod")
    assert (by_version.version, by_version.alias) == (7, None)
    assert isinstance(by_version.version, int)


@pytest.mark.parametrize("uri", ["models:/n/0", "models:/n/-1", "models:/n/x", "models:/n/1.5"])
def test_model_version_must_be_a_positive_integer(uri: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_uri(uri)
    message = str(info.value)
    assert uri in message
    assert "positive integer" in message
    assert "@alias" in message


@pytest.mark.parametrize(
    "uri",
    [
        "foo:/x",
        "s3://bucket/key",
        "models:/",
        "models:/name",
        "models:/a/b/c",
        "models:/n@",
        "runs:/",
        "datasets:/a/b",
        "",
        "/local/path",
    ],
)
def test_bad_forms_name_the_accepted_forms(uri: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_uri(uri)
    message = str(info.value)
    assert repr(uri) in message
    for form in ACCEPTED_FORMS:
        assert form in message


@pytest.mark.parametrize("value", [None, 3, b"models:/m/1", ["models:/m/1"]])
def test_non_string_is_rejected_with_its_type(value: Any) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_uri(value)
    message = str(info.value)
    assert type(value).__name__ in message
    for form in ACCEPTED_FORMS:
        assert form in message
