"""The child process of ``ninefold reproduce``: import a pipeline from a worktree and run it.

Started by :func:`ninefold.pipelines.reproduce.reproduce` as
``python -m ninefold.pipelines._reproduce_child SPEC.json`` with the worktree as
its working directory. ninefold itself is already imported (from the installed
package) when the user's code is: the worktree's folders are put first on
``sys.path`` then, in place of the live checkout's, so the pipeline and the
modules it imports come from the recorded commit plus its diff.

The outcome is written as JSON to the file the spec names (stdout belongs to
the user's steps): ``{"stage": "import" | "run" | "done", "run_id": ..., "error": ...}``.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or path.is_relative_to(folder)


def worktree_path(entries: list[str], live: Path, worktree: Path, base: Path) -> list[str]:
    """``sys.path`` with ``base`` first and live-checkout folders swapped for the worktree's.

    A folder inside the live checkout whose counterpart exists in the worktree
    (``src/``, the repository root) is replaced by it and moved to the front; one
    without a counterpart (a virtual environment inside the checkout) is kept.
    """
    front = [str(base)]
    rest: list[str] = []
    for entry in entries:
        resolved = Path(entry or ".").resolve()
        if _inside(resolved, live) and not _inside(resolved, worktree):
            mapped = worktree / resolved.relative_to(live)
            if mapped.is_dir():
                front.append(str(mapped))
                continue
        rest.append(entry)
    out: list[str] = []
    for entry in [*front, *rest]:
        if entry not in out:
            out.append(entry)
    return out


def _source_file(obj: Any) -> Path | None:
    module = sys.modules.get(getattr(obj, "__module__", "") or "")
    file = getattr(module, "__file__", None)
    return Path(file).resolve() if file else None


def _load(spec: dict[str, Any]) -> Any:
    from ninefold.errors import ReproduceError
    from ninefold.pipelines.definition import Pipeline

    live = Path(spec["live_root"]).resolve()
    worktree = Path(spec["worktree"]).resolve()
    sys.path[:] = worktree_path(sys.path, live, worktree, worktree / spec["base"])
    importlib.invalidate_caches()
    module_name, _, qualname = spec["source"].partition(":")
    module = importlib.import_module(module_name)
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if not isinstance(target, Pipeline):
        raise ReproduceError(
            f"{spec['source']} is not a pipeline in the worktree of run {spec['run_id']} "
            f"(found {type(target).__name__})."
        )
    where = Path(getattr(module, "__file__", "") or "").resolve()
    if not _inside(where, worktree):
        raise ReproduceError(
            f"Module {module_name!r} was imported from {where}, not from the worktree "
            f"{worktree}: an installed copy shadows it. Uninstall it or install it in "
            "editable mode."
        )
    graph = target.graph(spec["params"])
    for node in graph.nodes.values():
        file = _source_file(node.step.fn)
        if file is not None and _inside(file, live) and not _inside(file, worktree):
            raise ReproduceError(
                f"Step {node.id!r} ({node.step.qualified_name}) was imported from the live "
                f"checkout ({file}), not from the worktree {worktree}; it would not run the "
                "recorded code."
            )
    return target


def _runs_since(client: Any, pipeline: str, started_ms: int) -> str | None:
    """The pipeline run this process started (when the run raised before returning)."""
    for run_id, _ in client.store.pipelines.pipeline_runs(pipeline, 20):
        run = client.store.runs.get(run_id)
        if run.pid == os.getpid() and run.start_ms >= started_ms:
            return str(run_id)
    return None


def main(argv: list[str]) -> int:
    """Run the reproduction described by the spec file ``argv[0]``; 0 when a result was written."""
    spec = json.loads(Path(argv[0]).read_text())
    result_path = Path(spec["result"])

    def write(stage: str, run_id: str | None, error: str | None) -> None:
        result_path.write_text(json.dumps({"stage": stage, "run_id": run_id, "error": error}))

    from ninefold.pipelines.values import decode

    spec["params"] = decode(json.loads(spec["params"]))
    try:
        pipeline = _load(spec)
    except BaseException as exc:  # reported to the parent, which raises a clear error
        write("import", None, f"{type(exc).__name__}: {exc}")
        return 0

    from ninefold.errors import StepFailed
    from ninefold.pipelines.runner import run_pipeline
    from ninefold.tracking.client import Client

    client = Client(spec["store_url"], spec["artifact_root"])
    started_ms = int(time.time() * 1000) - 1
    run_id: str | None = None
    error: str | None = None
    try:
        # Steps declared with side effects (registering a model, moving an alias) are
        # not run again: they reuse the original outputs when their inputs reproduced.
        run_id = run_pipeline(
            pipeline,
            spec["params"],
            executor="inline",
            cache=False,
            seed=spec["seed"],
            client=client,
            side_effects=False,
        ).run_id
    except StepFailed as exc:
        run_id, error = exc.pipeline_run_id or None, f"{type(exc).__name__}: {exc}"
    except BaseException as exc:  # recorded as the run's error; the parent reports it
        run_id = _runs_since(client, pipeline.name, started_ms)
        error = f"{type(exc).__name__}: {exc}"
    if run_id is not None:
        client.set_tags(run_id, {spec["tag"]: spec["run_id"]})
    write("done" if run_id is not None else "run", run_id, error)
    client.close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
