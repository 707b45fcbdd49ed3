"""Code fingerprints: what a step's code is, including the user code it reaches.

A step's fingerprint maps every function, class and constant of the user's
own modules that the step reaches (through its globals, closures and imports,
recursively) to a hash of its normalised source: the AST without docstrings,
decorators or positions, so reformatting or editing a comment changes nothing.
Code from the standard library, site-packages and ninefold itself is not
hashed; the versions of the distributions it comes from are recorded instead.

A module is "the user's own" when its file lies outside the standard library
and every site-packages folder (an editable install of the user's project
counts as their own).
"""

from __future__ import annotations

import ast
import hashlib
import importlib
import importlib.util
import inspect
import os
import re
import sys
import sysconfig
import textwrap
import threading
import types
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

_PLAIN = (type(None), bool, int, float, complex, str, bytes)


@dataclass
class CodePrint:
    """The hashes of the user code a step reaches and the distributions it uses.

    Attributes:
        code: ``module:qualname`` -> ``{"kind": ..., "hash": ...}`` where kind is
            ``step``, ``function``, ``class`` or ``constant``.
        distributions: distribution name -> version, for third-party code reached.
    """

    code: dict[str, dict[str, str]] = field(default_factory=dict)
    distributions: dict[str, str] = field(default_factory=dict)


@cache
def _excluded_roots() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    roots = {paths.get(k) for k in ("stdlib", "platstdlib", "purelib", "platlib")}
    try:
        import site

        roots.update(site.getsitepackages())
        roots.add(site.getusersitepackages())
    except (AttributeError, ImportError):  # pragma: no cover - embedded interpreters
        pass
    for prefix in {sys.base_prefix, sys.prefix, sys.exec_prefix}:
        roots.add(os.path.join(prefix, "lib", f"python{sys.version_info[0]}.{sys.version_info[1]}"))
    return tuple(sorted(os.path.realpath(r) + os.sep for r in roots if r))


_user_modules: dict[str, bool] = {}


def is_user_module(module: types.ModuleType | None) -> bool:
    """Whether a module is the user's own code (not stdlib, site-packages or ninefold)."""
    if module is None:
        return False
    name = module.__name__
    known = _user_modules.get(name)
    if known is not None and name != "__main__":
        return known
    top = name.split(".")[0]
    if top == "ninefold" or name in sys.builtin_module_names:
        result = False
    else:
        path = getattr(module, "__file__", None)
        result = name == "__main__" if path is None else _is_user_path(path)
    _user_modules[name] = result
    return result


def _is_user_path(path: str) -> bool:
    return not os.path.realpath(path).startswith(_excluded_roots())


def _top_level_path(top: str) -> str | None:
    """Where the top-level module ``top`` lives, found without importing it (None: unknown)."""
    module = sys.modules.get(top)
    if module is not None:
        return getattr(module, "__file__", None)
    try:
        spec = importlib.util.find_spec(top)  # a top-level name: nothing gets imported
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.origin not in (None, "built-in", "frozen", "namespace"):
        return spec.origin
    locations = list(spec.submodule_search_locations or ())
    return os.path.join(locations[0], "__init__.py") if locations else None


def _installed_elsewhere(mod_name: str) -> bool:
    """Whether ``mod_name`` is a library module (site-packages, stdlib, ninefold) not yet imported.

    Decided from where its top-level package lives, so that a step importing
    ``sklearn.datasets`` inside its body is fingerprinted by scikit-learn's version
    without importing scikit-learn into the driver (seconds for some libraries).
    """
    top = mod_name.split(".")[0]
    if top == "ninefold" or top in sys.stdlib_module_names or top in sys.builtin_module_names:
        return True
    path = _top_level_path(top)
    return path is not None and not _is_user_path(path)


