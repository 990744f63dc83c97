"""The pipeline's shape: stages import forward only, and nothing calls back into the orchestrator."""

from __future__ import annotations

import ast
from pathlib import Path

AUDITOR = Path(__file__).resolve().parents[2] / "auditor"
# The stages in pipeline order (docs/architecture.md).
STAGES = ["inputs", "collect", "merge", "identity", "evaluate", "reconcile", "report.publish", "notify"]
# collect.audit_account is the per-account job distributed workers run (pull, merge, resolve, account
# rules): it hands its snapshot on to those stages. No other stage knows about a later one.
PER_ACCOUNT_JOB = {"collect": {"merge", "identity", "evaluate"}}


def runtime_imports(path: Path) -> set[str]:
    """`auditor.*` modules a file imports when it runs (anywhere in it, but not under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skipped |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("auditor"):
            found.add(node.module.removeprefix("auditor").lstrip("."))
            if node.module == "auditor":
                found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name.removeprefix("auditor.") for a in node.names if a.name.startswith("auditor.")}
    return found


def module_path(name: str) -> Path:
    return AUDITOR / (name.replace(".", "/") + ".py")


def test_no_stage_imports_a_later_stage() -> None:
    problems = []
    for index, stage in enumerate(STAGES):
        later = set(STAGES[index + 1 :]) - PER_ACCOUNT_JOB.get(stage, set())
        wrong = runtime_imports(module_path(stage)) & later
        if wrong:
            problems.append(f"{stage} imports {sorted(wrong)}")
    assert not problems


def test_only_the_command_line_calls_the_orchestrator() -> None:
    """run.py calls the stages; a module it calls that imported run back (discovery's requests once did)
    would be a cycle, and the dry run used to borrow run.py's private helpers."""
    callers = {
        str(path.relative_to(AUDITOR))
        for path in AUDITOR.rglob("*.py")
        if "run" in runtime_imports(path) and not path.name.startswith(("cli", "run", "__main__"))
    }
    # The workers' jobs are the other scheduler: they call open_run and finish_run, as `auditor run` does.
    assert callers <= {"workers/jobs.py"}
    private = [
        f"{path.name}: {alias.name}"
        for path in AUDITOR.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "auditor.run"
        for alias in node.names
        if alias.name.startswith("_")
    ]
    assert private == []  # the dry run estimates with collect.estimate, not with run.py's internals
