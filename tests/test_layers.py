"""The server's layers import downwards only: no import cycle between its top-level
modules and packages (read from the source with `ast`, imports inside functions
included — a lazy import is a dependency all the same), and only the command line
imports the app factory."""

from __future__ import annotations

import ast
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"

#: `server.commands` holds the command line's subcommands: one layer with `server.cli`.
SAME_LAYER = {"server.commands": "server.cli"}


def _modules() -> dict[str, Path]:
    found = {}
    for path in SERVER.rglob("*.py"):
        parts = list(path.relative_to(SERVER.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    targets: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            stem = ".".join([*base, *([node.module] if node.module else [])])
            targets.update(
                f"{stem}.{a.name}" if f"{stem}.{a.name}" in known else stem for a in node.names
            )
    found = set()
    for target in targets:
        while target not in known and "." in target:
            target = target.rsplit(".", 1)[0]
        if target in known and target != name:
            found.add(target)
    return found


def layer(module: str) -> str:
    top = ".".join(module.split(".")[:2])
    return SAME_LAYER.get(top, top)


def import_graph() -> dict[str, set[str]]:
    """Module → the modules of server it imports."""
    known = _modules()
    return {name: _imports(name, path, known) for name, path in known.items()}


def layer_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for module, targets in import_graph().items():
        edges = graph.setdefault(layer(module), set())
        edges.update(layer(t) for t in targets if layer(t) != layer(module))
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
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_the_servers_layers() -> None:
    graph = layer_graph()
    found = cycles(graph)
    detail = [
        f"{' ↔ '.join(c)}: " + ", ".join(f"{a} → {b}" for a in c for b in sorted(graph[a] & set(c)))
        for c in found
    ]
    assert found == [], "import cycles between layers:\n" + "\n".join(detail)


def test_the_check_sees_a_cycle() -> None:
    """The cycle finder itself: the named cycles this test guards against are found."""
    assert cycles({"app": {"sockets"}, "sockets": {"realtime"}, "realtime": {"app"}}) == [
        ["app", "realtime", "sockets"]
    ]
    assert cycles({"auth": {"context"}, "context": set()}) == []
    assert layer("server.realtime.events") == "server.realtime"
    assert layer("server.commands.demo") == "server.cli"


def test_only_the_command_line_imports_the_app_factory() -> None:
    importers = sorted(layer(m) for m, targets in import_graph().items() if "server.app" in targets)
    assert set(importers) <= {"server.cli"}, importers


def test_lower_layers_never_import_the_web_side() -> None:
    """Domain, store, auth and realtime never reach up into the API, the pages or the
    app: they are reached through `Context` instead."""
    upper = {"server.api", "server.web", "server.app", "server.cli"}
    graph = layer_graph()
    for lower in (
        "server.store",
        "server.auth",
        "server.context",
        "server.realtime",
        "server.accounts",
        "server.tickets",
        "server.dossiers",
        "server.notify",
    ):
        assert not graph[lower] & upper, (lower, sorted(graph[lower] & upper))
