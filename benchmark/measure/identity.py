"""What a cell's identity is made of: fingerprints of its data and of the code it runs, the
library versions that shape its numbers, and the git revision of the harness.

Fingerprints feed each cell's id (see `mmadbench.benchmark.measure.cell`): a change of the data or
of the code a detector runs makes new cells, so a resumed sweep never reuses a stale one. Code
counts by its content, not by where it lives, so moving a module changes no id.
"""

from __future__ import annotations

import ast
import functools
import hashlib
import importlib
import importlib.util
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import numpy as np

_LIBRARIES = ("mmadbench", "numpy", "scikit-learn", "scipy", "pyod", "torch", "transformers", "pandas")
_OUR_PACKAGE = "mmadbench"


def versions() -> dict[str, str]:
    """Installed versions of the libraries that shape the numbers, plus Python's."""
    out = {"python": platform.python_version()}
    for lib in _LIBRARIES:
        try:
            out[lib] = metadata.version(lib)
        except metadata.PackageNotFoundError:
            out[lib] = "missing"
    return out


# Generated outputs: a run rewrites them, so their changes do not make the code revision dirty.
GENERATED_PATHS = ("results", "README.md")


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The project's git commit, with '+dirty' when tracked files other than the generated
    outputs (GENERATED_PATHS) have uncommitted changes; 'unknown' outside a git checkout."""
    here = Path(__file__).resolve().parents[2]
    try:
        rev = subprocess.run(
            ["git", "rev-parse", "--short=12", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        if rev.returncode != 0:
            return "unknown"
        excluded = [f":(exclude){p}" for p in GENERATED_PATHS]
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", *excluded],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
        ).stdout.strip()
        return rev.stdout.strip() + ("+dirty" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def data_fingerprint(data) -> str:
    """SHA-256 over every modality (name, kind, dtype, shape, values) in stored order, and the labels."""
    h = hashlib.sha256()
    for name in data.names:  # stored order: injection and detectors follow it
        arr = np.ascontiguousarray(data[name])
        h.update(f"{name}:{data.kinds[name]}:{arr.dtype}:{arr.shape}".encode())
        h.update(arr.tobytes())
    if data.labels is not None:
        h.update(np.ascontiguousarray(data.labels).tobytes())
    return h.hexdigest()


def _strip_docstrings(tree: ast.AST) -> ast.AST:
    """The tree without docstrings, so editing prose does not change a code fingerprint."""
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if (
                body
                and isinstance(body[0], ast.Expr)
                and isinstance(getattr(body[0], "value", None), ast.Constant)
                and isinstance(body[0].value.value, str)
            ):
                node.body = body[1:] or [ast.Pass()]
    return tree


def _runtime_nodes(tree: ast.AST):
    """Every node of `tree` except the bodies of `if TYPE_CHECKING:` blocks (never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def _imported_modules(tree: ast.AST, module: str, is_package: bool) -> set[str]:
    """Names of the modules `tree` imports anywhere (function bodies too), relative ones resolved."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                try:
                    base = importlib.util.resolve_name("." * node.level + base, package)
                except (ImportError, ValueError):
                    continue
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from . import networks`
    return found


def _source_of(name: str) -> tuple[str, bool] | None:
    """(source text, is a package) of an importable module, or None when it has no Python source."""
    module = sys.modules.get(name)
    path = getattr(module, "__file__", None) if module is not None else None
    if path is None:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            return None
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return None
        path = spec.origin
    if not str(path).endswith(".py"):
        return None
    return Path(path).read_text(), Path(path).name == "__init__.py"


@functools.cache
def code_fingerprint(*modules: str) -> str:
    """SHA-256 over the code of `modules` and every module of this project they import,
    transitively, imports inside functions included; third-party code is covered by the library
    versions stored on each row instead. Independent of where code lives: each module counts by
    its content alone (docstrings dropped, and imports of this project without their module, see
    `module_digest`), and
    the digests are hashed in sorted order, so moving or renaming a module changes no cell."""
    pending, seen = list(modules), {}
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        found = _source_of(name)
        if found is None:
            seen[name] = ""
            continue
        source, is_package = found
        tree = ast.parse(source)
        for dep in _imported_modules(tree, name, is_package):
            if dep.split(".")[0] == _OUR_PACKAGE or dep in modules:
                pending.append(dep)
        seen[name] = module_digest(tree)
    h = hashlib.sha256()
    for digest in sorted(d for d in seen.values() if d):
        h.update(f"{digest}\0".encode())
    return h.hexdigest()


class _ProjectImportsWithoutPlace(ast.NodeTransformer):
    """Imports of this project's modules keep what they import, and the aliases (importing another
    function is another computation), but lose where it comes from, which says where code lives,
    not what it does; the imported modules' own content is hashed beside."""

    def visit_Import(self, node: ast.Import) -> ast.AST:
        ours = [a for a in node.names if a.name.split(".")[0] == _OUR_PACKAGE]
        for alias in ours:  # `import mmadbench.x.y as z`: the module's last name and its alias
            alias.name = alias.name.rpartition(".")[2]
        return node

    def visit_ImportFrom(self, node: ast.ImportFrom) -> ast.AST:
        if node.level or (node.module or "").split(".")[0] == _OUR_PACKAGE:
            node.module, node.level = None, 0
        return node


def module_digest(tree: ast.Module) -> str:
    """A module's code as hashed: its AST without docstrings, and imports of this project without
    the module they come from; empty ('') for a module with nothing but imports of this project,
    such as a package's docstring-only __init__ or one that re-exports names."""
    tree = _ProjectImportsWithoutPlace().visit(_strip_docstrings(tree))
    body = [n for n in tree.body if not isinstance(n, ast.Pass)]
    if all(isinstance(n, ast.ImportFrom) and n.module is None for n in body):
        return ""
    return hashlib.sha256(ast.dump(tree).encode()).hexdigest()
