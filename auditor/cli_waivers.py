"""Waiver commands: `auditor waivers` (what is waived, what expires soon, what lapsed) and
`auditor unwaive` (take one back, keeping who granted it and who revoked it, when and why).

Kept apart from auditor/cli.py; `register_waivers(app)` adds them. Exit codes: 0 done, 2 bad input.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from auditor.exit_codes import EXIT_BAD_INPUT

if TYPE_CHECKING:  # imported by the commands that use them, so `auditor --help` starts fast
    from auditor.input_files import InputProblem
    from auditor.policy import Policy

console = Console(stderr=False)
err = Console(stderr=True)

DivisionOption = Annotated[
    Path,
    typer.Option("--division", "-d", envvar="AUDITOR_DIVISION", help="Division folder (its policy.yaml is read)."),
]


def policy_or_exit(division: Path) -> Policy:
    """The division's policy (defaults when it has no policy.yaml); a broken one is bad input."""
    from auditor.inputs import load_policy

    problems: list[InputProblem] = []
    policy = load_policy(division / "policy.yaml", problems)
    for problem in problems:
        err.print(str(problem), markup=False, highlight=False, soft_wrap=True)
    if problems:
        raise typer.Exit(EXIT_BAD_INPUT)
    return policy


def waivers(
    division: DivisionOption = Path("division"),
    history: Annotated[bool, typer.Option("--history", help="Also list revoked waivers.")] = False,
) -> None:
    """List waivers: active, expiring (within the policy's waiver_warning_days) and expired."""
    from auditor.reconcile import waiver_state
    from auditor.settings import Settings
    from auditor.store import all_waivers, latest_finding, pattern_waivers
    from models.db import open_store, session

    policy = policy_or_exit(division)
    today = datetime.now(UTC).date()
    engine = open_store(Settings())
    table = Table(show_header=True, title=f"Waivers on {today} (expiring: within {policy.waiver_warning_days} days)")
    for column in ("state", "expires", "rule", "account", "subject", "approver", "reason", "source"):
        table.add_column(column)
    with session(engine) as db:
        for waiver in all_waivers(db):
            if waiver.revoked and not history:
                continue
            finding = latest_finding(db, waiver.fingerprint)
            state = waiver_state(waiver.expires_on, waiver.revoked, today, policy.waiver_warning_days)
            if waiver.revoked:
                when = f"{waiver.revoked_at:%Y-%m-%d}" if waiver.revoked_at else "?"
                state = f"revoked {when} by {waiver.revoked_by or '?'}: {waiver.revoke_reason or '?'}"
            table.add_row(
                state,
                waiver.expires_on.isoformat(),
                finding.rule_id if finding else "?",
                finding.account_key if finding else "?",
                finding.subject if finding else waiver.fingerprint,
                waiver.approver,
                waiver.reason,
                f"auditor waive {waiver.fingerprint} ({waiver.created_at:%Y-%m-%d})",
            )
        for pattern in pattern_waivers(db):
            state = waiver_state(pattern.expires_on, False, today, policy.waiver_warning_days)
            table.add_row(
                state,
                pattern.expires_on.isoformat(),
                pattern.rule,
                pattern.account,
                pattern.subject,
                pattern.approver,
                pattern.reason,
                pattern.source,
            )
    Console(width=220).print(table)


def unwaive(
    fingerprint: Annotated[str, typer.Argument(help="The waived finding's fingerprint.")],
    reason: Annotated[str, typer.Option("--reason", help="Why the waiver is taken back.")],
    by: Annotated[str, typer.Option("--by", help="Who takes it back.")],
) -> None:
    """Revoke a finding's waiver; the waiver stays in the history with who revoked it, when and why."""
    from auditor.reconcile import pattern_matches
    from auditor.settings import Settings
    from auditor.store import latest_finding, pattern_waivers, revoke_waivers
    from models.db import open_store, session

    if not reason.strip() or not by.strip():
        err.print("--reason and --by must not be empty")
        raise typer.Exit(EXIT_BAD_INPUT)
    engine = open_store(Settings())
    now = datetime.now(UTC)
    with session(engine) as db:
        revoked = revoke_waivers(db, fingerprint, by.strip(), reason.strip(), now)
        if not revoked:
            finding = latest_finding(db, fingerprint)
            sources = [
                p.source
                for p in pattern_waivers(db)
                if finding is not None and pattern_matches(p, finding.rule_id, finding.account_key, finding.subject)
            ]
            where = f"; it is waived by {', '.join(sources)}: remove or narrow that entry" if sources else ""
            err.print(f"No waiver in force for fingerprint {fingerprint!r}{where}.", markup=False, soft_wrap=True)
            raise typer.Exit(EXIT_BAD_INPUT)
        db.commit()
    console.print(
        f"Revoked the waiver of {fingerprint} (by {by.strip()}, {now:%Y-%m-%d}): the finding counts again "
        "from the next run; `auditor report` shows it open now.",
        markup=False,
        soft_wrap=True,
    )


def register_waivers(app: typer.Typer) -> None:
    app.command()(waivers)
    app.command()(unwaive)
