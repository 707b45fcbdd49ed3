"""Registered models, their versions, tags and aliases (with history)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, delete, func, select, update

from ninefold._ids import now_ms
from ninefold._names import check_alias, check_model_name
from ninefold.errors import ModelNotFound
from ninefold.store.database import Database
from ninefold.store.records import AliasChange, ModelVersion, RegisteredModel
from ninefold.store.schema import (
    alias_history,
    model_aliases,
    model_tags,
    model_version_tags,
    model_versions,
    registered_models,
)

_VERSION_COLUMNS = (
    model_versions.c.name,
    model_versions.c.version,
    model_versions.c.run_id,
    model_versions.c.artifact_path,
    model_versions.c.digest,
    model_versions.c.size,
    model_versions.c.format,
    model_versions.c.signature,
    model_versions.c.git_commit,
    model_versions.c.description,
    model_versions.c.created_ms,
)


class ModelRepository:
    """The model registry's tables."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._upsert = db.insert

    def create_version(
        self,
        name: str,
        *,
        run_id: str | None,
        artifact_path: str,
        digest: str,
        size: int,
        format: str,
        signature: dict[str, Any] | None,
        git_commit: str | None,
        description: str | None = None,
        tags: Mapping[str, str] | None = None,
    ) -> int:
        """Register the next version of ``name`` (creating the model if new); returns its number."""
        check_model_name(name)
        stamp = now_ms()

        def work(conn: Connection) -> int:
            conn.execute(
                self._upsert(registered_models)
                .values(name=name, description=None, created_ms=stamp, updated_ms=stamp)
                .on_conflict_do_nothing()
            )
            # Lock the model row so concurrent registrations get distinct numbers.
            conn.execute(
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(updated_ms=stamp)
            )
            latest = conn.execute(
                select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
            ).scalar()
            version = int(latest or 0) + 1
            conn.execute(
                model_versions.insert().values(
                    name=name,
                    version=version,
                    run_id=run_id,
                    artifact_path=artifact_path,
                    digest=digest,
                    size=size,
                    format=format,
                    signature=None if signature is None else json.dumps(signature),
                    git_commit=git_commit,
                    description=description,
                    created_ms=stamp,
                )
            )
            if tags:
                conn.execute(
                    model_version_tags.insert(),
                    [
                        {"name": name, "version": version, "key": k, "value": v}
                        for k, v in tags.items()
                    ],
                )
            return version

        return self._db.write(work)

    def _missing(self, name: str) -> ModelNotFound:
        with self._db.read() as conn:
            known = list(
                conn.execute(
                    select(registered_models.c.name).order_by(registered_models.c.name).limit(11)
                ).scalars()
            )
        listing = ", ".join(known[:10]) + (", ..." if len(known) > 10 else "") or "none yet"
        return ModelNotFound(
            f"No registered model named {name!r} (registered: {listing}). "
            "List them with: ninefold models list"
        )

    def get_model(self, name: str) -> RegisteredModel:
        """A registered model with its aliases, tags and latest version number."""
        models = self.list_models(name=name)
        if not models:
            raise self._missing(name)
        return models[0]

    def list_models(self, name: str | None = None) -> list[RegisteredModel]:
        """All registered models (or the one named), sorted by name."""
        query = select(
            registered_models.c.name,
            registered_models.c.description,
            registered_models.c.created_ms,
            registered_models.c.updated_ms,
        ).order_by(registered_models.c.name)
        if name is not None:
            query = query.where(registered_models.c.name == name)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
            names = [r[0] for r in rows]
            latest = dict(
                conn.execute(
                    select(model_versions.c.name, func.max(model_versions.c.version))
                    .where(model_versions.c.name.in_(names))
                    .group_by(model_versions.c.name)
                ).all()
            )
            aliases: dict[str, dict[str, int]] = {}
            for n, alias, version in conn.execute(
                select(model_aliases.c.name, model_aliases.c.alias, model_aliases.c.version).where(
                    model_aliases.c.name.in_(names)
                )
            ):
                aliases.setdefault(n, {})[alias] = version
            tags: dict[str, dict[str, str]] = {}
            for n, key, value in conn.execute(
                select(model_tags.c.name, model_tags.c.key, model_tags.c.value).where(
                    model_tags.c.name.in_(names)
                )
            ):
                tags.setdefault(n, {})[key] = value
        return [
            RegisteredModel(
                name=r[0],
                description=r[1],
                created_ms=r[2],
                updated_ms=r[3],
                latest_version=latest.get(r[0]),
                aliases=aliases.get(r[0], {}),
                tags=tags.get(r[0], {}),
            )
            for r in rows
        ]

    def get_version(self, name: str, version: int) -> ModelVersion:
        """One version; raises :class:`ModelNotFound` naming what exists."""
        found = self.list_versions(name, version=version)
        if not found:
            model = self.get_model(name)
            raise ModelNotFound(
                f"Model {name!r} has no version {version}; its latest is {model.latest_version}."
            )
        return found[0]

    def list_versions(
        self, name: str, version: int | None = None, run_id: str | None = None
    ) -> list[ModelVersion]:
        """Versions of ``name``, newest first."""
        query = (
            select(*_VERSION_COLUMNS)
            .where(model_versions.c.name == name)
            .order_by(model_versions.c.version.desc())
        )
        if version is not None:
            query = query.where(model_versions.c.version == version)
        if run_id is not None:
            query = query.where(model_versions.c.run_id == run_id)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
            aliases: dict[int, list[str]] = {}
            for alias, v in conn.execute(
                select(model_aliases.c.alias, model_aliases.c.version)
                .where(model_aliases.c.name == name)
                .order_by(model_aliases.c.alias)
            ):
                aliases.setdefault(v, []).append(alias)
            tags: dict[int, dict[str, str]] = {}
            for v, key, value in conn.execute(
                select(
                    model_version_tags.c.version,
                    model_version_tags.c.key,
                    model_version_tags.c.value,
                ).where(model_version_tags.c.name == name)
            ):
                tags.setdefault(v, {})[key] = value
        return [_version(r, tuple(aliases.get(r[1], ())), tags.get(r[1], {})) for r in rows]

    def versions_of_run(self, run_id: str) -> list[ModelVersion]:
        """Model versions registered from a run."""
        with self._db.read() as conn:
            names = list(
                conn.execute(
                    select(model_versions.c.name)
                    .where(model_versions.c.run_id == run_id)
                    .distinct()
                ).scalars()
            )
        return [v for n in names for v in self.list_versions(n, run_id=run_id)]

    def resolve_alias(self, name: str, alias: str) -> int:
        """The version number an alias points at."""
        with self._db.read() as conn:
            version = conn.execute(
                select(model_aliases.c.version).where(
                    model_aliases.c.name == name, model_aliases.c.alias == alias
                )
            ).scalar()
        if version is None:
            model = self.get_model(name)
            known = ", ".join(sorted(model.aliases)) or "none"
            raise ModelNotFound(
                f"Model {name!r} has no alias {alias!r} (aliases: {known}). "
                f"Set one with: ninefold models alias {name} {alias} VERSION"
            )
        return int(version)

    def set_alias(self, name: str, alias: str, version: int, user: str) -> int | None:
        """Point ``alias`` at ``version``; returns the version it pointed at before."""
        check_alias(alias)
        self.get_version(name, version)
        stamp = now_ms()

        def work(conn: Connection) -> int | None:
            previous = conn.execute(
                select(model_aliases.c.version).where(
                    model_aliases.c.name == name, model_aliases.c.alias == alias
                )
            ).scalar()
            stmt = self._upsert(model_aliases).values(
                name=name, alias=alias, version=version, updated_ms=stamp
            )
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[model_aliases.c.name, model_aliases.c.alias],
                    set_={"version": stmt.excluded.version, "updated_ms": stmt.excluded.updated_ms},
                )
            )
            conn.execute(
                alias_history.insert().values(
                    name=name,
                    alias=alias,
                    version=version,
                    previous_version=previous,
                    changed_ms=stamp,
                    user=user,
                )
            )
            return None if previous is None else int(previous)

        return self._db.write(work)

    def move_alias_if(
        self, name: str, alias: str, version: int, expected: int | None, user: str
    ) -> bool:
        """Point ``alias`` at ``version`` only if it still points at ``expected`` (None: unset).

        A compare-and-set for decisions made on what the alias pointed at (a
        promotion gate): returns False, changing nothing, when another writer
        moved the alias in between.
        """
        check_alias(alias)
        self.get_version(name, version)
        stamp = now_ms()

        current = select(model_aliases.c.version).where(
            model_aliases.c.name == name, model_aliases.c.alias == alias
        )

        def work(conn: Connection) -> bool:
            if expected is None:
                if conn.execute(current).scalar() is not None:
                    return False
                conn.execute(
                    self._upsert(model_aliases)
                    .values(name=name, alias=alias, version=version, updated_ms=stamp)
                    .on_conflict_do_nothing()
                )
                # (Drivers report no row count for an insert that may do nothing.)
                if conn.execute(current).scalar() != version:
                    return False
            else:
                moved = conn.execute(
                    update(model_aliases)
                    .where(
                        model_aliases.c.name == name,
                        model_aliases.c.alias == alias,
                        model_aliases.c.version == expected,
                    )
                    .values(version=version, updated_ms=stamp)
                )
                if moved.rowcount != 1:
                    return False
            conn.execute(
                alias_history.insert().values(
                    name=name,
                    alias=alias,
                    version=version,
                    previous_version=expected,
                    changed_ms=stamp,
                    user=user,
                )
            )
            return True

        return self._db.write(work)

    def delete_alias(self, name: str, alias: str, user: str) -> None:
        """Remove an alias; raises :class:`ModelNotFound` if it is not set."""
        previous = self.resolve_alias(name, alias)

        def work(conn: Connection) -> None:
            conn.execute(
                delete(model_aliases).where(
                    model_aliases.c.name == name, model_aliases.c.alias == alias
                )
            )
            conn.execute(
                alias_history.insert().values(
                    name=name,
                    alias=alias,
                    version=None,
                    previous_version=previous,
                    changed_ms=now_ms(),
                    user=user,
                )
            )

        self._db.write(work)

    def alias_history(self, name: str, alias: str | None = None) -> list[AliasChange]:
        """Every move of the model's aliases, oldest first."""
        query = select(
            alias_history.c.name,
            alias_history.c.alias,
            alias_history.c.version,
            alias_history.c.previous_version,
            alias_history.c.changed_ms,
            alias_history.c.user,
        ).where(alias_history.c.name == name)
        if alias is not None:
            query = query.where(alias_history.c.alias == alias)
        with self._db.read() as conn:
            rows = conn.execute(query.order_by(alias_history.c.id)).all()
        return [AliasChange(*r) for r in rows]

    def set_model_tag(self, name: str, key: str, value: str) -> None:
        """Set a tag on the registered model."""
        self.get_model(name)
        stmt = self._upsert(model_tags).values(name=name, key=key, value=value)
        self._db.write(
            lambda conn: conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[model_tags.c.name, model_tags.c.key],
                    set_={"value": stmt.excluded.value},
                )
            )
        )

    def set_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set a tag on one version."""
        self.get_version(name, version)
        stmt = self._upsert(model_version_tags).values(
            name=name, version=version, key=key, value=value
        )
        self._db.write(
            lambda conn: conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=[
                        model_version_tags.c.name,
                        model_version_tags.c.version,
                        model_version_tags.c.key,
                    ],
                    set_={"value": stmt.excluded.value},
                )
            )
        )

    def set_description(self, name: str, description: str, version: int | None = None) -> None:
        """Set the description of a model, or of one version."""
        if version is None:
            self.get_model(name)
            stmt: Any = (
                update(registered_models)
                .where(registered_models.c.name == name)
                .values(description=description, updated_ms=now_ms())
            )
        else:
            self.get_version(name, version)
            stmt = (
                update(model_versions)
                .where(model_versions.c.name == name, model_versions.c.version == version)
                .values(description=description)
            )
        self._db.write(lambda conn: conn.execute(stmt))


def _version(row: Any, aliases: tuple[str, ...], tags: dict[str, str]) -> ModelVersion:
    return ModelVersion(
        name=row[0],
        version=row[1],
        run_id=row[2],
        artifact_path=row[3],
        digest=row[4],
        size=row[5],
        format=row[6],
        signature=None if row[7] is None else json.loads(row[7]),
        git_commit=row[8],
        description=row[9],
        created_ms=row[10],
        aliases=aliases,
        tags=tags,
    )
