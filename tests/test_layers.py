"""The layers are contracts: an arrow that runs up the layers fails here, in CI, not in review.

The graph is read from the source: every `import`, at module level or inside a function (either
ties the modules together). Bottom up: vision (pure functions over frames) and store (the
database) import nothing above them; the stages (importing, simulate, examples, live, results,
audit, enrolment) build on those; workers and web on the stages, never on each other; cli and
bench are the composition roots: they may import anything, and nothing imports them.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).parents[1]
# Below every layer: anyone may import them.
BASE = ("attendance.errors", "attendance.config", "attendance.text", "attendance.times")
ROOTS = ("attendance.cli", "attendance.bench", "attendance.__main__")
TOP_LEVEL_LIMIT = 10  # modules directly in attendance/, besides __init__ and __main__


def _modules() -> dict[str, Path]:
    found = {}
    for package in ("attendance", "workers"):
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" not in path.parts:
                parts = path.relative_to(ROOT).with_suffix("").parts
                found[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return found


def _imports(path: Path) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


MODULES = _modules()
GRAPH = {
    name: {target for target in _imports(path) if target in MODULES and target != name}
    for name, path in MODULES.items()
}


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def arrows(source: tuple[str, ...], allowed: tuple[str, ...]) -> list[str]:
    """Imports from modules in `source` of modules neither in `allowed` nor in BASE."""
    return [
        f"{name} → {target}"
        for name, targets in sorted(GRAPH.items())
        if _within(name, source)
        for target in sorted(targets)
        if not _within(target, (*source, *allowed, *BASE))
    ]


def test_the_graph_is_read():
    """Pinned: the walk finds both packages and their arrows (an empty graph passes anything)."""
    assert "attendance.vision.counter" in MODULES and "workers.sampler" in MODULES
    assert "attendance.vision.detectors" in GRAPH["attendance.vision.counter"]
    assert arrows(("attendance.vision",), ()) == []
    assert arrows(("attendance.vision",), ()) != arrows(("workers",), ())


def test_vision_and_store_import_nothing_above_them():
    assert arrows(("attendance.vision",), ()) == []
    assert arrows(("attendance.store",), ()) == []


def test_web_and_workers_do_not_import_each_other():
    assert [arrow for arrow in arrows(("attendance.web",), ()) if "→ workers" in arrow] == []
    assert arrows(("workers",), ("attendance",)) == []  # nothing but the package…
    assert [arrow for arrow in arrows(("workers",), ()) if "attendance.web" in arrow] == []


def test_workers_import_neither_the_importer_nor_the_edges():
    """Workers sample what the store holds; the importer, web, CLI and benchmarks sit above them
    (the stream URL rule both workers and importer apply lives in `attendance.store.sites`)."""
    above = ("attendance.importing", "attendance.web", "attendance.cli", "attendance.bench")
    upward = [arrow for arrow in arrows(("workers",), ()) if _within(arrow.split(" → ")[1], above)]
    assert upward == []


def test_nothing_imports_the_composition_roots():
    outside = tuple(name for name in MODULES if not _within(name, ROOTS))
    assert [arrow for arrow in arrows(outside, ()) if _within(arrow.split(" → ")[1], ROOTS)] == []


def test_no_circles():
    """No module reaches itself through its imports (Tarjan's strongly connected components)."""
    assert [sorted(component) for component in _components() if len(component) > 1] == []


def test_few_modules_at_the_top():
    """The top of `attendance/` holds what every layer shares; the rest lives in its stage."""
    top = sorted(path.stem for path in (ROOT / "attendance").glob("*.py"))
    assert len([name for name in top if not name.startswith("__")]) <= TOP_LEVEL_LIMIT, top


def _components() -> list[set[str]]:
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            found.append(component)

    for node in GRAPH:
        if node not in index:
            visit(node)
    return found
