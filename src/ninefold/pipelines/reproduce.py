"""Reproducing a pipeline run: the recorded code, params and seed, run again and compared.

``reproduce(run_id)`` checks the run's git commit out into a temporary
worktree, applies the uncommitted diff the run recorded, imports the pipeline
from that worktree in a child process and runs it again with the recorded
params and seed, the cache off and the inline executor, against the same
metadata and artifact stores. Then it compares the two runs step by step, in
the order the steps ran: per output, whether the content hash is identical;
for a step that differs, its metric deltas and the inputs it consumed; and it
names the first step whose outputs diverged.

The environment is not rebuilt: the run uses the current interpreter and
packages, and the report lists where they differ from the recorded ones.

Example:
    >>> from ninefold.pipelines import reproduce
    >>> report = reproduce("0190f1c2a3b4")  # doctest: +SKIP
    >>> report.identical, report.first_divergence  # doctest: +SKIP
    (True, None)
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from ninefold.errors import NinefoldError, ReproduceError
from ninefold.pipelines.compare import StepComparison, compare_runs, environment_changes
from ninefold.store.pipelines import PIPELINE_TAG, StepExecution

if TYPE_CHECKING:
    from ninefold.pipelines.definition import Graph, Pipeline
    from ninefold.store import Run
    from ninefold.tracking.client import Client

SOURCE_TAG = "ninefold.pipeline.source"
"""Where the pipeline object lives: ``module:qualname``."""
FILE_TAG = "ninefold.pipeline.file"
"""The file that defines the pipeline, relative to the git repository root."""
CWD_TAG = "ninefold.pipeline.cwd"
"""The working directory of the run, relative to the git repository root."""
PARAMS_TAG = "ninefold.pipeline.params"
"""The pipeline function's arguments as canonical JSON (exact types, unlike run params)."""
REPRODUCE_TAG = "ninefold.reproduce.of"
"""On a reproduction: the id of the run it reproduces."""

_COMMIT_TAG = "ninefold.git.commit"
_DIFF_PATH = "environment/git.diff"
_UNTRACKED = "# untracked: "


# -- recording: what run_pipeline stores so that a run can be re-imported ---------


def _locate(pipeline: Pipeline) -> tuple[str, str, str | None] | None:
    """(module, attribute path, file) of the pipeline object, or None if it is not importable."""
    from ninefold.pipelines.definition import module_name

    fn = pipeline.fn
    module = sys.modules.get(getattr(fn, "__module__", None) or "__main__")
    if module is None:
        return None
    qualname = getattr(fn, "__qualname__", "") or ""
    target: Any = module
    for part in qualname.split("."):
        target = getattr(target, part, None)
    if target is not pipeline:
        names = [n for n, v in vars(module).items() if v is pipeline]
        if not names:
            return None
        qualname = names[0]
    return module_name(fn), qualname, getattr(module, "__file__", None)


def source_tags(pipeline: Pipeline, graph: Graph) -> dict[str, str]:
    """Tags that let ``reproduce`` import the pipeline again and call it with the same params.

    ``ninefold.pipeline.source`` (``module:qualname``), ``ninefold.pipeline.file``
    and ``ninefold.pipeline.cwd`` (relative to the git root) and
    ``ninefold.pipeline.params`` (canonical JSON). Tags that cannot be known are
    left out: a pipeline defined inside a function, a file outside the
    repository, params that are not plain values.
    """
    from ninefold.pipelines.values import canonical
    from ninefold.tracking import environment

    tags: dict[str, str] = {}
    with contextlib.suppress(TypeError, ValueError):  # params that are not plain values
        tags[PARAMS_TAG] = canonical(graph.params)
    located = _locate(pipeline)
    if located is None:
        return tags
    module, qualname, file = located
    tags[SOURCE_TAG] = f"{module}:{qualname}"
    root = environment.capture().git_root
    if root is None:
        return tags
    top = Path(root).resolve()
    if file is not None:
        path = Path(file).resolve()
        if path.is_relative_to(top):
            tags[FILE_TAG] = path.relative_to(top).as_posix()
    cwd = Path.cwd().resolve()
    if cwd.is_relative_to(top):
        tags[CWD_TAG] = cwd.relative_to(top).as_posix()
    return tags


# -- the report ------------------------------------------------------------------


