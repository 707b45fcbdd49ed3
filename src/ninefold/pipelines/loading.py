"""Finding a pipeline from the command line and reading its ``--param`` values."""

from __future__ import annotations

import importlib
import json
import sys
import typing
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ninefold.pipelines.definition import Pipeline
from ninefold.pipelines.errors import PipelineDefinitionError


def _file_part(spec: str) -> tuple[str, str] | None:
    """``(file, attribute)`` when ``spec`` names a pipeline in a file, else None."""
    module_part, sep, attr = spec.rpartition(":")
    if sep and (module_part.endswith(".py") or "/" in module_part or "\\" in module_part):
        return module_part, attr
    return None


def portable_target(spec: str, root: Path | None) -> str:
    """``spec`` as stored for later: a file inside the project relative to its root.

    A schedule outlives the folder it was added from; a file path is kept
    relative to the project root (so a checkout elsewhere, such as a team
    server's, finds it) or made absolute when it lies outside the project.
    ``module:attr`` targets are kept as they are.
    """
    found = _file_part(spec)
    if found is None:
        return spec
    path = Path(found[0]).resolve()
    if root is not None and path.is_relative_to(root.resolve()):
        return f"{path.relative_to(root.resolve()).as_posix()}:{found[1]}"
    return f"{path}:{found[1]}"


def resolve_target(spec: str, root: Path | None) -> str:
    """A stored target made loadable: a relative file path is taken from the project root."""
    found = _file_part(spec)
    if found is None or root is None or Path(found[0]).is_absolute():
        return spec
    return f"{root / found[0]}:{found[1]}"


def load_pipeline(spec: str) -> Pipeline:
    """The pipeline named by ``module:attribute`` or ``path/to/file.py:attribute``.

    A file is imported under its own name with its folder first on ``sys.path``,
    so worker processes can import it too.
    """
    module_part, sep, attr = spec.rpartition(":")
    if not sep or not module_part or not attr:
        raise PipelineDefinitionError(
            f"{spec!r} does not name a pipeline; use MODULE:PIPELINE or path/to/file.py:PIPELINE, "
            "e.g. examples/pipelines/train.py:training."
        )
    if module_part.endswith(".py") or "/" in module_part or "\\" in module_part:
        path = Path(module_part).resolve()
        if not path.is_file():
            raise PipelineDefinitionError(f"No such file {module_part!r} (from {spec!r}).")
        folder = str(path.parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)
        name = path.stem
        loaded = sys.modules.get(name)
        if loaded is not None and Path(getattr(loaded, "__file__", "") or "").resolve() != path:
            raise PipelineDefinitionError(
                f"Cannot import {module_part!r} as module {name!r}: another module of that name "
                f"is already imported ({getattr(loaded, '__file__', None)}). Rename the file."
            )
        module_name = name
    else:
        module_name = module_part
        if "" not in sys.path and str(Path.cwd()) not in sys.path:
            sys.path.insert(0, str(Path.cwd()))
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise PipelineDefinitionError(
            f"Cannot import {module_name!r} (from {spec!r}): {exc}. Run from the folder that "
            "holds it or give the file path."
        ) from exc
    target: Any = module
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            found = sorted(n for n, v in vars(module).items() if isinstance(v, Pipeline))
            raise PipelineDefinitionError(
                f"{module_name!r} has no attribute {attr!r}; its pipelines: {found or 'none'}."
            )
    if not isinstance(target, Pipeline):
        raise PipelineDefinitionError(
            f"{spec!r} is a {type(target).__name__}, not a pipeline; decorate it with @nf.pipeline."
        )
    return target


def _coerce(raw: str, annotation: Any, name: str) -> Any:
    if isinstance(annotation, str):
        annotation = {"int": int, "float": float, "bool": bool, "str": str}.get(annotation, Any)
    origin = typing.get_origin(annotation)
    if origin is typing.Union or str(origin) == "<class 'types.UnionType'>":
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        if raw.lower() in ("none", "null") and len(options) < len(typing.get_args(annotation)):
            return None
        annotation = options[0] if len(options) == 1 else Any
    try:
        if annotation is bool:
            lowered = raw.lower()
            if lowered in ("true", "1", "yes", "on"):
                return True
            if lowered in ("false", "0", "no", "off"):
                return False
            raise ValueError("not a boolean")
        if annotation is int:
            return int(raw)
        if annotation is float:
            return float(raw)
        if annotation is str:
            return raw
    except ValueError:
        kind = getattr(annotation, "__name__", str(annotation))
        raise PipelineDefinitionError(f"--param {name}={raw!r}: expected a {kind}.") from None
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_params(pairs: Sequence[str], pipeline: Pipeline) -> dict[str, Any]:
    """``["C=0.5", "model=rf"]`` as params, converted by the pipeline's annotations.

    Without an annotation a value is read as JSON when it parses (``1``, ``0.5``,
    ``true``, ``[1, 2]``) and kept as text otherwise.
    """
    try:
        hints = typing.get_type_hints(pipeline.fn)
    except Exception:
        hints = {}
    params: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        name = name.strip()
        if not sep or not name:
            raise PipelineDefinitionError(f"--param {pair!r} must look like name=value.")
        if name not in pipeline.signature.parameters:
            raise PipelineDefinitionError(
                f"--param {name}: pipeline {pipeline.name!r} has no such param; its params are "
                f"{list(pipeline.signature.parameters)}."
            )
        params[name] = _coerce(raw, hints.get(name, Any), name)
    return params


def read_params_file(path: str | Path, pipeline: Pipeline) -> dict[str, Any]:
    """A pipeline's params from a YAML (or JSON) file of ``name: value`` lines.

    The file is what a person reviews in a pull request; ``--param`` given on
    the command line overrides it. An unknown name, a file that is not a
    mapping or a value that is not plain data is an error naming the file.
    """
    import yaml

    where = Path(path)
    try:
        data = yaml.safe_load(where.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PipelineDefinitionError(f"Cannot read params file {str(where)!r}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise PipelineDefinitionError(
            f"Params file {str(where)!r} is not valid YAML: {exc}"
        ) from exc
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise PipelineDefinitionError(
            f"Params file {str(where)!r} must be a mapping of param names to values "
            f"(e.g. 'C: 0.5'), got {type(data).__name__}."
        )
    unknown = [k for k in data if k not in pipeline.signature.parameters]
    if unknown:
        raise PipelineDefinitionError(
            f"Params file {str(where)!r} names {unknown}, which pipeline {pipeline.name!r} does "
            f"not take; its params are {list(pipeline.signature.parameters)}."
        )
    try:
        json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise PipelineDefinitionError(
            f"Params file {str(where)!r}: values must be plain data (numbers, text, lists, "
            f"mappings): {exc}."
        ) from None
    return dict(data)
