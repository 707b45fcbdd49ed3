"""Code fingerprints: what changes the key and what does not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np

from ninefold.pipelines.fingerprint import Fingerprinter, distribution_of, is_user_module
from tests.pipelines.conftest import WriteModule

BASE = '''
import numpy as np
from sklearn.linear_model import LogisticRegression

LIMIT = 3
ITEMS = []

class Scaler:
    factor = 2

    def apply(self, x):
        return x * self.factor

def clean(x):
    # a comment
    return min(x, LIMIT)

def unrelated():
    return 42

def step_fn(x):
    """Docs."""
    ITEMS.append(x)
    return Scaler().apply(clean(x)) + np.sum([1]), LogisticRegression
'''


def _code(module_source: str, user_module: WriteModule) -> dict[str, dict[str, str]]:
    mod = user_module("fpmod", module_source)
    return Fingerprinter().step(mod.step_fn).code


def test_the_fingerprint_covers_reached_user_code_only(user_module: WriteModule) -> None:
    mod = user_module("fpmod", BASE)
    printed = Fingerprinter().step(mod.step_fn)
    assert set(printed.code) == {
        "fpmod:step_fn",
        "fpmod:clean",
        "fpmod:Scaler",
        "fpmod:LIMIT",
        "fpmod:ITEMS",
    }
    assert printed.code["fpmod:step_fn"]["kind"] == "step"
    assert printed.code["fpmod:Scaler"]["kind"] == "class"
    assert printed.distributions["numpy"] == np.__version__
    import sklearn

    assert printed.distributions["scikit-learn"] == sklearn.__version__


def test_comments_docstrings_and_runtime_state_do_not_change_it(user_module: WriteModule) -> None:
    base = _code(BASE, user_module)
    edited = BASE.replace("# a comment", "# another comment").replace('"""Docs."""', '"""Other."""')
    assert _code(edited, user_module) == base
    mod = user_module("fpmod", BASE)
    mod.ITEMS.extend([1, 2, 3])  # a module-level list the program mutates
    assert Fingerprinter().step(mod.step_fn).code == base


def test_each_kind_of_change_changes_its_own_entry(user_module: WriteModule) -> None:
    base = _code(BASE, user_module)
    for old, new, key in [
        ("min(x, LIMIT)", "max(x, LIMIT)", "fpmod:clean"),
        ("LIMIT = 3", "LIMIT = 4", "fpmod:LIMIT"),
        ("factor = 2", "factor = 3", "fpmod:Scaler"),
        ("return x * self.factor", "return x + self.factor", "fpmod:Scaler"),
    ]:
        changed = _code(BASE.replace(old, new), user_module)
        differing = {k for k in base if base[k] != changed.get(k)}
        assert differing == {key}, (old, differing)
    unrelated = _code(BASE.replace("return 42", "return 43"), user_module)
    assert unrelated == base


def test_library_modules_are_not_user_code() -> None:
    import json

    import sklearn

    import tests

    assert not is_user_module(json)
    assert not is_user_module(sklearn)
    assert is_user_module(tests)
    assert distribution_of("sklearn") == ("scikit-learn", sklearn.__version__)
    assert distribution_of("json") is None


LAZY_IMPORT = """
import sys

import ninefold as nf
from ninefold.pipelines.fingerprint import Fingerprinter


@nf.step
def sort_them(xs: list[int]) -> list[int]:
    from sortedcontainers.sortedlist import SortedList

    return list(SortedList(xs))


printed = Fingerprinter().step(sort_them.fn)
print(printed.distributions.get("sortedcontainers"), "sortedcontainers" in sys.modules)
"""


def test_a_library_imported_inside_a_step_counts_by_version_without_being_imported(
    tmp_path: Path,
) -> None:
    # A fresh interpreter: the driver must learn the library's version from its
    # installed metadata, not by importing it (seconds for some libraries).
    import importlib.metadata

    script = tmp_path / "lazy_step.py"
    script.write_text(LAZY_IMPORT)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    version, imported = done.stdout.split()
    assert version == importlib.metadata.version("sortedcontainers")
    assert imported == "False"
