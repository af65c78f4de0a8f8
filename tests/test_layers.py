"""The architecture's one-way dependencies, checked over the import graph of the source (imports
inside functions included): a wrong arrow fails with the two module names and the layers.

Layers, lowest first (peers on one line may not import each other):

    core (mmadbench.errors, .version, .device) -> datasets -> detectors -> benchmark.measure
    -> benchmark.execution -> benchmark.reporting -> benchmark.reproduction | benchmark.performance
    -> entry points (mmadbench.cli, mmadbench.testing, the mmadbench package itself)

A module may import its own layer and any layer below it, and no module imports another
subpackage's private (underscore) names. Run alone: python -m pytest tests/test_layers.py
"""

from __future__ import annotations

import ast
from pathlib import Path

from mmadbench.benchmark.measure.identity import _imported_modules

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"mmadbench": "mmadbench", "benchmark": "mmadbench.benchmark", "datasets": "mmadbench.datasets", "detectors": "mmadbench.detectors"}  # fmt: skip
LAYERS: list[list[tuple[str, tuple[str, ...]]]] = [
    [("core", ("mmadbench.errors", "mmadbench.version", "mmadbench.device", "mmadbench.benchmark"))],
    [("datasets", ("mmadbench.datasets",))],
    [("detectors", ("mmadbench.detectors",))],
    [("measure", ("mmadbench.benchmark.measure",))],
    [("execution", ("mmadbench.benchmark.execution",))],
    [("reporting", ("mmadbench.benchmark.reporting",))],
    [("reproduction", ("mmadbench.benchmark.reproduction",)), ("performance", ("mmadbench.benchmark.performance",))],
    [("entry points", ("mmadbench.cli", "mmadbench.testing", "mmadbench.__main__", "mmadbench"))],
]


def modules() -> dict[str, tuple[Path, bool]]:
    """Every module of the project: dotted name -> (file, is a package)."""
    out = {}
    for folder, package in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = path.relative_to(ROOT / folder).with_suffix("").parts
            is_package = parts[-1] == "__init__"
            name = ".".join([package, *(parts[:-1] if is_package else parts)])
            out[name] = (path, is_package)
    return out


def layer_of(module: str) -> tuple[int, str]:
    """(level, group) of a module: the group whose prefix matches it most closely."""
    best = (-1, "", "")
    for level, groups in enumerate(LAYERS):
        for group, prefixes in groups:
            for prefix in prefixes:
                if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > len(best[2]):
                    best = (level, group, prefix)
    if best[0] < 0:
        raise AssertionError(f"{module} belongs to no layer: add it to LAYERS in tests/test_layers.py")
    return best[0], best[1]


def imports(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The project modules a module's source imports (names resolved to their module)."""
    found = set()
    for name in _imported_modules(ast.parse(source), module, is_package):
        while name and name not in known:
            name = name.rpartition(".")[0]
        if name and name != module:
            found.add(name)
    return found


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    """One line per import that points up, or across to a peer: importer, imported, layers."""
    out = []
    for importer, imported in sorted(graph.items()):
        low, group = layer_of(importer)
        for target in sorted(imported):
            level, other = layer_of(target)
            if level > low or (level == low and other != group):
                out.append(f"{importer} ({group}) imports {target} ({other}): dependencies point down only")
    return out


def _subpackage(module: str) -> str:
    parts = module.split(".")
    return ".".join(parts[:3]) if parts[:2] == ["mmadbench", "benchmark"] else ".".join(parts[:2])


def private_violations(source: str, module: str, is_package: bool, known: set[str]) -> list[str]:
    """`from X import _name` where X is in another subpackage than the importer."""
    out = []
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.ImportFrom):
            continue
        base = node.module or ""
        if node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
        if base not in known or _subpackage(base) == _subpackage(module):
            continue
        out += [f"{module} imports {base}.{a.name}, a private name of another subpackage" for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]  # fmt: skip
    return out


def project_graph() -> tuple[dict[str, set[str]], list[str]]:
    found = modules()
    known = set(found)
    graph, private = {}, []
    for name, (path, is_package) in found.items():
        source = path.read_text()
        graph[name] = imports(source, name, is_package, known)
        private += private_violations(source, name, is_package, known)
    return graph, private


def test_dependencies_point_one_way():
    graph, _ = project_graph()
    assert len(graph) > 80  # the whole project was read
    assert layer_violations(graph) == []


def test_no_module_reaches_into_another_subpackages_private_names():
    _, private = project_graph()
    assert private == []


def test_a_wrong_arrow_fails_with_the_module_names():
    graph = {"mmadbench.benchmark.measure.evaluate": {"mmadbench.benchmark.reporting.report"}}
    assert layer_violations(graph) == [
        "mmadbench.benchmark.measure.evaluate (measure) imports mmadbench.benchmark.reporting.report (reporting): "
        "dependencies point down only"
    ]
    peers = {"mmadbench.benchmark.performance.perf": {"mmadbench.benchmark.reproduction.compare"}}
    assert "(performance) imports mmadbench.benchmark.reproduction.compare (reproduction)" in layer_violations(peers)[0]
    assert layer_violations({"mmadbench.benchmark.reporting.report": {"mmadbench.benchmark.measure.cell"}}) == []


def test_a_private_import_across_subpackages_fails():
    known = {"mmadbench.benchmark.execution.runner", "mmadbench.benchmark.measure.cell"}
    source = "from mmadbench.benchmark.execution.runner import _order\n"
    (line,) = private_violations(source, "mmadbench.benchmark.reporting.report", False, known)
    assert "mmadbench.benchmark.execution.runner._order" in line
    own = "from .runner import _order\n"
    assert private_violations(own, "mmadbench.benchmark.execution.executors", False, known) == []
