"""The examples in the data modules' docstrings run and print what they claim."""

from __future__ import annotations

import doctest
import importlib
import subprocess
import sys
from pathlib import Path

import pytest

MODULES = [
    "ninefold.data.profiling",
    "ninefold.data.inference",
    "ninefold.data.schema",
    "ninefold.data.validation",
    "ninefold.data.cleaning",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_reports_without_plotly_name_the_extra(tmp_path: Path) -> None:
    code = (
        "import sys; sys.modules['plotly'] = None\n"
        "import polars as pl\n"
        "from ninefold.data import profile\n"
        "from ninefold.data.report import profile_report\n"
        "from ninefold.errors import MissingDependency\n"
        "try:\n"
        f"    profile_report(profile(pl.DataFrame({{'x': [1]}})), {str(tmp_path / 'r.html')!r})\n"
        "except MissingDependency as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install 'ninefold[plots]'" in out.stdout
    assert not (tmp_path / "r.html").exists()


def test_importing_ninefold_does_not_import_the_data_package() -> None:
    code = "import sys, ninefold; print('ninefold.data' in sys.modules, 'polars' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]
