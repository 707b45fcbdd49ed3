"""Public registry functions: log, find, alias and load model versions."""

from __future__ import annotations

import json
import platform
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ninefold import _process
from ninefold._names import check_alias, check_key, check_model_name
from ninefold.errors import InvalidArgument, ModelNotFound, NoActiveRun, StateError
from ninefold.registry import formats
from ninefold.registry.signature import example_json, infer_signature
from ninefold.store import AliasChange, ArtifactEntry, ModelVersion, RegisteredModel, Run, RunInput
from ninefold.tracking.client import Client, get_client
from ninefold.tracking.fluent import ActiveRun, active_run
from ninefold.uris import ModelURI, parse_uri

_FILE = {"skops": "model.skops", "pickle": "model.pkl"}


def _client(client: Client | None) -> Client:
    return client or get_client()


def log_model(
    model: Any,
    name: str,
    input_example: Any = None,
    *,
    format: str | None = None,
    description: str | None = None,
    tags: Mapping[str, Any] | None = None,
    run: ActiveRun | None = None,
) -> ModelVersion:
    """Store ``model`` in the active run and register it as the next version of ``name``.

    Args:
        model: a scikit-learn estimator (saved with skops) or any picklable object.
        name: registered model name; created on first use.
        input_example: a few rows of input; the signature is inferred from it
            (and the model's prediction on it) and the rows are kept as an artifact.
        format: ``"skops"`` or ``"pickle"``; chosen from the model by default.
        description: text shown with the version.
        tags: tags of the version.
        run: the run to log into (default: the active run).

    Returns:
        The new :class:`ModelVersion`, linked to its run and git commit.

    Example:
        >>> with nf.start_run():  # doctest: +SKIP
        ...     mv = nf.log_model(clf, "churn", input_example=X[:5])
        >>> nf.set_alias("churn", "champion", mv.version)  # doctest: +SKIP
    """
    check_model_name(name)
    version_tags = {check_key(k, "Tag"): str(v) for k, v in (tags or {}).items()}
    run = run or active_run()
    if run is None:
        raise NoActiveRun("log_model needs an active run: call it inside `with nf.start_run():`.")
    if run.ended:
        raise StateError(
            f"Run {run.name!r} ({run.run_id}) has ended; log the model inside an active run."
        )
    fmt = formats.choose_format(model, format)
    data = formats.dump(model, fmt)
    client = run.client
    base = f"models/{name}"
    signature = infer_signature(model, input_example)
    blob = client.log_bytes(run.run_id, data, f"{base}/{_FILE[fmt]}")
    example = example_json(input_example) if input_example is not None else None
    if example is not None:
        client.log_bytes(run.run_id, example.encode(), f"{base}/input_example.json")
    meta = {
        "name": name,
        "format": fmt,
        "class": f"{type(model).__module__}.{type(model).__qualname__}",
        "signature": signature,
        "python": platform.python_version(),
        "sha256": blob.digest,
    }
    client.log_bytes(run.run_id, json.dumps(meta, indent=2).encode(), f"{base}/model.json")
    run_tags = client.get_run(run.run_id).tags
    version = client.store.models.create_version(
        name,
        run_id=run.run_id,
        artifact_path=blob.path,
        digest=blob.digest,
        size=blob.size,
        format=fmt,
        signature=signature,
        git_commit=run_tags.get("ninefold.git.commit"),
        description=description,
        tags=version_tags,
    )
    return client.store.models.get_version(name, version)


def get_model_version(
    uri_or_name: str, version: int | str | None = None, *, client: Client | None = None
) -> ModelVersion:
    """A model version by URI (``models:/name@alias``, ``models:/name/3``) or by name and version.

    ``version`` may be a number, an alias, or None for the latest version.
    """
    if not isinstance(uri_or_name, str):
        raise InvalidArgument(
            f"A model is named by a string (a name or models:/name@alias, models:/name/3), "
            f"got {type(uri_or_name).__name__}."
        )
    c = _client(client)
    if uri_or_name.startswith("models:"):
        if version is not None:
            raise InvalidArgument(
                f"{uri_or_name!r} already names a version; pass either a URI or a name and "
                f"version, not version={version!r} as well."
            )
        uri = parse_uri(uri_or_name)
        assert isinstance(uri, ModelURI)
        name = uri.name
        if uri.alias is not None:
            return c.store.models.get_version(name, c.store.models.resolve_alias(name, uri.alias))
        assert uri.version is not None
        return c.store.models.get_version(name, uri.version)
    if ":/" in uri_or_name:
        raise InvalidArgument(
            f"{uri_or_name!r} is not a model URI; use models:/<name>@<alias> or "
            "models:/<name>/<version> (or a plain model name)."
        )
    name = uri_or_name
    if version is None:
        latest = c.store.models.get_model(name).latest_version
        if latest is None:
            raise ModelNotFound(f"Model {name!r} has no versions yet.")
        return c.store.models.get_version(name, latest)
    if isinstance(version, int) or (isinstance(version, str) and version.isdigit()):
        return c.store.models.get_version(name, int(version))
    return c.store.models.get_version(name, c.store.models.resolve_alias(name, version))


