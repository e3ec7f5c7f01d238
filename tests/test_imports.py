"""The package's modules import one way: no chain of imports, at the top of a module or inside a function, leads
from a module back to itself (a cycle works or fails by import order, and hides which layer is on top)."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "linvit_cli"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _under_type_checking(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _imports(path: Path, modules: set[str]) -> set[str]:
    """The package's modules that importing `path` and running its code imports (annotations-only imports
    aside)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if _under_type_checking(node, parents):
            continue
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = ".".join(base[: len(base) - node.level + 1]) if node.level else ""
            source = ".".join(part for part in (base, node.module) if part)
            found.add(source)
            found |= {f"{source}.{alias.name}" for alias in node.names}  # `from . import module`
    # importing a.b.c runs a and a.b first; a module's own packages have run before it in any case
    found |= {".".join(module.split(".")[:n]) for module in found for n in range(1, module.count(".") + 1)}
    return {module for module in found if module in modules and not f"{name}.".startswith(f"{module}.")}


def _graph() -> dict[str, set[str]]:
    paths = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: _imports(path, set(paths)) for name, path in paths.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of the graph, as the list of modules along it, or None."""
    state: dict[str, str] = {}
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = "open"
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == "open":
                return path[path.index(target):] + [target]
            if target not in state and (found := visit(target)):
                return found
        state[module] = "done"
        path.pop()
        return None

    for module in sorted(graph):
        if module not in state and (found := visit(module)):
            return found
    return None


def test_the_graph_sees_the_imports():
    graph = _graph()
    assert {"linvit_cli.names", "linvit_cli.registry.load"} <= graph["linvit_cli.resolve"] | {"linvit_cli.names"}
    assert "linvit_cli.hub_repo" in graph["linvit_cli.resolve"]
    assert "linvit_cli.kernels" in graph["linvit_cli.loading"]  # `from . import kernels`
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_no_module_imports_itself_through_others():
    assert _cycle(_graph()) is None
