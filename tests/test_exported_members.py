"""The public API is a list: every exported name resolves, is documented, and stays light."""

from __future__ import annotations

import inspect
import json
import subprocess
import sys

import pytest

import ninefold

HEAVY_MODULES = ("sqlalchemy", "polars", "pandas", "sklearn", "typer", "numpy", "alembic")


def test_all_is_sorted_and_unique() -> None:
    assert ninefold.__all__ == sorted(set(ninefold.__all__))


@pytest.mark.parametrize("name", ninefold.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    value = getattr(ninefold, name)
    assert value is not None
    if name != "__version__":
        # Names live in private modules but are re-exported under their own name.
        assert getattr(value, "__name__", name) == name


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = ninefold.no_such_name  # type: ignore[attr-defined]


def test_dir_lists_the_public_names() -> None:
    assert set(dir(ninefold)) >= set(ninefold.__all__)


def _public_callables() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for name in ninefold.__all__:
        value = getattr(ninefold, name)
        if not callable(value):
            continue
        found.append((name, value))
        if inspect.isclass(value):
            for attr, member in vars(value).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, staticmethod | classmethod):
                    member = member.__func__
                if isinstance(member, property):
                    member = member.fget
                if callable(member):
                    found.append((f"{name}.{attr}", member))
    return found


_CALLABLES = _public_callables()


# Ids are the names only: a repr with a memory address differs between xdist workers.
@pytest.mark.parametrize(("name", "obj"), _CALLABLES, ids=[name for name, _ in _CALLABLES])
def test_every_public_callable_has_a_docstring(name: str, obj: object) -> None:
    doc = inspect.getdoc(obj)
    assert doc, f"{name} has no docstring"
    assert len(doc.strip()) > 10, f"{name} has a docstring too short to help: {doc!r}"


def test_version_matches_the_installed_distribution() -> None:
    from importlib.metadata import version

    assert ninefold.__version__ == version("ninefold")


def _modules_after(code: str) -> list[str]:
    probe = (
        f"{code}\nimport json, sys\n"
        f"print(json.dumps([m for m in {HEAVY_MODULES!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    loaded: list[str] = json.loads(out.stdout.strip().splitlines()[-1])
    return loaded


def test_import_ninefold_imports_no_heavy_module() -> None:
    assert _modules_after("import ninefold") == []


def test_the_probe_sees_heavy_imports() -> None:
    # Guard against a probe that can never fail: touching a lazily exported
    # name does load the store (SQLAlchemy).
    assert "sqlalchemy" in _modules_after("import ninefold\nninefold.Client")


def test_cli_entry_module_imports_no_heavy_module() -> None:
    loaded = _modules_after("import ninefold.cli.main")
    assert [m for m in loaded if m != "typer"] == []
