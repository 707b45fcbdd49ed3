"""The measuring loop shared by every ``bench_<tool>.py`` script in this folder.

Standard library only: it runs inside each tool's own virtual environment (see
``setup.sh``) and inside ninefold's. A tool script defines its pipelines and a
few hooks, then calls :func:`main`; ``python bench_<tool>.py measure`` prints
one JSON line with:

* ``chain10`` / ``lr3`` whole process: the script (with this file and any
  extra files it names) is copied into a fresh folder with its own ``HOME``;
  ``cold`` = the tool's init commands (if any) + the first
  ``python bench_<tool>.py once <pipeline>`` there; ``second`` = the same
  command again in that folder (cache on where the tool has one); ``plain`` =
  ``python _common.py plain <pipeline>``, the same functions without any tool
  (numpy and scikit-learn imported). Median
  of ``--repeats`` fresh folders; wall seconds and CPU seconds (user + system of
  the command and every descendant it waited for).
* ``inproc``: inside one warm interpreter (one run done first), caching off:
  per repeat one 10-step run of chain10 and the 10 plain calls; per step =
  (median run - median plain) / 10, wall and CPU of this process; median of
  ``--inproc-repeats``.

Every pipeline checks its result (chain10 sums to 5850, lr3 scores > 0.9); a
wrong result fails the command.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

CHAIN10_SUM = 5850.0
LR3_MIN_ACCURACY = 0.9
TIMEOUT_S = 900.0

# Telemetry off for every tool, and the Prefect temporary server given time to start on
# a loaded machine (its default 20 s was too short here).
QUIET_ENV = {
    "ZENML_ANALYTICS_OPT_IN": "false",
    "ZENML_DEBUG": "false",
    "DO_NOT_TRACK": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "KEDRO_DISABLE_TELEMETRY": "true",
    "METAFLOW_DEFAULT_DATASTORE": "local",
    "METAFLOW_DEFAULT_METADATA": "local",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "GIT_PYTHON_REFRESH": "quiet",
}
# Store and tool settings a developer's shell may carry: never inherited.
DROPPED_PREFIXES = ("NINEFOLD_", "ZENML_", "PREFECT_", "KEDRO_", "METAFLOW_", "MLFLOW_")


def check_chain10(value: Any) -> float:
    """The chain's final array must sum to 5850 (100 values, each 0..99 + 9)."""
    total = float(value.sum()) if hasattr(value, "sum") else float(value)
    if total != CHAIN10_SUM:
        raise AssertionError(f"chain10 summed to {total}, expected {CHAIN10_SUM}")
    return total


def check_lr3(value: Any) -> float:
    """lr3's held-out accuracy must be above 0.9."""
    accuracy = float(value)
    if not accuracy > LR3_MIN_ACCURACY:
        raise AssertionError(f"lr3 scored {accuracy}, expected > {LR3_MIN_ACCURACY}")
    return accuracy


# -- the plain functions (what every tool's steps call) -------------------------------


def make_array() -> Any:
    import numpy as np

    return np.arange(100.0)


def add_one(x: Any) -> Any:
    return x + 1


def load_data() -> tuple[Any, Any]:
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    return X, y


def fit_model(X: Any, y: Any) -> Any:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(X[:400], y[:400])


def score_model(model: Any, X: Any, y: Any) -> float:
    return float(model.score(X[400:], y[400:]))


def plain_chain10() -> Any:
    x = make_array()
    for _ in range(9):
        x = add_one(x)
    return x


def plain_lr3() -> float:
    X, y = load_data()
    return score_model(fit_model(X, y), X, y)


PLAIN = {"chain10": plain_chain10, "lr3": plain_lr3}
CHECK = {"chain10": check_chain10, "lr3": check_lr3}


# -- processes --------------------------------------------------------------------------


def fresh_env(home: Path) -> dict[str, str]:
    """The environment of a timed command: its own HOME, no tool settings, telemetry off."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(DROPPED_PREFIXES)}
    env.pop("PYTHONPATH", None)
    env.pop("VIRTUAL_ENV", None)
    env.update(QUIET_ENV)
    env["HOME"] = str(home)
    env["USER"] = env["USERNAME"] = env.get("USER") or "bench"
    env["TMPDIR"] = str(home / "tmp")
    return env


def fresh_folder(parent: Path, name: str) -> tuple[Path, dict[str, str]]:
    """A new empty working folder with its own HOME (and temp folder) inside it."""
    folder = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=parent))
    home = folder / "home"
    (home / "tmp").mkdir(parents=True)
    work = folder / "work"
    work.mkdir()
    return work, fresh_env(home)


def timed(argv: list[str], cwd: Path, env: dict[str, str], log: Path) -> tuple[float, float]:
    """Run one command to the end; (wall s, CPU s of it and its waited-for descendants).

    Its output goes to ``log``; a non-zero exit raises with the log's tail.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    with log.open("a") as fh:
        fh.write(f"$ {' '.join(argv)}\n")
        fh.flush()
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=fh,
            stderr=subprocess.STDOUT,
            timeout=TIMEOUT_S,
            check=False,
        )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if proc.returncode != 0:
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"{' '.join(argv)} exited {proc.returncode}; log {log}:\n{tail}")
    return wall, cpu


