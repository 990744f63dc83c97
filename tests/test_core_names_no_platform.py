"""The core (auditor/, models/) names no platform; nothing under connectors/ imports the core.

A platform is one package under connectors/ (or a third-party package) registered through the
`auditor.connectors` entry point: adding one must not need an edit of a core file. The demo
division (auditor/demo/) is data about platforms and is excepted.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORE = ("auditor", "models")
SOURCES = ("*.py", "*.j2", "*.json", "*.css", "*.js", "*.mako")
# Platform and SDK names, their domains, and the one connector the core used to special-case by name.
PLATFORM = re.compile(
    r"twitter|facebook|youtube|instagram|tiktok|tweepy|google|\bx\.com\b|\bfb\.com\b|[\"']manual[\"']",
    re.IGNORECASE,
)


def _core_files() -> list[Path]:
    files: list[Path] = []
    for package in CORE:
        for pattern in SOURCES:
            files += [p for p in (REPO / package).rglob(pattern) if "demo" not in p.relative_to(REPO).parts]
    return sorted(set(files))


def test_the_core_names_no_platform() -> None:
    files = _core_files()
    assert any(p.name == "report.schema.json" for p in files) and any(p.suffix == ".j2" for p in files)
    found = [
        f"{path.relative_to(REPO)}:{number}: {line.strip()[:100]}"
        for path in files
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if PLATFORM.search(line)
    ]
    assert not found, "platform names in the core (declare them on the connector instead):\n" + "\n".join(found)


def _imports(tree: ast.AST) -> list[str]:
    """Every module an import statement names, wherever it is (also under `if TYPE_CHECKING:`)."""
    names: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
    return names


def test_no_connector_module_imports_the_core() -> None:
    modules = sorted((REPO / "connectors").rglob("*.py"))
    assert len(modules) > 10
    upward = [
        f"{path.relative_to(REPO)} imports {name}"
        for path in modules
        for name in _imports(ast.parse(path.read_text(encoding="utf-8")))
        if name == "auditor" or name.startswith("auditor.")
    ]
    assert not upward, "connectors/ must not import auditor/:\n" + "\n".join(upward)


def test_the_import_check_sees_imports_under_type_checking() -> None:
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from auditor.policy import Policy\n")
    assert "auditor.policy" in _imports(tree)