def _strip(node: ast.AST) -> ast.AST:
    """Remove docstrings everywhere and decorators of the outermost definition."""
    for child in ast.walk(node):
        if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Module):
            body = child.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(body[0].value, ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                child.body = body[1:] or [ast.Pass()]
    if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        node.decorator_list = []
    return node


def _code_hash(code: types.CodeType) -> str:
    """Hash of a code object (used when the source cannot be read)."""
    h = hashlib.sha256()

    def feed(c: types.CodeType) -> None:
        h.update(c.co_code)
        h.update(repr(c.co_names).encode())
        h.update(repr(c.co_varnames).encode())
        for const in c.co_consts:
            if isinstance(const, types.CodeType):
                feed(const)
            else:
                h.update(repr(const).encode())

    feed(code)
    return h.hexdigest()


_parse_lock = threading.Lock()


def _parse_source(source: str) -> ast.Module:
    """``ast.parse``, one thread at a time.

    CPython 3.11 keeps the AST constructor's recursion depth in state shared by
    threads, so parsing in several threads at once (the driver threads of a
    parallel sweep) can fail with "AST constructor recursion depth mismatch"
    (python/cpython#106905).
    """
    with _parse_lock:
        return ast.parse(source)


def _parse(obj: Any) -> ast.AST | None:
    try:
        source = inspect.getsource(obj)
    except (OSError, TypeError):
        return None
    try:
        tree = _parse_source(textwrap.dedent(source))
    except SyntaxError:
        return None
    if not tree.body:
        return None
    first = tree.body[0]
    if isinstance(first, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
        return _strip(first)
    return None  # a lambda or something inside an expression: hash its code instead


# Per-process memo: code object -> (source hash, names it uses, modules it imports).
_memo: dict[
    int, tuple[types.CodeType, str, frozenset[str], tuple[tuple[str, int, tuple[str, ...]], ...]]
] = {}


def _imports(tree: ast.AST | None) -> tuple[tuple[str, int, tuple[str, ...]], ...]:
    """``(module, level, names)`` of every import statement inside a definition."""
    if tree is None:
        return ()
    found: list[tuple[str, int, tuple[str, ...]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                found.append((alias.name, 0, ()))
        elif isinstance(node, ast.ImportFrom):
            found.append((node.module or "", node.level, tuple(a.name for a in node.names)))
    return tuple(found)


def _names(code: types.CodeType) -> set[str]:
    names = set(code.co_names) | set(code.co_freevars)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names(const)
    return names


def _function_facts(
    fn: types.FunctionType,
) -> tuple[str, frozenset[str], tuple[tuple[str, int, tuple[str, ...]], ...]]:
    code = fn.__code__
    hit = _memo.get(id(code))
    if hit is not None and hit[0] is code:
        return hit[1], hit[2], hit[3]
    tree = _parse(fn)
    digest = (
        hashlib.sha256(ast.dump(tree).encode()).hexdigest()
        if tree is not None
        else _code_hash(code)
    )
    facts = (digest, frozenset(_names(code)), _imports(tree))
    _memo[id(code)] = (code, *facts)
    return facts


def _class_hash(cls: type) -> str:
    tree = _parse(cls)
    if tree is not None:
        return hashlib.sha256(ast.dump(tree).encode()).hexdigest()
    h = hashlib.sha256(cls.__qualname__.encode())
    for name, member in sorted(vars(cls).items()):
        fn = _unwrap(member)
        if isinstance(fn, types.FunctionType):
            h.update(name.encode())
            h.update(_code_hash(fn.__code__).encode())
    return h.hexdigest()


def _unwrap(member: Any) -> Any:
    if isinstance(member, staticmethod | classmethod):
        return member.__func__
    if isinstance(member, property):
        return member.fget
    return member


def _constant_hash(value: Any) -> str | None:
    """Hash of a plain constant, or None when it is not plain data."""

    def plain(v: Any, depth: int = 0) -> bool:
        if depth > 20:
            return False
        if isinstance(v, _PLAIN):
            return True
        if isinstance(v, list | tuple | set | frozenset):
            return all(plain(x, depth + 1) for x in v)
        if isinstance(v, dict):
            return all(plain(k, depth + 1) and plain(x, depth + 1) for k, x in v.items())
        return False

    if not plain(value):
        return None
    text = repr(sorted(value, key=repr)) if isinstance(value, set | frozenset) else repr(value)
    return hashlib.sha256(f"{type(value).__name__}:{text}".encode()).hexdigest()


_assignments: dict[str, tuple[float, dict[str, str]]] = {}


def _module_assignments(module: types.ModuleType) -> dict[str, str]:
    """Hash of the source of each top-level assignment of a module, by assigned name.

    Constants are fingerprinted as written, not by their value at run time, so
    a module-level list that the program appends to does not change the key.
    """
    path = getattr(module, "__file__", None)
    if not path:
        return {}
    try:
        mtime = os.stat(path).st_mtime
    except OSError:
        return {}
    cached = _assignments.get(module.__name__)
    if cached is not None and cached[0] == mtime:
        return cached[1]
    try:
        tree = _parse_source(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        tree = ast.Module(body=[], type_ignores=[])
    parts: dict[str, list[str]] = {}
    for node in tree.body:
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = list(node.targets)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign) and getattr(node, "value", None):
            targets = [node.target]
        names = [n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)]
        for name in names:
            parts.setdefault(name, []).append(ast.dump(node))
    hashes = {
        name: hashlib.sha256("\n".join(dumps).encode()).hexdigest() for name, dumps in parts.items()
    }
    _assignments[module.__name__] = (mtime, hashes)
    return hashes


_IMMUTABLE = (type(None), bool, int, float, complex, str, bytes, tuple, frozenset)


# -- distributions ---------------------------------------------------------------

_DIST_DIR = re.compile(r"^(?P<name>.+?)-(?P<version>[^-]+)\.(dist-info|egg-info)$")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


@cache
def _dist_dirs(folder: str) -> tuple[str, ...]:
    try:
        return tuple(sorted(n for n in os.listdir(folder) if _DIST_DIR.match(n)))
    except OSError:
        return ()


def _read_name(folder: str, entry: str, fallback: str) -> str:
    meta = "METADATA" if entry.endswith(".dist-info") else "PKG-INFO"
    try:
        with open(os.path.join(folder, entry, meta), encoding="utf-8", errors="replace") as fh:
            for _ in range(20):
                line = fh.readline()
                if line.lower().startswith("name:"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return fallback


def _owns(folder: str, entry: str, top: str) -> bool:
    record = os.path.join(
        folder, entry, "RECORD" if entry.endswith(".dist-info") else "top_level.txt"
    )
    prefixes = (f"{top}/", f"{top}.", f"{top},")
    try:
        with open(record, encoding="utf-8", errors="replace") as fh:
            for line in fh:
                if line.startswith(prefixes) or line.strip() == top:
                    return True
    except OSError:
        pass
    return False


@cache
def distribution_of(top: str) -> tuple[str, str] | None:
    """``(distribution name, version)`` that installed the top-level module ``top``, or None.

    Reads the ``*.dist-info`` folders next to the module (name match first, then
    the RECORD files): much cheaper than scanning every installed distribution.
    """
    path = _top_level_path(top)
    if path is None or top in sys.stdlib_module_names:
        return None
    pkg = Path(path).parent if Path(path).name == "__init__.py" else Path(path)
    folder = str(pkg.parent)
    entries = _dist_dirs(folder)
    wanted = _canonical(top)
    for entry in entries:
        m = _DIST_DIR.match(entry)
        if m and _canonical(m["name"]) == wanted:
            return _read_name(folder, entry, m["name"]), m["version"]
    for entry in entries:
        m = _DIST_DIR.match(entry)
        if m and _owns(folder, entry, top):
            return _read_name(folder, entry, m["name"]), m["version"]
    version = getattr(sys.modules.get(top), "__version__", None)
    return (top, str(version)) if isinstance(version, str) else None


# -- the walk ----------------------------------------------------------------------


class Fingerprinter:
    """Fingerprints steps; reuse one instance for the steps of one pipeline run."""

    def __init__(self) -> None:
        self._done: dict[int, tuple[Any, CodePrint]] = {}

    def step(self, fn: Any) -> CodePrint:
        """The fingerprint of a step function and everything of the user's it reaches."""
        hit = self._done.get(id(fn))
        if hit is not None and hit[0] is fn:
            return hit[1]
        out = CodePrint()
        seen: set[int] = set()
        self._function(fn, out, seen, kind="step")
        self._done[id(fn)] = (fn, out)
        return out

    # Each visit records one object and queues what it references.
    def _function(self, fn: Any, out: CodePrint, seen: set[int], kind: str = "function") -> None:
        if id(fn) in seen:
            return
        seen.add(id(fn))
        from ninefold.pipelines.definition import module_name

        digest, names, imports = _function_facts(fn)
        key = f"{module_name(fn)}:{fn.__qualname__}"
        out.code[key] = {"kind": kind, "hash": digest}
        globals_ = fn.__globals__
        closure = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=False))
        for name in sorted(names):
            if name in closure:
                try:
                    value = closure[name].cell_contents
                except ValueError:  # an empty cell
                    continue
                self._value(value, f"{key}.<{name}>", names, out, seen)
            elif name in globals_:
                self._value(
                    globals_[name],
                    f"{module_name(fn)}:{name}",
                    names,
                    out,
                    seen,
                    sys.modules.get(fn.__module__),
                    name,
                )
        module = sys.modules.get(fn.__module__)
        for mod_name, level, imported in imports:
            self._import(mod_name, level, imported, module, names, out, seen)

    def _import(
        self,
        mod_name: str,
        level: int,
        imported: tuple[str, ...],
        origin: types.ModuleType | None,
        names: frozenset[str],
        out: CodePrint,
        seen: set[int],
    ) -> None:
        if level:
            package = getattr(origin, "__package__", None) or ""
            try:
                mod_name = importlib.util.resolve_name("." * level + mod_name, package)
            except (ImportError, ValueError):
                return
        module = sys.modules.get(mod_name)
        if module is None:
            if _installed_elsewhere(mod_name):
                self._distribution(mod_name, out)
                return
            try:
                module = importlib.import_module(mod_name)
            except Exception:
                return
        if not is_user_module(module):
            self._distribution(mod_name, out)
            return
        if imported:
            for name in imported:
                if hasattr(module, name):
                    self._value(
                        getattr(module, name), f"{mod_name}:{name}", names, out, seen, module, name
                    )
        else:
            self._module(module, names, out, seen)

    def _module(
        self, module: types.ModuleType, names: frozenset[str], out: CodePrint, seen: set[int]
    ) -> None:
        # A user module used as ``helpers.clean(...)``: follow the attributes the code names.
        for name in sorted(names):
            if name in vars(module):
                self._value(
                    vars(module)[name], f"{module.__name__}:{name}", names, out, seen, module, name
                )

    def _value(
        self,
        value: Any,
        key: str,
        names: frozenset[str],
        out: CodePrint,
        seen: set[int],
        module: types.ModuleType | None = None,
        attr: str | None = None,
    ) -> None:
        from ninefold.pipelines.definition import Pipeline, Step, module_name

        if isinstance(value, Step | Pipeline):
            value = value.fn
        if isinstance(value, types.ModuleType):
            if is_user_module(value):
                if id(value) not in seen:
                    seen.add(id(value))
                    self._module(value, names, out, seen)
            else:
                self._distribution(value.__name__, out)
            return
        if isinstance(value, types.FunctionType):
            if is_user_module(sys.modules.get(value.__module__)):
                self._function(value, out, seen)
            else:
                self._distribution(value.__module__, out)
            return
        if isinstance(value, type):
            if is_user_module(sys.modules.get(value.__module__)):
                self._class(value, out, seen)
            else:
                self._distribution(value.__module__, out)
            return
        owner = getattr(value, "__module__", None) or type(value).__module__
        if isinstance(value, (*_PLAIN, list, tuple, dict, set, frozenset)):
            if key in out.code:
                return
            written = (
                _module_assignments(module).get(attr)
                if module is not None and attr is not None and is_user_module(module)
                else None
            )
            digest = written or (_constant_hash(value) if isinstance(value, _IMMUTABLE) else None)
            if digest is not None:
                out.code[key] = {"kind": "constant", "hash": digest}
            return
        if isinstance(owner, str) and not is_user_module(sys.modules.get(owner)):
            self._distribution(owner, out)
            return
        # An instance of a user class: hash the class; the value itself only if its repr is stable.
        cls = type(value)
        if is_user_module(sys.modules.get(cls.__module__)):
            self._class(cls, out, seen)
        written = (
            _module_assignments(module).get(attr)
            if module is not None and attr is not None and is_user_module(module)
            else None
        )
        if written is not None and key not in out.code:
            out.code[key] = {"kind": "constant", "hash": written}
            return
        text = repr(value)
        if " at 0x" not in text and key not in out.code:
            out.code[key] = {
                "kind": "constant",
                "hash": hashlib.sha256(
                    f"{module_name(cls)}.{cls.__qualname__}:{text}".encode()
                ).hexdigest(),
            }

    def _class(self, cls: type, out: CodePrint, seen: set[int]) -> None:
        if id(cls) in seen:
            return
        seen.add(id(cls))
        from ninefold.pipelines.definition import module_name

        out.code[f"{module_name(cls)}:{cls.__qualname__}"] = {
            "kind": "class",
            "hash": _class_hash(cls),
        }
        for member in vars(cls).values():
            fn = _unwrap(member)
            if isinstance(fn, types.FunctionType):
                _, names, imports = _function_facts(fn)
                globals_ = fn.__globals__
                for name in sorted(names):
                    if name in globals_ and globals_[name] is not cls:
                        self._value(
                            globals_[name],
                            f"{module_name(fn)}:{name}",
                            names,
                            out,
                            seen,
                            sys.modules.get(fn.__module__),
                            name,
                        )
                module = sys.modules.get(fn.__module__)
                for mod_name, level, imported in imports:
                    self._import(mod_name, level, imported, module, names, out, seen)
        for base in cls.__mro__[1:]:
            if base is object:
                continue
            if is_user_module(sys.modules.get(base.__module__)):
                self._class(base, out, seen)
            else:
                self._distribution(base.__module__, out)

    def _distribution(self, module: str, out: CodePrint) -> None:
        top = module.split(".")[0]
        if top in sys.stdlib_module_names or top in ("builtins", "ninefold", "__main__"):
            return
        found = distribution_of(top)
        if found is not None:
            out.distributions[found[0]] = found[1]