@dataclass
class ReproduceReport:
    """The outcome of :func:`reproduce`.

    Attributes:
        run_id: the run that was reproduced.
        new_run_id: the reproduction (tagged ``ninefold.reproduce.of``).
        pipeline: the pipeline's name.
        commit: the commit checked out.
        diff_applied: whether an uncommitted diff was applied on top of it.
        steps: every step of either run, in the order the reproduction ran them.
        first_divergence: the first step whose outputs differ (None when identical).
        original_status: the original run's status.
        new_status: the reproduction's status.
        error: the reproduction's error, if it failed.
        environment: where the current interpreter, platform and packages differ
            from the recorded ones (``numpy: 1.26.4 -> 2.0.0``).
        warnings: what may explain a difference or limits the comparison.
        worktree: the kept worktree (``keep_worktree=True``), else None.
        seconds: wall time of the whole reproduction.
    """

    run_id: str
    new_run_id: str
    pipeline: str
    commit: str
    diff_applied: bool
    steps: list[StepComparison]
    first_divergence: str | None
    original_status: str
    new_status: str
    error: str | None = None
    environment: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    worktree: str | None = None
    seconds: float = 0.0

    @property
    def identical(self) -> bool:
        """Whether every step has the same status and bit-identical outputs in both runs."""
        return self.first_divergence is None

    @property
    def diverged(self) -> list[str]:
        """Every step that differs, in order."""
        return [s.node for s in self.steps if not s.identical]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "run_id": self.run_id,
            "new_run_id": self.new_run_id,
            "pipeline": self.pipeline,
            "commit": self.commit,
            "diff_applied": self.diff_applied,
            "identical": self.identical,
            "first_divergence": self.first_divergence,
            "diverged": self.diverged,
            "original_status": self.original_status,
            "new_status": self.new_status,
            "error": self.error,
            "steps": [s.to_dict() for s in self.steps],
            "environment": list(self.environment),
            "warnings": list(self.warnings),
            "worktree": self.worktree,
            "seconds": round(self.seconds, 3),
        }


# -- what the run recorded -------------------------------------------------------


@dataclass(frozen=True)
class _Recorded:
    run: Run
    pipeline: str
    commit: str
    source: str
    file: str
    cwd: str
    params: str
    seed: int | None
    diff: str
    untracked: list[str]


def _recorded(client: Client, run: Run) -> _Recorded:
    from ninefold.pipelines.seeds import SEED_TAG

    run_id = run.run_id
    if PIPELINE_TAG not in run.tags:
        parent = run.parent_run_id
        hint = (
            f" It is step {run.tags['ninefold.pipeline.node']!r} of pipeline run {parent}: "
            f"reproduce that run."
            if "ninefold.pipeline.node" in run.tags and parent
            else " List pipeline runs with: ninefold pipelines list"
        )
        raise ReproduceError(
            f"Run {run_id} ({run.name!r}) is not a pipeline run (no {PIPELINE_TAG} tag); only "
            f"pipeline runs can be reproduced.{hint}"
        )
    pipeline = run.tags[PIPELINE_TAG]
    commit = run.tags.get(_COMMIT_TAG)
    if not commit:
        raise ReproduceError(
            f"Run {run_id} of pipeline {pipeline!r} recorded no git commit: it was not started "
            "inside a git repository. Only runs made from a git checkout can be reproduced."
        )
    source, file = run.tags.get(SOURCE_TAG), run.tags.get(FILE_TAG)
    if not source or not file:
        raise ReproduceError(
            f"Run {run_id} does not record where pipeline {pipeline!r} is defined "
            f"({SOURCE_TAG} and {FILE_TAG} tags): it was made by an older ninefold, by a "
            "pipeline defined inside a function, or from a file outside the git repository. "
            "Define the pipeline at module level in the repository and run it again."
        )
    params = run.tags.get(PARAMS_TAG)
    if params is None:
        raise ReproduceError(
            f"Run {run_id} of pipeline {pipeline!r} has params that are not plain values "
            f"(no {PARAMS_TAG} tag), so they cannot be passed again. Use plain params "
            "(numbers, strings, lists, dicts)."
        )
    seed_text = run.tags.get(SEED_TAG)
    diff, untracked = "", []
    if run.tags.get("ninefold.git.dirty") == "true":
        try:
            text = client.read_text(run_id, _DIFF_PATH)
        except NinefoldError as exc:
            raise ReproduceError(
                f"Run {run_id} was made from a tree with uncommitted changes, but its diff "
                f"({_DIFF_PATH}) cannot be read: {exc}"
            ) from exc
        kept = []
        for line in text.splitlines(keepends=True):
            if line.startswith(_UNTRACKED):
                untracked.append(line[len(_UNTRACKED) :].rstrip("\n"))
            else:
                kept.append(line)
        diff = "".join(kept)
    return _Recorded(
        run=run,
        pipeline=pipeline,
        commit=commit,
        source=source,
        file=file,
        cwd=run.tags.get(CWD_TAG, "."),
        params=params,
        seed=None if seed_text is None else int(seed_text),
        diff=diff,
        untracked=untracked,
    )


