"""A staff member's personal account follows a student's account (opt-in, principals only).

AP 80-06 "strongly recommends" against it rather than forbidding it, and it concerns staff's private
accounts, so the rule is off unless the policy's `personal_connections` is on (after the Division's
privacy review), looks only at accounts the directory marks `(personal)` for staff and only for
students' *declared* handles, and its results go to the school's principal alone (`principal_only`).
A personal account whose follows could not be read is said so, never taken as "follows nobody".
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from auditor.personal_accounts import PersonalFollowing
from auditor.rules.base import DivisionContext, DivisionResult, rule
from models.severity import Severity
from models.snapshot import CollectionState, Identity

if TYPE_CHECKING:
    from models.tables import RegisteredAccount  # annotations only: `auditor rules` needs no tables


@rule(
    id="staff-student-personal-connection",
    title="Staff personal account follows a student",
    section="Personal Accounts",
    severity=Severity.INFO,
    remediation=(
        "The principal raises it with the staff member: AP 80-06 strongly recommends not 'friending' students "
        "on personal accounts; school clubs and activities have registered school accounts for that."
    ),
    clause="The Division also strongly recommends NOT 'friending' students on personal accounts.",
    scope="division",
    principal_only=True,
    opt_in="personal_connections",
)
def check(ctx: DivisionContext) -> Iterator[DivisionResult]:
    if not ctx.policy.personal_connections:
        return
    for entry in ctx.connections:
        assert isinstance(entry, PersonalFollowing)
        staff = ctx.directory.person(entry.person_id)
        school = (staff.school if staff else None) or "Division"
        account = _personal_account(entry, school)
        if entry.state not in (CollectionState.COMPLETE, CollectionState.PARTIAL):
            yield DivisionResult(
                subject="following-unreadable",
                message=f"whom this personal account follows could not be read ({entry.state.value})",
                evidence={"staff": entry.person_id, "state": entry.state.value, "reason": entry.reason},
                account=account,
            )
            continue
        students = sorted({s for s in (_student(ctx, entry.platform, i) for i in entry.followed) if s})
        for student in students:
            evidence: dict[str, Any] = {"staff": entry.person_id, "student": student, "relation": "follows"}
            if entry.state is CollectionState.PARTIAL:
                evidence["note"] = entry.reason
            yield DivisionResult(
                subject=f"follows|{student}",
                message=f"staff member {entry.person_id}'s personal account follows student {student}'s account",
                evidence=evidence,
                account=account,
            )
        if entry.state is CollectionState.PARTIAL:
            yield DivisionResult(
                subject="following-partial",
                message="only part of whom this personal account follows was read",
                evidence={"staff": entry.person_id, "state": entry.state.value, "reason": entry.reason},
                account=account,
            )


def _student(ctx: DivisionContext, platform: str, identity: Identity) -> str | None:
    """The directory id of the student who declared this identity (handle or platform id), if any."""
    for value in (identity.handle, identity.id):
        person = ctx.directory.person(ctx.directory.declared_person(platform, value))
        if person is not None and person.role in ctx.policy.student_roles:
            return person.person_id
    return None


def _personal_account(entry: PersonalFollowing, school: str) -> RegisteredAccount:
    from models.tables import RegisteredAccount  # imported in a run: `auditor rules` needs no tables

    """Findings hang on a pseudo-account: the personal account is not a registered one (nor should be)."""
    return RegisteredAccount(
        key=f"personal:{entry.platform}:{entry.handle}",
        platform=entry.platform,
        connector="",
        handle=f"@{entry.handle}",
        school=school,
        purpose="(staff member's personal account)",
        kind="individual",
        audience="public",
        status="personal",
    )
