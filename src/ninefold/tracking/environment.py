"""What a run ran with: code version, uncommitted changes, interpreter, packages.

Captured once per process (the code a process runs is the code it imported at
start) and attached to every run it starts: small facts as tags, the
uncommitted diff, the package list and the project's lock files (``uv.lock``,
``poetry.lock``, ``requirements*.txt`` ...) as artifacts.
"""

from __future__ import annotations

import json
import os
import platform
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

TAG_PREFIX = "ninefold."
LOCK_FILE_NAMES = ("uv.lock", "poetry.lock", "pdm.lock", "Pipfile.lock", "conda-lock.yml")
MAX_LOCK_FILE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class Environment:
    """Facts about the code and interpreter of this process."""

    git_commit: str | None
    git_branch: str | None
    git_root: str | None
    git_diff: str
    python: str
    platform: str
    command: str
    distributions: dict[str, str] = field(default_factory=dict)
    lock_files: dict[str, bytes] = field(default_factory=dict)

    @property
    def dirty(self) -> bool:
        """Whether the working tree had uncommitted changes."""
        return bool(self.git_diff)

    def tags(self) -> dict[str, str]:
        """The facts stored as run tags (``ninefold.*``)."""
        tags = {
            f"{TAG_PREFIX}python": self.python,
            f"{TAG_PREFIX}platform": self.platform,
            f"{TAG_PREFIX}command": self.command[:5000],
        }
        if self.git_commit:
            tags[f"{TAG_PREFIX}git.commit"] = self.git_commit
            tags[f"{TAG_PREFIX}git.dirty"] = str(self.dirty).lower()
        if self.git_branch:
            tags[f"{TAG_PREFIX}git.branch"] = self.git_branch
        return tags

    def requirements(self) -> str:
        """Installed distributions as ``name==version`` lines, sorted."""
        return "".join(f"{n}=={v}\n" for n, v in sorted(self.distributions.items()))

    def summary(self) -> str:
        """The environment as JSON (without the diff)."""
        return json.dumps(
            {
                "git_commit": self.git_commit,
                "git_branch": self.git_branch,
                "git_dirty": self.dirty,
                "python": self.python,
                "platform": self.platform,
                "command": self.command,
                "executable": sys.executable,
            },
            indent=2,
        )


def _git(args: list[str], cwd: Path) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=20, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None


def git_state(cwd: Path) -> tuple[str | None, str | None, str | None, str]:
    """(commit, branch, repository root, uncommitted diff) of the repository around ``cwd``.

    The diff covers staged and unstaged changes to tracked files and lists
    untracked files (their content is not copied).
    """
    root = _git(["rev-parse", "--show-toplevel"], cwd)
    if root is None:
        return None, None, None, ""
    commit = (_git(["rev-parse", "HEAD"], cwd) or "").strip() or None
    branch = (_git(["rev-parse", "--abbrev-ref", "HEAD"], cwd) or "").strip() or None
    diff = _git(["diff", "HEAD", "--binary"], cwd) if commit else ""
    untracked = _git(["ls-files", "--others", "--exclude-standard"], cwd) or ""
    text = diff or ""
    if untracked.strip():
        listing = "".join(f"# untracked: {line}\n" for line in untracked.splitlines())
        text = f"{text}{listing}"
    return commit, branch, root.strip(), text


@cache
def _distributions() -> dict[str, str]:
    """Installed distributions as {name: version}.

    Names and versions come from the ``name-version.dist-info`` folder names on
    ``sys.path`` (parsing every METADATA file costs ~0.7 s with a few hundred
    packages); only ``.egg-info`` folders, whose names may lack the version,
    are read through importlib.metadata.
    """
    found: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for name in names:
            if name.endswith(".dist-info"):
                dist, sep, version = name[: -len(".dist-info")].partition("-")
                if sep and dist and version:
                    found.setdefault(dist.replace("_", "-"), version)
            elif name.endswith(".egg-info"):
                try:
                    meta = metadata.Distribution.at(os.path.join(entry or ".", name))
                    dist_name = meta.metadata["Name"]
                except (OSError, KeyError):
                    continue
                if dist_name:
                    found.setdefault(dist_name, meta.version)
    return found


def lock_files(root: Path, cwd: Path | None = None) -> dict[str, bytes]:
    """Lock files in the project root (and ``cwd`` below it), by path relative to the root.

    Lock files are ``uv.lock``, ``poetry.lock``, ``pdm.lock``, ``Pipfile.lock``,
    ``conda-lock.yml`` and ``requirements*.txt``; files over 8 MiB are left out.
    """
    found: dict[str, bytes] = {}
    folders = [root]
    if cwd is not None and cwd != root and cwd.is_relative_to(root):
        folders.append(cwd)
    for folder in folders:
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        for name in names:
            if name not in LOCK_FILE_NAMES and not (
                name.startswith("requirements") and name.endswith(".txt")
            ):
                continue
            path = folder / name
            try:
                if not path.is_file() or path.stat().st_size > MAX_LOCK_FILE_BYTES:
                    continue
                found[path.relative_to(root).as_posix()] = path.read_bytes()
            except OSError:
                continue
    return found


@cache
def _capture(cwd: str) -> Environment:
    commit, branch, root, diff = git_state(Path(cwd))
    return Environment(
        git_commit=commit,
        git_branch=branch,
        git_root=root,
        git_diff=diff,
        python=platform.python_version(),
        platform=platform.platform(),
        command=shlex.join([sys.executable, *sys.argv]),
        distributions=_distributions(),
        lock_files=lock_files(Path(root or cwd), Path(cwd)),
    )


def capture(cwd: Path | None = None) -> Environment:
    """The environment of this process (cached per working directory)."""
    return _capture(str((cwd or Path.cwd()).resolve()))
