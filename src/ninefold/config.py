"""Settings: where the metadata store and the artifact store live.

Resolution order, first match wins, for each setting:

1. Environment variables ``NINEFOLD_STORE_URL`` and ``NINEFOLD_ARTIFACT_ROOT``.
2. The ``[store]`` table of the project's ``ninefold.toml``::

       [store]
       url = "postgresql://user@db/ninefold"
       artifact_root = "s3://bucket/ninefold"

   Relative paths there (a SQLite file, a local ``artifact_root``) are taken
   from the project root, so every subdirectory sees the same stores.

3. Defaults: ``.ninefold/ninefold.db`` (SQLite) and ``.ninefold/artifacts`` under
   the project root.

The project root is the nearest directory at or above the working directory
holding a ``ninefold.toml`` file or a ``.ninefold/`` directory. Outside any
project, ``~/.ninefold`` (or ``NINEFOLD_HOME``) takes its place.
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ninefold.errors import ConfigError

PROJECT_FILE = "ninefold.toml"
DATA_DIR = ".ninefold"


@dataclass(frozen=True)
class Settings:
    """Resolved settings for one process.

    Attributes:
        project_root: the project directory, or None outside any project.
        data_dir: where the embedded store keeps its files.
        store_url: SQLAlchemy URL of the metadata store.
        artifact_root: fsspec URL or local path of the artifact store.
        default_experiment: experiment used when ``start_run`` names none.
        flush_interval_s: how often buffered metrics are written.
        heartbeat_interval_s: how often a running run proves it is alive.
    """

    project_root: Path | None
    data_dir: Path
    store_url: str
    artifact_root: str
    default_experiment: str = "Default"
    flush_interval_s: float = 1.0
    heartbeat_interval_s: float = 15.0


def find_project_root(start: Path | None = None) -> Path | None:
    """Return the nearest ancestor of ``start`` that holds ``ninefold.toml`` or ``.ninefold/``."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / PROJECT_FILE).is_file() or (folder / DATA_DIR).is_dir():
            return folder
    return None


def _read_project_file(root: Path) -> dict[str, Any]:
    path = root / PROJECT_FILE
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}. Fix the file or remove it.") from exc


def _float_setting(table: dict[str, Any], key: str, default: float, where: str) -> float:
    value = table.get(key, default)
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise ConfigError(f"{where}: '{key}' must be a positive number, got {value!r}.")
    return float(value)


def _str_setting(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and (not isinstance(value, str) or not value.strip()):
        raise ConfigError(f"{where}: '{key}' must be a non-empty string, got {value!r}.")
    return value


def _project_store_url(url: str, root: Path) -> str:
    """A SQLite path written in ``ninefold.toml`` is relative to the project, not the cwd."""
    if "://" not in url:
        path = Path(url).expanduser()
        return f"sqlite:///{path if path.is_absolute() else root / path}"
    prefix = "sqlite:///"
    if url.startswith(prefix):
        database, sep, query = url[len(prefix) :].partition("?")
        if database and database != ":memory:" and not Path(database).is_absolute():
            return f"{prefix}{root / database}{sep}{query}"
    return url


def load_settings(start: Path | None = None) -> Settings:
    """Resolve settings for the working directory (or ``start``)."""
    root = find_project_root(start)
    if root is not None:
        data_dir = root / DATA_DIR
        project = _read_project_file(root)
    else:
        home = os.environ.get("NINEFOLD_HOME") or Path.home() / DATA_DIR
        data_dir = Path(home).expanduser().resolve()
        project = {}
    store_table = project.get("store", {})
    tracking_table = project.get("tracking", {})
    if not isinstance(store_table, dict) or not isinstance(tracking_table, dict):
        raise ConfigError(f"{root}/{PROJECT_FILE}: [store] and [tracking] must be tables.")
    where = f"{root}/{PROJECT_FILE}"
    tracking = f"{where} [tracking]"
    store_url = os.environ.get("NINEFOLD_STORE_URL")
    if not store_url:
        store_url = _str_setting(store_table, "url", f"{where} [store]")
        if store_url is not None and root is not None:
            store_url = _project_store_url(store_url, root)
    artifact_root = os.environ.get("NINEFOLD_ARTIFACT_ROOT")
    if not artifact_root:
        artifact_root = _str_setting(store_table, "artifact_root", f"{where} [store]")
        if artifact_root is not None and "://" not in artifact_root and root is not None:
            artifact_root = str(root / Path(artifact_root).expanduser())
    if store_url is None:
        store_url = f"sqlite:///{data_dir / 'ninefold.db'}"
    if artifact_root is None:
        artifact_root = str(data_dir / "artifacts")
    return Settings(
        project_root=root,
        data_dir=data_dir,
        store_url=str(store_url),
        artifact_root=str(artifact_root),
        default_experiment=_str_setting(tracking_table, "default_experiment", tracking)
        or "Default",
        flush_interval_s=_float_setting(tracking_table, "flush_interval_s", 1.0, tracking),
        heartbeat_interval_s=_float_setting(tracking_table, "heartbeat_interval_s", 15.0, tracking),
    )
