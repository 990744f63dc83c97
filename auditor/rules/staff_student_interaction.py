"""A staff member and a student interacting outside a school club or activity.

An interaction is within an activity the staff member sponsors when it happens on an account
registered for that activity, or when it (or its thread) carries one of the activity's hashtags or
keywords. Anything else between staff and a student is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from auditor.rules._content import excerpt, hashtags_in, mentions_keyword, normalise_tag
from auditor.rules._people import Resolved, person_label, resolve
from auditor.rules._pii import mask
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity
from models.snapshot import Interaction

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Activity, Person


@rule(
    id="staff-student-interaction",
    title="Staff-student interaction outside a school activity",
    section="Online Interactions; Personal Accounts",
    severity=Severity.HIGH,
    remediation=(
        "Review the exchange with the staff member; if it belongs to a club or activity, register the "
        "account for it or add the activity's hashtag or keywords, otherwise move the conversation to "
        "school channels."
    ),
    clause=(
        "Interactions between staff and students in a social media forum should be restricted to "
        "educational or school related clubs and activities."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        return
    for interaction in ctx.snapshot.interactions:
        if interaction.target is None:
            continue  # aimed at the account itself, not at a person
        pair = _staff_and_student(ctx, resolve(ctx, interaction.actor), resolve(ctx, interaction.target))
        if pair is None:
            continue
        staff, student = pair
        assert staff.person is not None
        if _covering_activity(ctx, interaction, staff.person) is not None:
            continue
        yield _finding(ctx, interaction, staff, student)


def _staff_and_student(ctx: RuleContext, actor: Resolved, target: Resolved) -> tuple[Resolved, Resolved] | None:
    def role(r: Resolved) -> str | None:
        if r.person is None:
            return None
        if r.person.role in ctx.policy.staff_roles:
            return "staff"
        return "student" if r.person.role in ctx.policy.student_roles else None

    roles = (role(actor), role(target))
    if roles == ("staff", "student"):
        return actor, target
    if roles == ("student", "staff"):
        return target, actor
    return None


def _covering_activity(ctx: RuleContext, interaction: Interaction, staff: Person) -> Activity | None:
    sponsored = [a for a in ctx.directory.activities.values() if staff.person_id in a.sponsors]
    for activity in sponsored:
        if ctx.account.activity == activity.activity_id or ctx.account.key in activity.accounts:
            return activity
    texts, tags = _thread_content(ctx, interaction)
    for activity in sponsored:
        if tags & {normalise_tag(t) for t in activity.hashtags}:
            return activity
        if any(mentions_keyword(text, keyword) for text in texts for keyword in activity.keywords):
            return activity
    return None


def _thread_content(ctx: RuleContext, interaction: Interaction) -> tuple[list[str], set[str]]:
    """The interaction's text and hashtags plus those of the post(s) it belongs to."""
    assert ctx.snapshot is not None
    thread_ids = {interaction.thread_id, interaction.post_id} - {None}
    posts = [p for p in ctx.snapshot.posts if p.id in thread_ids]
    texts = [interaction.text, *(p.text for p in posts)]
    tags = hashtags_in(interaction.text, interaction.hashtags)
    for post in posts:
        tags |= hashtags_in(post.text, post.hashtags)
    return texts, tags


def _finding(ctx: RuleContext, interaction: Interaction, staff: Resolved, student: Resolved) -> RuleResult:
    fuzzy = staff.fuzzy or student.fuzzy
    assert interaction.target is not None
    where = interaction.url or interaction.post_id or interaction.thread_id or "?"
    evidence: dict[str, Any] = {
        "interaction": {
            "kind": interaction.kind,
            "url": interaction.url,
            "created_at": interaction.created_at.isoformat() if interaction.created_at else None,
        },
        "staff": {**staff.evidence(), "role": staff.person.role if staff.person else None},
        "student": student.evidence(),
        "excerpt": excerpt(mask(interaction.text, ctx.policy.student_number_pattern)),
        "why_not_covered": _why_not_covered(ctx, staff),
    }
    return RuleResult(
        subject=f"{where}|{interaction.actor.key}|{interaction.target.key}",
        message=f"{interaction.kind} between staff and a student outside any school activity",
        evidence=evidence,
        confidence="likely" if fuzzy else "certain",
        severity=Severity.MEDIUM if fuzzy else None,
    )


def _why_not_covered(ctx: RuleContext, staff: Resolved) -> str:
    assert staff.person is not None
    sponsored = sorted(a.activity_id for a in ctx.directory.activities.values() if staff.person.person_id in a.sponsors)
    if not sponsored:
        return f"{person_label(staff.person)} sponsors no registered activity"
    return (
        f"the account is not registered for {', '.join(sponsored)} (sponsored by {person_label(staff.person)}) "
        "and neither the interaction nor its thread carries their hashtags or keywords"
    )