def load_model(
    uri: str, *, trusted: bool | Sequence[str] = False, client: Client | None = None
) -> Any:
    """Load a registered model, after checking its bytes against the stored hash.

    Args:
        uri: ``models:/name@alias`` or ``models:/name/<version>``.
        trusted: True to allow pickles and any skops type; or a list of type
            names to trust. scikit-learn, NumPy and SciPy types are always allowed.
    """
    c = _client(client)
    mv = get_model_version(uri, client=c)
    data = c.artifacts.read_bytes(mv.digest, f"{uri} ({mv.artifact_path})")
    model = formats.load(data, mv.format, trusted, uri)
    current = active_run()
    if current is not None and current.client is c:
        current.log_input("model", f"{mv.name}/{mv.version}", "loaded")
    return model


def set_alias(name: str, alias: str, version: int, *, client: Client | None = None) -> int | None:
    """Point ``alias`` (e.g. ``champion``) at a version; returns the previous version."""
    if isinstance(version, bool) or not isinstance(version, int):
        raise InvalidArgument(f"version must be an integer, got {version!r}.")
    return _client(client).store.models.set_alias(
        check_model_name(name), check_alias(alias), version, _process.username()
    )


def delete_alias(name: str, alias: str, *, client: Client | None = None) -> None:
    """Remove an alias from a model."""
    _client(client).store.models.delete_alias(name, alias, _process.username())


def alias_history(
    name: str, alias: str | None = None, *, client: Client | None = None
) -> list[AliasChange]:
    """Every move of a model's aliases: version before and after, when and by whom.

    Moves are oldest first; a removal has ``version`` None.
    """
    c = _client(client)
    c.store.models.get_model(name)
    return c.store.models.alias_history(name, alias)


def list_models(*, client: Client | None = None) -> list[RegisteredModel]:
    """All registered models with their aliases and latest version."""
    return _client(client).store.models.list_models()


def list_model_versions(name: str, *, client: Client | None = None) -> list[ModelVersion]:
    """Versions of a model, newest first."""
    c = _client(client)
    c.store.models.get_model(name)
    return c.store.models.list_versions(name)


def set_model_version_tag(
    name: str, version: int, key: str, value: Any, *, client: Client | None = None
) -> None:
    """Tag one version (e.g. ``validated=true``)."""
    _client(client).store.models.set_version_tag(name, version, check_key(key, "Tag"), str(value))


def set_model_description(
    name: str, description: str, version: int | None = None, *, client: Client | None = None
) -> None:
    """Describe a model, or one of its versions."""
    _client(client).store.models.set_description(name, description, version)


@dataclass(frozen=True)
class ModelLineage:
    """Where a model version came from."""

    version: ModelVersion
    run: Run | None
    git_commit: str | None
    inputs: list[RunInput]
    files: list[ArtifactEntry]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "model": self.version.to_dict(),
            "run": None if self.run is None else self.run.to_dict(),
            "git_commit": self.git_commit,
            "inputs": [{"kind": i.kind, "ref": i.ref, "context": i.context} for i in self.inputs],
            "files": [{"path": f.path, "digest": f.digest, "size": f.size} for f in self.files],
        }


def model_lineage(uri: str, *, client: Client | None = None) -> ModelLineage:
    """The run, commit, inputs (dataset versions, models) and files behind a model version."""
    c = _client(client)
    mv = get_model_version(uri, client=c)
    if mv.run_id is None or not c.store.runs.exists(mv.run_id):
        return ModelLineage(mv, None, mv.git_commit, [], [])
    run = c.store.runs.get(mv.run_id)
    inputs = c.store.runs.inputs(mv.run_id)
    files = c.store.runs.list_artifacts(mv.run_id, f"models/{mv.name}")
    return ModelLineage(mv, run, mv.git_commit, inputs, files)
