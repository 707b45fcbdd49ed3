"""Rules for names and keys, checked at the API boundary."""

from __future__ import annotations

import re

from ninefold.errors import InvalidArgument, InvalidName

MAX_KEY = 250
MAX_NAME = 256
MAX_PARAM_VALUE = 8000
MAX_ARTIFACT_PATH = 1024

_KEY = re.compile(r"^[A-Za-z0-9_\-. /:]+$")
_MODEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")
_ALIAS = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")
RESERVED_ALIASES = frozenset({"latest"})


def check_key(key: object, what: str) -> str:
    """Check a param, metric or tag key: letters, digits, ``_-. /:``, at most 250 chars."""
    if not isinstance(key, str) or not key:
        raise InvalidName(f"{what} key must be a non-empty string, got {key!r}.")
    if len(key) > MAX_KEY:
        raise InvalidName(
            f"{what} key {key[:40]!r}... is {len(key)} chars; the limit is {MAX_KEY}."
        )
    if not _KEY.match(key) or key.startswith("/") or ".." in key.split("/"):
        raise InvalidName(
            f"{what} key {key!r} is not allowed: use letters, digits, spaces and _ - . / : "
            "(no leading '/', no '..' segment)."
        )
    return key


def check_artifact_path(path: object) -> str:
    """Check a path inside a run: relative, ``/``-separated, no empty or ``..`` segment."""
    if not isinstance(path, str) or not path.strip("/"):
        raise InvalidName(f"Artifact path must be a non-empty string, got {path!r}.")
    parts = path.split("/")
    bad = (
        path.startswith("/")
        or len(path) > MAX_ARTIFACT_PATH
        or any(p in ("", ".", "..") for p in parts)
        or any(ord(c) < 32 or c == "\\" for c in path)
    )
    if bad:
        raise InvalidName(
            f"Artifact path {path!r} is not allowed: use a relative path with '/' between "
            f"names, no '.', '..' or empty parts, no backslashes or control characters, at "
            f"most {MAX_ARTIFACT_PATH} chars."
        )
    return path


def check_name(name: object, what: str) -> str:
    """Check an experiment or run name: a non-empty string of at most 256 chars."""
    if not isinstance(name, str) or not name.strip():
        raise InvalidName(f"{what} name must be a non-empty string, got {name!r}.")
    if len(name) > MAX_NAME:
        raise InvalidName(f"{what} name is {len(name)} chars; the limit is {MAX_NAME}.")
    return name


def check_model_name(name: object) -> str:
    """Check a registered model name: starts with a letter or digit, then ``[A-Za-z0-9_-.]``."""
    if not isinstance(name, str) or not _MODEL.match(name) or len(name) > MAX_NAME:
        raise InvalidName(
            f"Model name {name!r} is not allowed: start with a letter or digit and use only "
            f"letters, digits, '_', '-' and '.' (at most {MAX_NAME} chars)."
        )
    return name


def check_alias(alias: object) -> str:
    """Check an alias: an identifier such as ``champion``; not a number, not ``latest``."""
    if not isinstance(alias, str) or not _ALIAS.match(alias) or len(alias) > MAX_NAME:
        raise InvalidName(
            f"Alias {alias!r} is not allowed: start with a letter or '_' and use only letters, "
            "digits, '_' and '-' (e.g. 'champion')."
        )
    if alias in RESERVED_ALIASES:
        raise InvalidName(f"Alias {alias!r} is reserved; pick another name.")
    return alias


def param_value(value: object, key: str) -> str:
    """Render a param value as the string that is stored."""
    if isinstance(value, str):
        text = value
    elif isinstance(value, float):
        # repr() of a plain float round-trips exactly; a numpy float's would add "np.float64(".
        text = repr(float(value))
    else:
        text = str(value)
    if len(text) > MAX_PARAM_VALUE:
        raise InvalidArgument(
            f"Param {key!r} value is {len(text)} chars; the limit is {MAX_PARAM_VALUE}. "
            "Log long values as an artifact with log_text() or log_dict()."
        )
    return text
