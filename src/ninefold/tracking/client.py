"""The tracking client: one metadata store plus one artifact store.

:class:`Client` is the non-fluent API; the functions in
:mod:`ninefold.tracking.fluent` (``nf.start_run`` ...) use the client of the
current settings, opened once per process.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ninefold._names import check_artifact_path, check_key, param_value
from ninefold.artifacts import ArtifactStore, BlobInfo
from ninefold.config import Settings, load_settings
from ninefold.errors import ArtifactNotFound, InvalidArgument, RunNotFound
from ninefold.store import ArtifactEntry, MetadataStore, MetricPoint, Run, RunInput, RunStatus

if TYPE_CHECKING:
    import pandas as pd
    import polars as pl

Output = Literal["polars", "pandas", "records"]


def storage_options(root: str) -> dict[str, Any]:
    """fsspec options for the artifact root, from ``NINEFOLD_S3_ENDPOINT_URL`` for S3."""
    endpoint = os.environ.get("NINEFOLD_S3_ENDPOINT_URL")
    if root.startswith("s3://") and endpoint:
        return {"client_kwargs": {"endpoint_url": endpoint}}
    return {}


def artifact_path(local: Path, artifact_dir: str | None) -> str:
    """Where a local file lands inside a run: ``artifact_dir/name``."""
    prefix = (artifact_dir or "").strip("/")
    name = local.name
    return f"{prefix}/{name}" if prefix else name


class Client:
    """Read and write runs, metrics and artifacts.

    Args:
        store_url: metadata store URL; defaults to the current settings.
        artifact_root: artifact store root; defaults to the current settings.
    """

    def __init__(
        self,
        store_url: str | None = None,
        artifact_root: str | None = None,
        *,
        settings: Settings | None = None,
    ) -> None:
        if store_url is None or artifact_root is None:
            settings = settings or load_settings()
        self.settings = settings
        self.store_url = store_url or (settings.store_url if settings else "")
        self.artifact_root = artifact_root or (settings.artifact_root if settings else "")
        self.store = MetadataStore(self.store_url)
        self.artifacts = ArtifactStore(self.artifact_root, storage_options(self.artifact_root))

    def close(self) -> None:
        """Release database connections."""
        self.store.close()

    # -- runs ------------------------------------------------------------

    def get_run(self, run_id: str) -> Run:
        """A run with its params, tags and latest metric values."""
        return self.store.runs.get(run_id)

    def log_params(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Log params (immutable: a different value for a logged key is an error)."""
        self.store.runs.log_params(
            run_id, {check_key(k, "Param"): param_value(v, k) for k, v in values.items()}
        )

    def set_tags(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Set tags (mutable)."""
        self.store.runs.set_tags(run_id, {check_key(k, "Tag"): str(v) for k, v in values.items()})

    def metric_history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric, by step."""
        self.store.runs.get(run_id)
        return self.store.runs.metric_history(run_id, key)

    def set_status(self, run_id: str, status: RunStatus | str) -> None:
        """Set a run's status (``finished``, ``failed``, ``killed`` ...)."""
        try:
            st = RunStatus(status)
        except ValueError as exc:
            known = ", ".join(s.value for s in RunStatus)
            raise InvalidArgument(f"Unknown run status {status!r}; use one of: {known}.") from exc
        self.store.runs.set_status(run_id, st)

    def inputs(self, run_id: str) -> list[RunInput]:
        """What the run consumed (dataset versions, models, ...)."""
        return self.store.runs.inputs(run_id)

    # -- artifacts -------------------------------------------------------

    def log_artifact(
        self, run_id: str, local_path: str | os.PathLike[str], artifact_dir: str | None = None
    ) -> ArtifactEntry:
        """Store a local file as an artifact of a run."""
        src = Path(local_path)
        if src.is_dir():
            raise InvalidArgument(
                f"Cannot log {str(src)!r} as one artifact: it is a folder; use log_artifacts()."
            )
        path = check_artifact_path(artifact_path(src, artifact_dir))
        info = self.artifacts.put_file(src)
        entry = ArtifactEntry(path, info.digest, info.size)
        self.store.runs.add_artifacts(run_id, [entry])
        return entry

    def log_artifacts(
        self, run_id: str, local_dir: str | os.PathLike[str], artifact_dir: str | None = None
    ) -> list[ArtifactEntry]:
        """Store every file under a local folder, keeping relative paths."""
        root = Path(local_dir)
        if not root.is_dir():
            raise ArtifactNotFound(f"Cannot log {str(root)!r}: no such directory.")
        prefix = (artifact_dir or "").strip("/")
        files = {}
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            rel = path.relative_to(root).as_posix()
            files[check_artifact_path(f"{prefix}/{rel}" if prefix else rel)] = path
        entries = []
        for name, path in files.items():
            info = self.artifacts.put_file(path)
            entries.append(ArtifactEntry(name, info.digest, info.size))
        self.store.runs.add_artifacts(run_id, entries)
        return entries

    def log_bytes(self, run_id: str, data: bytes, path: str) -> ArtifactEntry:
        """Store bytes as the artifact ``path`` of a run."""
        check_artifact_path(path)
        info: BlobInfo = self.artifacts.put_bytes(data)
        entry = ArtifactEntry(path.strip("/"), info.digest, info.size)
        self.store.runs.add_artifacts(run_id, [entry])
        return entry

    def list_artifacts(self, run_id: str, path: str = "") -> list[ArtifactEntry]:
        """Files logged to a run under ``path`` (all when empty)."""
        self.store.runs.get(run_id)
        return self.store.runs.list_artifacts(run_id, path)

    def _entries(self, run_id: str, path: str) -> list[ArtifactEntry]:
        entries = self.list_artifacts(run_id, path)
        if not entries:
            known = [e.path for e in self.store.runs.list_artifacts(run_id)][:10]
            raise ArtifactNotFound(
                f"Run {run_id} has no artifact at {path!r}. Its artifacts: {known or 'none'}."
            )
        return entries

    def read_artifact(self, run_id: str, path: str) -> bytes:
        """The bytes of one artifact file, hash-checked."""
        entries = [e for e in self._entries(run_id, path) if e.path == path.strip("/")]
        if not entries:
            raise ArtifactNotFound(
                f"{path!r} in run {run_id} is a folder; read one of its files or download it."
            )
        return self.artifacts.read_bytes(entries[0].digest, f"runs:/{run_id}/{entries[0].path}")

    def read_text(self, run_id: str, path: str) -> str:
        """An artifact decoded as UTF-8 text."""
        return self.read_artifact(run_id, path).decode("utf-8")

    def read_dict(self, run_id: str, path: str) -> Any:
        """An artifact parsed as JSON (``.json``) or YAML (``.yaml``/``.yml``)."""
        text = self.read_text(run_id, path)
        if path.endswith((".yaml", ".yml")):
            import yaml

            return yaml.safe_load(text)
        return json.loads(text)

    def download_artifacts(
        self, run_id: str, path: str = "", dst: str | os.PathLike[str] | None = None
    ) -> Path:
        """Copy a file or folder of a run's artifacts to ``dst``; returns the local path.

        A single file lands at ``dst/<name>``; a folder keeps its layout under ``dst``.
        """
        entries = self._entries(run_id, path)
        target = Path(dst) if dst is not None else Path.cwd()
        prefix = path.strip("/")
        single = len(entries) == 1 and entries[0].path == prefix
        base = prefix.rsplit("/", 1)[0] if single and "/" in prefix else ("" if single else prefix)
        for e in entries:
            rel = e.path[len(base) :].lstrip("/") if base else e.path
            self.artifacts.download(e.digest, target / rel, f"runs:/{run_id}/{e.path}")
        return target / (Path(prefix).name if single else "") if prefix else target

    # -- search ----------------------------------------------------------

    def search_runs(
        self,
        filter: str = "",
        order_by: Sequence[str] = (),
        max_results: int | None = 1000,
        experiments: Sequence[str] | None = None,
        output: Output = "polars",
    ) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
        """Runs matching ``filter``, as a DataFrame (see :func:`ninefold.search_runs`)."""
        from ninefold.tracking.frames import to_output

        if max_results is not None and (not isinstance(max_results, int) or max_results < 1):
            raise InvalidArgument(
                f"max_results must be a positive integer or None, got {max_results!r}."
            )
        exp_ids = None
        if experiments is not None:
            exp_ids = [self.store.experiments.get(e).experiment_id for e in experiments]
        result = self.store.search(filter, list(order_by), exp_ids, max_results)
        return to_output(result, output)

    def compare_runs(
        self, run_ids: Sequence[str], output: Output = "polars"
    ) -> pl.DataFrame | pd.DataFrame | list[dict[str, Any]]:
        """Params, metrics and tags of runs side by side: one row per key, one column per run."""
        from ninefold.tracking.frames import compare_frame

        run_ids = list(dict.fromkeys(run_ids))  # each run once, in the order given
        found = self.store.runs.get_many(run_ids)
        missing = [r for r in run_ids if r not in found]
        if missing:
            raise RunNotFound(
                f"Cannot compare: no run with id {missing[0]!r}. List runs with: ninefold runs list"
            )
        return compare_frame([found[r] for r in run_ids], output)


_clients: dict[tuple[str, str], Client] = {}
_clients_lock = threading.Lock()


def get_client() -> Client:
    """The client for the current settings, opened once per process and settings."""
    settings = load_settings()
    key = (settings.store_url, settings.artifact_root)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = Client(settings=settings)
        return client


def reset_clients() -> None:
    """Close and forget cached clients (after settings change; a forked child needs no call)."""
    with _clients_lock:
        for client in _clients.values():
            client.close()
        _clients.clear()


_inherited: list[Client] = []


def _after_fork_in_child() -> None:
    # A forked child shares the parent's pooled database connections: talking
    # on them, or closing them, breaks the parent's sessions. Keep the
    # inherited clients referenced (never used, never finalized) and open
    # fresh ones on first use.
    global _clients_lock
    _clients_lock = threading.Lock()
    _inherited.extend(_clients.values())
    _clients.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
