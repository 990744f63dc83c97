"""The import graph (#16): no cycle anywhere, and no arrow up from the plugins or the models.

Every import counts, at module level, inside a function (a lazy import is still an arrow: the
module cannot be understood or moved without the other) and under TYPE_CHECKING. Modules are read
with `ast`, never imported, so a cycle that only bites at run time is found here too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("auditor", "connectors", "models")

def module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {module_name(path): path for package in PACKAGES for path in sorted((REPO / package).rglob("*.py"))}


def _absolute(importer: str, is_package: bool, level: int, module: str | None) -> str:
    """`from ..x import y` inside `importer`, as an absolute module name."""
    if level == 0:
        return module or ""
    base = importer.split(".") if is_package else importer.split(".")[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imports_of(name: str, path: Path, known: set[str]) -> Iterator[str]:
    return imports_in(name, path.name == "__init__.py", path.read_text(encoding="utf-8"), known)


def imports_in(name: str, is_package: bool, source: str, known: set[str]) -> Iterator[str]:
    """The project modules module `name` imports, anywhere in its body."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield from _known_prefix(alias.name, known)
        elif isinstance(node, ast.ImportFrom):
            target = _absolute(name, is_package, node.level, node.module)
            for alias in node.names:
                submodule = f"{target}.{alias.name}" if target else alias.name
                if submodule in known:  # `from package import module`
                    yield submodule
                else:
                    yield from _known_prefix(target, known)


def _known_prefix(dotted: str, known: set[str]) -> Iterator[str]:
    """The longest project module `dotted` names (an attribute path stops at its module)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in known:
            yield candidate
            return


def import_graph() -> dict[str, set[str]]:
    modules = all_modules()
    known = set(modules)
    return {
        name: {target for target in imports_of(name, path, known) if target != name} for name, path in modules.items()
    }


def _within(module: str, package: str) -> bool:
    return module == package or module.startswith(package + ".")


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's components of more than one module: each one holds at least one cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


SAMPLE = """
from __future__ import annotations
import json
from typing import TYPE_CHECKING
import pkg.plain
from pkg.sub import attribute
from pkg import sibling
from . import relative
from .sub.deep import name
from .. import top
if TYPE_CHECKING:
    from pkg.typed import Type
def later():
    import pkg.lazy.thing
    from pkg.inner import value
"""


def test_the_graph_sees_every_kind_of_import() -> None:
    """The parser itself: a checker that misses an import kind would pass on a cyclic tree."""
    known = {"pkg", "pkg.plain", "pkg.sub", "pkg.sub.deep", "pkg.sibling", "pkg.relative", "top", "pkg.typed"}
    known |= {"pkg.lazy", "pkg.inner", "pkg.mod"}
    found = set(imports_in("pkg.mod", False, SAMPLE, known))
    assert found == {
        "pkg.plain",
        "pkg.sub",  # `from pkg.sub import attribute`: the module, not the attribute
        "pkg.sibling",  # `from pkg import sibling`: the submodule
        "pkg.relative",
        "pkg.sub.deep",
        "top",  # `from .. import top` inside pkg.mod: two levels up is the root
        "pkg.typed",  # under TYPE_CHECKING
        "pkg.lazy",  # inside a function
        "pkg.inner",
    }
    assert _absolute("connectors.twitter.connector", False, 1, "settings") == "connectors.twitter.settings"
    assert _absolute("connectors.twitter", True, 1, None) == "connectors.twitter"
    assert _absolute("connectors.twitter.pull", False, 2, "base") == "connectors.base"
    assert strongly_connected({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_real_graph_has_the_arrows_everyone_knows() -> None:
    graph = import_graph()
    assert "auditor.collect" in graph["auditor.run"]
    assert "connectors.base" in graph["connectors.twitter.doctor"]
    assert "connectors.twitter.doctor" in graph["connectors.twitter.connector"]  # a lazy import


def test_no_import_cycle() -> None:
    cycles = list(strongly_connected(import_graph()))
    assert not cycles, "import cycles (break them by moving the shared definition down):\n" + "\n".join(
        " <-> ".join(component) for component in cycles
    )


@pytest.mark.parametrize(("lower", "forbidden"), [("connectors", ("auditor",)), ("models", ("auditor", "connectors"))])
def test_no_import_upward(lower: str, forbidden: tuple[str, ...]) -> None:
    """The plugins and the store's models stand below the core: they never import it."""
    graph = import_graph()
    upward = sorted(
        f"{module} -> {target}"
        for module, targets in graph.items()
        if _within(module, lower)
        for target in targets
        if any(_within(target, package) for package in forbidden)
    )
    assert not upward, upward