def median(values: list[float]) -> float:
    return float(statistics.median(values))


def _pair(walls: list[float], cpus: list[float]) -> dict[str, Any]:
    return {"wall_s": median(walls), "cpu_s": median(cpus), "walls": walls}


# -- the tool interface -------------------------------------------------------------------


class Tool:
    """What a ``bench_<tool>.py`` script tells the loop; it never imports the tool itself.

    The spec module names ``NAME``, ``DIST`` (the distribution whose version is
    reported), ``FLOWS`` (the file with the tool's pipelines, run as a script)
    and optionally ``EXTRA_FILES``, ``CACHE_NOTE``, ``NO_INPROC`` (why there is
    no in-process figure), ``prepare(folder)`` (untimed files a user's folder
    would already hold), ``init_commands(python)`` (timed, part of cold) and
    ``run_command(python, pipeline, second)``.
    """

    def __init__(self, module: ModuleType) -> None:
        self.m = module
        self.name: str = module.NAME
        self.script = Path(module.__file__ or "").resolve()
        here = Path(__file__).resolve().parent
        names = (module.FLOWS, "_common.py", *getattr(module, "EXTRA_FILES", ()))
        self.files = [here / name for name in names]

    def hook(self, name: str, default: Any = None) -> Any:
        return getattr(self.m, name, default)

    def copy_into(self, work: Path) -> None:
        """Put the pipeline script and what it imports into the working folder."""
        for path in self.files:
            shutil.copy2(path, work / path.name)
        prepare = self.hook("prepare")
        if prepare:
            prepare(work)

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version(self.m.DIST)
        except PackageNotFoundError:
            return "not installed"

    def init_commands(self) -> list[list[str]]:
        """Commands run once in a fresh folder before the first run (``zenml init`` ...)."""
        fn = self.hook("init_commands")
        return fn(sys.executable) if fn else []

    def run_command(self, pipeline: str, second: bool) -> list[str]:
        """The whole-process command of one run (the second run may differ: a resume ...)."""
        fn = self.hook("run_command")
        if fn:
            cmd: list[str] = fn(sys.executable, pipeline, second)
            return cmd
        return [sys.executable, self.m.FLOWS, "once", pipeline]

    def plain_command(self, pipeline: str) -> list[str]:
        return [sys.executable, "_common.py", "plain", pipeline]

    def inproc_command(self, repeats: int, out: Path) -> list[str] | None:
        if self.hook("NO_INPROC"):
            return None
        return [sys.executable, self.m.FLOWS, "inproc", str(repeats), str(out)]


# -- modes ----------------------------------------------------------------------------------


def _whole_process(tool: Tool, pipeline: str, repeats: int, parent: Path) -> dict[str, Any]:
    cold_w, cold_c, init_w, init_c, second_w, second_c, plain_w, plain_c = ([] for _ in range(8))
    for i in range(repeats):
        work, env = fresh_folder(parent, f"{tool.name}-{pipeline}-{i}")
        log = work.parent / "commands.log"
        tool.copy_into(work)
        iw = ic = 0.0
        for cmd in tool.init_commands():
            w, c = timed(cmd, work, env, log)
            iw, ic = iw + w, ic + c
        w, c = timed(tool.run_command(pipeline, second=False), work, env, log)
        init_w.append(iw)
        init_c.append(ic)
        cold_w.append(iw + w)
        cold_c.append(ic + c)
        w, c = timed(tool.run_command(pipeline, second=True), work, env, log)
        second_w.append(w)
        second_c.append(c)
        w, c = timed(tool.plain_command(pipeline), work, env, log)
        plain_w.append(w)
        plain_c.append(c)
        print(
            f"{tool.name} {pipeline} #{i + 1}: cold {cold_w[-1]:.2f} s (init {iw:.2f}), "
            f"second {second_w[-1]:.2f} s, plain {plain_w[-1]:.2f} s",
            file=sys.stderr,
            flush=True,
        )
        shutil.rmtree(work.parent, ignore_errors=True)
    return {
        "cold": _pair(cold_w, cold_c),
        "init": _pair(init_w, init_c),
        "second": _pair(second_w, second_c),
        "plain": _pair(plain_w, plain_c),
        "second_over_cold": median(second_w) / median(cold_w),
        "per_step_process_s": (median(cold_w) - median(init_w) - median(plain_w)) / 10
        if pipeline == "chain10"
        else None,
        "repeats": repeats,
    }