def import_base(module: str, file: str) -> str:
    """The folder (relative to the repository) to put on ``sys.path`` to import ``module``.

    ``src/pkg/flows.py`` holding ``pkg.flows`` gives ``src``; a script
    ``examples/train.py`` imported as ``train`` gives ``examples``.
    """
    path = PurePosixPath(file)
    parts = module.split(".")
    if path.name == "__init__.py":
        tail = (*parts, "__init__.py")
    else:
        tail = (*parts[:-1], f"{parts[-1]}{path.suffix}")
    if path.parts[-len(tail) :] == tail:
        base = path.parts[: -len(tail)]
        return PurePosixPath(*base).as_posix() if base else "."
    return path.parent.as_posix()


# -- git ---------------------------------------------------------------------------


# Set by git hooks and scripts; they would point every git call at another repository.
_GIT_LOCATION_VARS = ("GIT_DIR", "GIT_INDEX_FILE", "GIT_WORK_TREE", "GIT_PREFIX")


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in _GIT_LOCATION_VARS}


def _git(args: list[str], cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(
            ["git", *args],
            cwd=cwd,
            env=_clean_env(),
            input=stdin,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise ReproduceError(f"Cannot run git {' '.join(args[:2])} in {cwd}: {exc}") from exc


def _repository(recorded: _Recorded, repo: Path | None) -> Path:
    run_id, commit = recorded.run.run_id, recorded.commit
    start = (repo or Path.cwd()).resolve()
    found = _git(["rev-parse", "--show-toplevel"], start)
    if found.returncode != 0:
        raise ReproduceError(
            f"Run {run_id} was made at commit {commit}, but {start} is not inside a git "
            "repository. Run ninefold reproduce from a clone of the repository that holds "
            "that commit."
        )
    root = Path(found.stdout.strip())
    if _git(["cat-file", "-e", f"{commit}^{{commit}}"], root).returncode != 0:
        raise ReproduceError(
            f"Run {run_id} was made at commit {commit}, which is not in the repository at "
            f"{root}. Fetch it (git fetch origin {commit}, or git fetch --unshallow in a "
            "shallow clone) or run from the clone the run was made in."
        )
    return root


def _apply(recorded: _Recorded, worktree: Path) -> None:
    if not recorded.diff.strip():
        return
    done = _git(
        ["apply", "--index", "--binary", "--whitespace=nowarn", "-"], worktree, recorded.diff
    )
    if done.returncode != 0:
        raise ReproduceError(
            f"The uncommitted diff recorded by run {recorded.run.run_id} "
            f"({_DIFF_PATH}) does not apply to commit {recorded.commit}: "
            f"{done.stderr.strip() or done.stdout.strip()}"
        )


# -- the child run -------------------------------------------------------------------


def _tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _run_child(
    recorded: _Recorded, client: Client, root: Path, worktree: Path, workdir: Path
) -> tuple[str, str | None]:
    """Run the pipeline from the worktree in a child process; (new run id, its error)."""
    run_id = recorded.run.run_id
    module = recorded.source.partition(":")[0]
    if not (worktree / recorded.file).is_file():
        raise ReproduceError(
            f"Run {run_id}: the pipeline file {recorded.file} is not in commit "
            f"{recorded.commit} (plus the recorded diff); was it an untracked file?"
        )
    result = workdir / "result.json"
    spec = {
        "run_id": run_id,
        "source": recorded.source,
        "base": import_base(module, recorded.file),
        "live_root": str(root),
        "worktree": str(worktree),
        "params": recorded.params,
        "seed": recorded.seed,
        "store_url": client.store_url,
        "artifact_root": client.artifact_root,
        "result": str(result),
        "tag": REPRODUCE_TAG,
    }
    spec_path = workdir / "spec.json"
    spec_path.write_text(json.dumps(spec))
    cwd = worktree / recorded.cwd
    if not cwd.is_dir():
        cwd = worktree
    env = {
        **_clean_env(),
        "NINEFOLD_STORE_URL": client.store_url,
        "NINEFOLD_ARTIFACT_ROOT": client.artifact_root,
        # Byte code written into the worktree would show up as untracked files.
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log = workdir / "child.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ninefold.pipelines._reproduce_child", str(spec_path)],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            proc.wait()
        except BaseException:
            # Interrupted: let the child mark its runs killed, then make sure it is gone.
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
            raise
    try:
        outcome = json.loads(result.read_text())
    except (OSError, ValueError):
        raise ReproduceError(
            f"Reproducing run {run_id}: the child process exited with code {proc.returncode} "
            f"without a result. Its output ends with:\n{_tail(log)}"
        ) from None
    if outcome["stage"] == "import":
        raise ReproduceError(
            f"Run {run_id}: cannot import pipeline {recorded.source} from commit "
            f"{recorded.commit[:12]}{' plus its diff' if recorded.diff else ''} "
            f"({recorded.file}): {outcome['error']}"
        )
    if outcome["run_id"] is None:
        raise ReproduceError(
            f"Run {run_id}: the reproduction failed before it recorded a run: {outcome['error']}"
        )
    return str(outcome["run_id"]), outcome["error"]


def _missing_artifacts(client: Client, steps: list[StepExecution]) -> list[str]:
    """Artifacts of the original run that are no longer in the artifact store."""
    missing = []
    seen: set[str] = set()
    for s in steps:
        for e in s.edges:
            if e.digest in seen:
                continue
            seen.add(e.digest)
            if not client.artifacts.exists(e.digest):
                missing.append(f"{s.node}.{e.name} ({e.direction}, sha256:{e.digest[:12]})")
    return missing


def _registered(client: Client, steps: list[StepComparison]) -> list[str]:
    """A warning per reproduced step that registered model versions (steps run for real)."""
    out = []
    for s in steps:
        versions = client.store.models.versions_of_run(s.new_run_id) if s.new_run_id else []
        if versions:
            names = ", ".join(f"{v.name} v{v.version}" for v in versions)
            out.append(
                f"step {s.node!r} registered a new model version ({names}): steps run for "
                "real, and outputs that depend on the registry (version numbers, promotions) "
                "differ from the original run's"
            )
    return out


def _code_check(client: Client, recorded: _Recorded, new: Run) -> list[str]:
    if new.tags.get(_COMMIT_TAG) != recorded.commit:
        return [
            f"the reproduction recorded commit {new.tags.get(_COMMIT_TAG)}, not {recorded.commit}"
        ]
    try:
        after = (
            client.read_text(new.run_id, _DIFF_PATH)
            if new.tags.get("ninefold.git.dirty") == "true"
            else ""
        )
    except NinefoldError:
        after = ""
    after = "".join(
        line for line in after.splitlines(keepends=True) if not line.startswith(_UNTRACKED)
    )
    if after != recorded.diff:
        return ["the reproduction's working tree differs from the recorded diff"]
    return []


# -- the entry point ----------------------------------------------------------------


def pipeline_run_of(ref: str, client: Client) -> str:
    """The run id ``ref`` names: itself, or for a model version the pipeline run that made it.

    A model logged by a pipeline step belongs to the step's run; its parent is
    the pipeline run.
    """
    if not ref.startswith("models:/"):
        return ref
    from ninefold.registry.api import get_model_version

    version = get_model_version(ref, client=client)
    if version.run_id is None:
        raise ReproduceError(
            f"{ref} (version {version.version}) was not logged from a run, so there is no run "
            "to reproduce. Models logged inside a pipeline step can be reproduced."
        )
    run = client.store.runs.get(version.run_id)
    if PIPELINE_TAG in run.tags or run.parent_run_id is None:
        return run.run_id
    parent = client.store.runs.get(run.parent_run_id)
    return parent.run_id if PIPELINE_TAG in parent.tags else run.run_id


def reproduce(
    run_id: str,
    *,
    client: Client | None = None,
    repo: str | os.PathLike[str] | None = None,
    keep_worktree: bool = False,
    rtol: float = 1e-9,
) -> ReproduceReport:
    """Run a pipeline run again from its recorded code, params and seed, and compare.

    The run's commit is checked out into a temporary git worktree of ``repo``
    (default: the repository around the current directory) and its recorded
    uncommitted diff applied; the pipeline is imported from there in a child
    process and run with the recorded params and seed, the cache off and the
    inline executor, on the same metadata and artifact stores. The new run is
    tagged ``ninefold.reproduce.of=<run_id>``. Steps run for real, except those
    declared ``side_effects=True`` (registering a model, moving an alias): they
    reuse their recorded outputs when their inputs reproduced, and fail otherwise.

    Args:
        run_id: a pipeline run, or a model version (``models:/name/3``,
            ``models:/name@champion``): the pipeline run that made it.
        client: the tracking client (default: the current project's).
        repo: a folder inside the git repository that holds the run's commit.
        keep_worktree: leave the worktree in place (its path is in the report;
            remove it with ``git worktree remove --force PATH``).
        rtol: relative tolerance under which a metric of a differing step
            counts as close.

    Returns:
        The :class:`ReproduceReport`: per step and output whether the hash is
        identical, metric deltas where not, the first divergence, environment
        differences.

    Raises:
        ReproduceError: the run is not a pipeline run, its commit is not in the
            repository, its diff does not apply or its pipeline cannot be
            imported from the worktree. Nothing is recorded then.
    """
    from ninefold.tracking.client import get_client

    started = time.perf_counter()
    c = client or get_client()
    run_id = pipeline_run_of(run_id, c)
    run = c.store.runs.get(run_id)
    recorded = _recorded(c, run)
    root = _repository(recorded, None if repo is None else Path(repo))
    original_steps = c.store.pipelines.steps_of(run_id)
    warnings = []
    if recorded.untracked:
        shown = ", ".join(recorded.untracked[:10])
        more = f" and {len(recorded.untracked) - 10} more" if len(recorded.untracked) > 10 else ""
        warnings.append(
            f"the original run had untracked files whose content was not recorded ({shown}"
            f"{more}); the reproduction runs without them"
        )
    missing = _missing_artifacts(c, original_steps)
    if missing:
        warnings.append(
            "artifacts of the original run are missing from the artifact store (their hashes "
            f"are still compared): {', '.join(missing[:10])}"
        )
    workdir = Path(tempfile.mkdtemp(prefix="ninefold-reproduce-"))  # the child's spec and log
    worktree = Path(tempfile.mkdtemp(prefix="ninefold-worktree-"))
    added = False
    try:
        done = _git(
            ["worktree", "add", "--detach", "--quiet", str(worktree), recorded.commit], root
        )
        if done.returncode != 0:
            raise ReproduceError(
                f"Run {run_id}: cannot check commit {recorded.commit} out into a worktree of "
                f"{root}: {done.stderr.strip()}"
            )
        added = True
        _apply(recorded, worktree)
        new_run_id, error = _run_child(recorded, c, root, worktree, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if added and not keep_worktree:
            _git(["worktree", "remove", "--force", str(worktree)], root)
        if not added or not keep_worktree:
            shutil.rmtree(worktree, ignore_errors=True)
            _git(["worktree", "prune"], root)
    new_run = c.store.runs.get(new_run_id)
    steps = compare_runs(c, run_id, new_run_id, rtol=rtol)
    first = next((s.node for s in steps if not s.identical), None)
    warnings.extend(_code_check(c, recorded, new_run))
    warnings.extend(_registered(c, steps))
    if str(run.status) != "finished":
        warnings.append(f"the original run's status is {run.status}")
    return ReproduceReport(
        run_id=run_id,
        new_run_id=new_run_id,
        pipeline=recorded.pipeline,
        commit=recorded.commit,
        diff_applied=bool(recorded.diff.strip()),
        steps=steps,
        first_divergence=first,
        original_status=str(run.status),
        new_status=str(new_run.status),
        error=error,
        environment=environment_changes(c, run, new_run),
        warnings=warnings,
        worktree=str(worktree) if keep_worktree else None,
        seconds=time.perf_counter() - started,
    )


__all__ = [
    "ReproduceReport",
    "import_base",
    "reproduce",
    "source_tags",
]
