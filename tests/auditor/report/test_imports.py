"""auditor/report/ has no import cycle: the writers sit below publish.py, never beside it (#16).

Every import counts, at module level, inside a function or under TYPE_CHECKING: a lazy import is
still an arrow, and a cycle through one breaks as soon as somebody moves it to the top."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[3] / "auditor" / "report"
WRITERS = ("html", "markdown", "ocsf", "files")  # what publish.py calls to write a report's files


def _imports(module: str) -> set[str]:
    """The auditor.report modules `module` imports, by short name."""
    tree = ast.parse((PACKAGE / f"{module}.py").read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = "auditor.report" if node.level == 1 and not node.module else node.module or ""
            if node.level == 1 and node.module:
                base = f"auditor.report.{node.module}"
            names = [base, *(f"{base}.{alias.name}" for alias in node.names)]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["auditor", "report"] and len(parts) > 2 and (PACKAGE / f"{parts[2]}.py").is_file():
                found.add(parts[2])
    found.discard(module)
    return found


def _graph() -> dict[str, set[str]]:
    return {path.stem: _imports(path.stem) for path in sorted(PACKAGE.glob("*.py")) if path.stem != "__init__"}


def _cycle_from(graph: dict[str, set[str]], start: str) -> list[str] | None:
    """A path start -> ... -> start, if there is one."""
    stack = [(start, [start])]
    seen: set[str] = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(graph[node]):
            if nxt == start:
                return [*path, start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def test_the_report_package_has_no_import_cycle() -> None:
    graph = _graph()
    cycles = [" -> ".join(c) for module in graph if (c := _cycle_from(graph, module))]
    assert not cycles, "import cycles in auditor/report/: " + "; ".join(cycles)


@pytest.mark.parametrize("writer", WRITERS)
def test_a_writer_imports_nothing_from_publish(writer: str) -> None:
    assert "publish" not in _imports(writer)


def test_publish_imports_the_writers_it_calls() -> None:
    """report.html and summary.md are written by name: no `ImportError` can quietly leave one out."""
    assert {"html", "markdown", "files"} <= _imports("publish")
