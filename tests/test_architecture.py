"""The layout stays walkable: no import cycle between modules or between subpackages.

import-linter (``make lint``) checks the layers; this test checks what layers cannot: that no two
modules of one package, or two subpackages, import each other in a circle (function-level imports
included, since they are cycles all the same when they run).
"""

from __future__ import annotations

import ast

from .conftest import REPO

PACKAGE = REPO / "pipeline"


def module_graph(collapse: bool) -> dict[str, set[str]]:
    """Module → the pipeline modules it imports; with ``collapse``, each module counts as its
    first-level part (``pipeline.executor.run`` → ``pipeline.executor``)."""
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        names[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def node(name: str) -> str:
        return ".".join(name.split(".")[:2]) if collapse else name

    graph: dict[str, set[str]] = {node(name): set() for name in names}
    for name, path in names.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for statement in ast.walk(ast.parse(path.read_text("utf-8"))):
            targets: list[str] = []
            if isinstance(statement, ast.Import):
                targets = [alias.name for alias in statement.names]
            elif isinstance(statement, ast.ImportFrom):
                base = statement.module or ""
                if statement.level:
                    base = ".".join(
                        [*package.split(".")[: len(package.split(".")) - statement.level + 1], base]
                    )
                targets = [
                    f"{base}.{a.name}" if f"{base}.{a.name}" in names else base for a in statement.names
                ]
            for target in targets:
                while target and target not in names:
                    target = target.rpartition(".")[0]
                if target and node(target) != node(name):
                    graph[node(name)].add(node(target))
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for other in graph[node]:
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_modules() -> None:
    assert cycles(module_graph(collapse=False)) == []


def test_no_import_cycle_between_subpackages() -> None:
    assert cycles(module_graph(collapse=True)) == []


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_each_speech_engine_the_registry_names_is_a_module_of_the_tts_layer() -> None:
    """The registry names engines as strings (so the config can check a name without importing the
    engine), which import-linter cannot see: this checks what it would, and that each resolves."""
    from pipeline.registry import TTS_ENGINES, resolve

    for name, entry in TTS_ENGINES.items():
        assert isinstance(entry, str), name
        module = entry.partition(":")[0]
        assert (
            module.startswith("pipeline.tts.")
            and (PACKAGE / "tts" / f"{module.rpartition('.')[2]}.py").is_file()
        )
        assert callable(resolve(entry)), name