def _inproc_child(run_uncached: Callable[[], Any], repeats: int) -> dict[str, Any]:
    """In a warm interpreter: the tool's 10-step run (cache off) against 10 plain calls."""
    check_chain10(run_uncached())  # warm-up: imports, store creation, server start ...
    walls, cpus, plain_walls, plain_cpus = [], [], [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        check_chain10(run_uncached())
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        check_chain10(plain_chain10())
        plain_walls.append(time.perf_counter() - t)
        plain_cpus.append(time.process_time() - c)
    return {
        "per_step_ms": (median(walls) - median(plain_walls)) / 10 * 1000,
        "per_step_cpu_ms": (median(cpus) - median(plain_cpus)) / 10 * 1000,
        "run_wall_s": median(walls),
        "run_cpu_s": median(cpus),
        "plain_wall_s": median(plain_walls),
        "plain_cpu_s": median(plain_cpus),
        "run_walls": walls,
        "repeats": repeats,
    }


def _inproc(tool: Tool, repeats: int, parent: Path) -> dict[str, Any]:
    work, env = fresh_folder(parent, f"{tool.name}-inproc")
    out = work.parent / "inproc.json"
    cmd = tool.inproc_command(repeats, out)
    if cmd is None:
        return {"error": tool.hook("NO_INPROC")}
    log = work.parent / "commands.log"
    tool.copy_into(work)
    for init in tool.init_commands():
        timed(init, work, env, log)
    timed(cmd, work, env, log)
    result: dict[str, Any] = json.loads(out.read_text())
    print(f"{tool.name} in-process: {result['per_step_ms']:.2f} ms/step", file=sys.stderr)
    shutil.rmtree(work.parent, ignore_errors=True)
    return result


def measure(tool: Tool, args: argparse.Namespace) -> dict[str, Any]:
    parent = Path(args.dir or tempfile.gettempdir()).resolve()
    parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    rec: dict[str, Any] = {
        "tool": tool.name,
        "version": tool.version(),
        "python": sys.version.split()[0],
        "cache": tool.hook("CACHE_NOTE", ""),
    }
    for pipeline in args.pipelines.split(","):
        try:
            rec[pipeline] = _whole_process(tool, pipeline, args.repeats, parent)
        except Exception as exc:  # one failing part must not hide the others
            rec[pipeline] = {"error": str(exc)[-3000:]}
    try:
        rec["inproc"] = _inproc(tool, args.inproc_repeats, parent)
    except Exception as exc:
        rec["inproc"] = {"error": str(exc)[-3000:]}
    rec["elapsed_s"] = time.perf_counter() - started
    return rec


def main(module: ModuleType) -> int:
    """``python bench_<tool>.py [--repeats N] ...``: measure, print one JSON line."""
    tool = Tool(module)
    parser = argparse.ArgumentParser(prog=tool.script.name, description=__doc__)
    parser.add_argument("--repeats", type=int, default=3, help="fresh folders per pipeline")
    parser.add_argument("--inproc-repeats", type=int, default=5)
    parser.add_argument("--pipelines", default="chain10,lr3")
    parser.add_argument("--dir", help="parent of the fresh folders (default: the temp folder)")
    args = parser.parse_args()
    sys.stdout.write(json.dumps(measure(tool, args)) + "\n")
    return 0


def flow_main(run_once: Callable[[str], Any], run_uncached: Callable[[], Any] | None) -> int:
    """The command line of a ``<tool>_flows.py`` script.

    ``once chain10|lr3``: one run by the tool (its cache as the script sets it), the
    result checked. ``inproc REPEATS OUT``: the in-process measurement, into OUT.
    """
    argv = sys.argv[1:]
    if len(argv) == 2 and argv[0] == "once" and argv[1] in CHECK:
        CHECK[argv[1]](run_once(argv[1]))
        return 0
    if len(argv) == 3 and argv[0] == "inproc" and run_uncached is not None:
        result = _inproc_child(run_uncached, int(argv[1]))
        Path(argv[2]).write_text(json.dumps(result))
        return 0
    raise SystemExit(f"usage: {sys.argv[0]} once chain10|lr3 | inproc REPEATS OUT")


if __name__ == "__main__":
    # ``python _common.py plain chain10|lr3``: the plain script every tool is compared with.
    if len(sys.argv) != 3 or sys.argv[1] != "plain" or sys.argv[2] not in PLAIN:
        raise SystemExit("usage: python _common.py plain chain10|lr3")
    CHECK[sys.argv[2]](PLAIN[sys.argv[2]]())
