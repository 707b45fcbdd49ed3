"""One parser for every ninefold URI.

* ``runs:/<run_id>/<path>``: a file (or folder) logged to a run;
* ``models:/<name>@<alias>`` and ``models:/<name>/<version>``: a model version;
* ``datasets:/<name>@<version>``: a dataset version.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ninefold.errors import InvalidArgument


@dataclass(frozen=True)
class RunArtifactURI:
    """``runs:/<run_id>/<path>``."""

    run_id: str
    path: str


@dataclass(frozen=True)
class ModelURI:
    """``models:/<name>/<version>`` or ``models:/<name>@<alias>``; exactly one of both is set."""

    name: str
    version: int | None = None
    alias: str | None = None


@dataclass(frozen=True)
class DatasetURI:
    """``datasets:/<name>@<version>``; version ``None`` means the latest."""

    name: str
    version: str | None = None


URI = RunArtifactURI | ModelURI | DatasetURI

_RUNS = re.compile(r"^runs:/+(?P<run>[0-9A-Za-z_\-]+)(?:/(?P<path>.*))?$")
_MODELS = re.compile(r"^models:/+(?P<name>[^/@]+)(?:/(?P<version>[^/@]+)|@(?P<alias>[^/@]+))$")
_DATASETS = re.compile(r"^datasets:/+(?P<name>[^/@]+)(?:@(?P<version>[^/@]+))?$")

_HELP = (
    "Use runs:/<run_id>/<path>, models:/<name>@<alias>, models:/<name>/<version> "
    "or datasets:/<name>@<version>."
)


def parse_uri(uri: str) -> URI:
    """Parse a ninefold URI; raises :class:`InvalidArgument` naming the accepted forms."""
    if not isinstance(uri, str):
        raise InvalidArgument(f"A URI must be a string, got {type(uri).__name__}. {_HELP}")
    if m := _RUNS.match(uri):
        return RunArtifactURI(m["run"], (m["path"] or "").strip("/"))
    if m := _MODELS.match(uri):
        if m["alias"] is not None:
            return ModelURI(m["name"], alias=m["alias"])
        version = m["version"]
        if not version.isdigit() or int(version) < 1:
            raise InvalidArgument(
                f"{uri!r}: version {version!r} must be a positive integer (or use @alias)."
            )
        return ModelURI(m["name"], version=int(version))
    if m := _DATASETS.match(uri):
        return DatasetURI(m["name"], m["version"])
    raise InvalidArgument(f"{uri!r} is not a ninefold URI. {_HELP}")
