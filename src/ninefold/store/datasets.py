"""Dataset versions: a name, a content fingerprint, and where the profile is stored.

Versions of a name are numbered 1, 2, ... in order of first registration. The
same content (fingerprint) under the same name is always the same version.
"""

from __future__ import annotations

import hashlib
import random
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, func, select, text
from sqlalchemy.exc import IntegrityError as SQLIntegrityError

from ninefold._ids import now_ms
from ninefold._names import MAX_NAME
from ninefold.errors import DatasetNotFound, InvalidName, StoreError
from ninefold.store.database import Database
from ninefold.store.schema import dataset_version_tags, dataset_versions

_LOCK_SPACE = 914592
"""First key of the PostgreSQL advisory lock that serialises registrations per name."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")

_COLUMNS = (
    dataset_versions.c.name,
    dataset_versions.c.version,
    dataset_versions.c.fingerprint,
    dataset_versions.c.num_rows,
    dataset_versions.c.num_columns,
    dataset_versions.c.profile_digest,
    dataset_versions.c.schema_digest,
    dataset_versions.c.run_id,
    dataset_versions.c.source,
    dataset_versions.c.description,
    dataset_versions.c.created_ms,
)


def check_dataset_name(name: object) -> str:
    """A dataset name starts with a letter or digit, then ``[A-Za-z0-9_-.]``."""
    if not isinstance(name, str) or not _NAME.match(name) or len(name) > MAX_NAME:
        raise InvalidName(
            f"Dataset name {name!r} is not allowed: start with a letter or digit and use only "
            f"letters, digits, '_', '-' and '.' (at most {MAX_NAME} chars)."
        )
    return name


@dataclass(frozen=True)
class DatasetVersion:
    """One registered version of a data set.

    Attributes:
        name: the data set's name.
        version: 1, 2, ... per name.
        fingerprint: hex digest of the content.
        num_rows: rows.
        num_columns: columns.
        profile_digest: artifact-store digest of the profile JSON.
        schema_digest: artifact-store digest of a schema YAML stored with it, if any.
        run_id: the run that registered it, if any.
        source: where the data came from (a path or URI), if known.
        description: free text.
        created_ms: when it was registered (UTC ms).
        tags: key/value tags.
    """

    name: str
    version: int
    fingerprint: str
    num_rows: int
    num_columns: int
    profile_digest: str
    schema_digest: str | None
    run_id: str | None
    source: str | None
    description: str | None
    created_ms: int
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        """``datasets:/<name>@<version>``."""
        return f"datasets:/{self.name}@{self.version}"

    @property
    def ref(self) -> str:
        """``<name>@<version>``, as recorded in a run's inputs."""
        return f"{self.name}@{self.version}"

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict."""
        return {
            "name": self.name,
            "version": self.version,
            "uri": self.uri,
            "fingerprint": self.fingerprint,
            "num_rows": self.num_rows,
            "num_columns": self.num_columns,
            "profile_digest": self.profile_digest,
            "schema_digest": self.schema_digest,
            "run_id": self.run_id,
            "source": self.source,
            "description": self.description,
            "created_ms": self.created_ms,
            "tags": dict(self.tags),
        }


class DatasetRepository:
    """The dataset version tables."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def register(
        self,
        name: str,
        *,
        fingerprint: str,
        num_rows: int,
        num_columns: int,
        profile_digest: str,
        schema_digest: str | None = None,
        run_id: str | None = None,
        source: str | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> tuple[DatasetVersion, bool]:
        """The version of ``name`` with this fingerprint, created if new.

        Returns:
            The version and whether it was created now.
        """
        check_dataset_name(name)

        lock_key = int.from_bytes(hashlib.blake2b(name.encode(), digest_size=4).digest(), "big")

        def work(conn: Connection) -> tuple[int, bool]:
            if self._db.dialect == "postgresql":
                # Serialise registrations of one name (SQLite writes are serial already).
                conn.execute(
                    text("SELECT pg_advisory_xact_lock(:space, :key)"),
                    {"space": _LOCK_SPACE, "key": lock_key - 2**31},
                )
            existing = conn.execute(
                select(dataset_versions.c.version).where(
                    dataset_versions.c.name == name,
                    dataset_versions.c.fingerprint == fingerprint,
                )
            ).scalar()
            if existing is not None:
                return int(existing), False
            latest = conn.execute(
                select(func.max(dataset_versions.c.version)).where(dataset_versions.c.name == name)
            ).scalar()
            version = int(latest or 0) + 1
            conn.execute(
                dataset_versions.insert().values(
                    name=name,
                    version=version,
                    fingerprint=fingerprint,
                    num_rows=num_rows,
                    num_columns=num_columns,
                    profile_digest=profile_digest,
                    schema_digest=schema_digest,
                    run_id=run_id,
                    source=source,
                    description=description,
                    created_ms=now_ms(),
                )
            )
            if tags:
                conn.execute(
                    dataset_version_tags.insert(),
                    [
                        {"name": name, "version": version, "key": k, "value": str(v)}
                        for k, v in tags.items()
                    ],
                )
            return version, True

        for attempt in range(5):
            try:
                version, created = self._db.write(work)
                break
            except SQLIntegrityError as exc:
                # A concurrent writer took the number (or the same content): look again.
                time.sleep(0.01 * (attempt + 1) * (1 + random.random()))
                if attempt == 4:
                    raise StoreError(
                        f"Could not register dataset {name!r}: concurrent writers kept "
                        f"colliding ({exc.orig})."
                    ) from exc
        return self.get(name, version), created

    def get(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (the latest when ``version`` is None)."""
        found = self.list_versions(name, version=version, limit=1)
        if found:
            return found[0]
        known = self.list_versions(name, limit=1)
        if not known:
            names = self.names()[:10]
            raise DatasetNotFound(
                f"No dataset named {name!r}. Known data sets: {names or 'none'}. Log one with "
                "nf.log_dataset(data, name=...)."
            )
        raise DatasetNotFound(
            f"Dataset {name!r} has no version {version}; its latest is {known[0].version}."
        )

    def list_versions(
        self, name: str, version: int | None = None, limit: int | None = None
    ) -> list[DatasetVersion]:
        """Versions of ``name``, newest first."""
        query = (
            select(*_COLUMNS)
            .where(dataset_versions.c.name == name)
            .order_by(dataset_versions.c.version.desc())
        )
        if version is not None:
            query = query.where(dataset_versions.c.version == version)
        if limit is not None:
            query = query.limit(limit)
        return self._load(query)

    def find(self, fingerprint: str) -> list[DatasetVersion]:
        """Every version (of any name) with this content fingerprint."""
        query = (
            select(*_COLUMNS)
            .where(dataset_versions.c.fingerprint == fingerprint)
            .order_by(dataset_versions.c.name, dataset_versions.c.version)
        )
        return self._load(query)

    def versions_of_run(self, run_id: str) -> list[DatasetVersion]:
        """Versions registered by a run."""
        query = (
            select(*_COLUMNS)
            .where(dataset_versions.c.run_id == run_id)
            .order_by(dataset_versions.c.name, dataset_versions.c.version)
        )
        return self._load(query)

    def names(self) -> list[str]:
        """Every dataset name, sorted."""
        with self._db.read() as conn:
            return list(
                conn.execute(
                    select(dataset_versions.c.name).distinct().order_by(dataset_versions.c.name)
                ).scalars()
            )

    def _load(self, query: Any) -> list[DatasetVersion]:
        with self._db.read() as conn:
            rows = conn.execute(query).all()
            keys = {(r[0], r[1]) for r in rows}
            tags: dict[tuple[str, int], dict[str, str]] = {}
            names = sorted({r[0] for r in rows})
            if names:
                for n, v, key, value in conn.execute(
                    select(
                        dataset_version_tags.c.name,
                        dataset_version_tags.c.version,
                        dataset_version_tags.c.key,
                        dataset_version_tags.c.value,
                    ).where(dataset_version_tags.c.name.in_(names))
                ):
                    if (n, v) in keys:
                        tags.setdefault((n, v), {})[key] = value
        return [_version(r, tags.get((r[0], r[1]), {})) for r in rows]


def _version(row: Any, tags: dict[str, str]) -> DatasetVersion:
    return DatasetVersion(
        name=row[0],
        version=int(row[1]),
        fingerprint=row[2],
        num_rows=int(row[3]),
        num_columns=int(row[4]),
        profile_digest=row[5],
        schema_digest=row[6],
        run_id=row[7],
        source=row[8],
        description=row[9],
        created_ms=int(row[10]),
        tags=tags,
    )
