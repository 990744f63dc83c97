"""Offensive or disparaging language in what the account, or staff on it, wrote.

Scored by alt-profanity-check plus the policy's lexicon, with school and sports idiom cut out first
(see `_conduct`). A model and a word list can be wrong, so a result is never more than `likely`:
someone reads the excerpt and decides. Students' names and declared handles are masked in it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from auditor.rules._conduct import load_classifier, mask_names, score_many
from auditor.rules._content import excerpt, own_content
from auditor.rules._people import resolve
from auditor.rules._pii import mask
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity
from models.snapshot import Identity

if TYPE_CHECKING:
    from models.tables import Person  # annotations only: `auditor rules` needs no tables


@dataclass(frozen=True)
class Written:
    subject: str
    kind: str
    text: str
    url: str | None
    when: datetime | None
    author: str  # "the account" or the staff member's directory id


@rule(
    id="disrespectful-content",
    title="Disrespectful or offensive language",
    section="Proper Conduct",
    severity=Severity.MEDIUM,
    remediation=(
        "Read the excerpt; if it is disrespectful, have the post or reply removed and speak with whoever wrote "
        "it. If it is a false alarm (an idiom the lexicon lacks), add the idiom to the policy's conduct.idioms "
        "or waive the finding."
    ),
    clause="Proper respect for students, parents, coworkers and equipment",
    prepare=load_classifier,
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        return
    written = [w for w in _written(ctx) if w.text.strip()]
    scores = score_many([w.text for w in written], ctx.policy.conduct)
    fired = [(item, found) for item, found in zip(written, scores, strict=True) if found.fired]
    if not fired:
        return
    students = _students(ctx)
    ids = {p.person_id for p in students}
    handles = [i.value for i in ctx.directory.identities if i.person_id in ids]
    for item, found in fired:
        safe = mask_names(mask(item.text, ctx.policy.student_number_pattern), students, handles)
        yield RuleResult(
            subject=item.subject,
            message=f"{item.kind} by {item.author} reads as offensive or disparaging",
            evidence={
                "content": item.kind,
                "author": item.author,
                "signals": found.signals(ctx.policy.conduct.threshold),
                "excerpt": excerpt(safe, 280),
                "url": item.url,
                "created_at": item.when.isoformat() if item.when else None,
            },
            confidence="likely",  # a classifier and a word list: never certain
        )


def _written(ctx: RuleContext) -> Iterator[Written]:
    """The account's own posts and replies, then posts and replies on it by staff (`staff_roles`)."""
    assert ctx.snapshot is not None
    own: set[str] = set()
    for subject, kind, text, url, when in own_content(ctx):
        own.add(subject)
        yield Written(subject, kind, text, url, when, "the account")
    for post in ctx.snapshot.posts:
        staff = _staff_id(ctx, post.author) if post.author is not None else None
        if staff and f"post:{post.id}" not in own:
            yield Written(f"post:{post.id}", "post", post.text, post.url, post.created_at, staff)
    for interaction in ctx.snapshot.interactions:
        ref = interaction.url or f"{interaction.post_id}:{interaction.created_at}"
        subject = f"{interaction.kind}:{ref}"
        staff = _staff_id(ctx, interaction.actor)
        if staff and subject not in own:
            yield Written(subject, interaction.kind, interaction.text, interaction.url, interaction.created_at, staff)


def _staff_id(ctx: RuleContext, identity: Identity) -> str | None:
    person = resolve(ctx, identity).person
    return person.person_id if person is not None and person.role in ctx.policy.staff_roles else None


def _students(ctx: RuleContext) -> list[Person]:
    return [p for p in ctx.directory.people.values() if p.role in ctx.policy.student_roles]
