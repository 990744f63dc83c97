"""A participant who is not part of the school body or Division administration team.

On a closed account (its participant list is the school's to control) each such participant is a
finding. On a public account the school cannot choose its followers, so one `info` count is
reported and nobody is named: the report keeps no data about people it does not need. The count is
left out when every outsider is of a kind the policy accepts on that account (`public_accepted_roles`,
anyone on an account whose purpose is in `public_open_purposes`), unless `public_outsider_count_always`.

A participant whose name matched a person who declares another account on the platform is unmatched
(a namesake, see auditor/identity.py): an outsider, but only `likely` so, since the name does fit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from auditor.rules._people import Resolved, has_left, is_account_itself, is_its_identity, resolve
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity
from models.snapshot import Capability, CollectionState, Identity

# Platforms where people participate by commenting (page followers or channel subscribers are not
# listable), so the authors of comments are the participants a rule can see.


@rule(
    id="non-school-participant",
    title="Participant outside the school body",
    section="Online Interactions",
    severity=Severity.HIGH,
    remediation=(
        "On a closed account, remove the participant (or add them to the directory if they belong to "
        "the school body); on a public account, review the count and consider whether the account "
        "should be closed."
    ),
    clause=(
        "Individuals who are not part of the school body or Division administration team should not be "
        "accepted onto the participant list of the social media site."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        return  # audit-incomplete reports the missing snapshot
    closed, audience = _audience(ctx)
    participants = _participants(ctx)
    outsiders = [(r, why) for r in participants if (why := _outside_because(ctx, r)) is not None]
    if closed:
        yield from _per_participant(ctx, outsiders, audience)
        if _member_list_unobservable(ctx):
            yield _unobservable(ctx, audience)
    elif outsiders:
        accepted = sum(1 for r, _ in outsiders if _accepted_on_public(ctx, r))
        if accepted < len(outsiders) or ctx.policy.public_outsider_count_always:
            yield _summary(participants, outsiders, accepted, audience)


def _audience(ctx: RuleContext) -> tuple[bool, dict[str, Any]]:
    """Closed as observed on the platform when it says, else as declared in the registry."""
    declared = ctx.account.audience
    profile = ctx.snapshot.profile if ctx.snapshot is not None else None
    observed = None if profile is None or profile.closed is None else ("closed" if profile.closed else "public")
    audience: dict[str, Any] = {"audience_declared": declared, "audience_observed": observed}
    if observed is not None and observed != declared:
        audience["audience_note"] = f"registered as {declared} but the platform shows it {observed}"
    return (observed or declared) == "closed", audience


def _participants(ctx: RuleContext) -> list[Resolved]:
    assert ctx.snapshot is not None
    people: dict[str, Identity] = {p.key: p for p in ctx.snapshot.participants}
    if ctx.participants_from_interactions:
        for interaction in ctx.snapshot.interactions:
            people.setdefault(interaction.actor.key, interaction.actor)
    resolved = [resolve(ctx, identity) for identity in people.values() if not is_account_itself(ctx, identity)]
    return [r for r in resolved if not is_its_identity(ctx, r.identity, r.person.person_id if r.person else None)]


def _outside_because(ctx: RuleContext, participant: Resolved) -> str | None:
    person = participant.person
    if person is None:
        return "not matched to anyone in the directory"
    if person.role not in ctx.policy.school_body_roles:
        return f"directory role {person.role} is not part of the school body"
    if has_left(ctx, person):
        return "has left the Division"
    return None


def _accepted_on_public(ctx: RuleContext, outsider: Resolved) -> bool:
    """An outsider the policy accepts on a public account: an accepted role, or anyone on an open account."""
    purpose = set(re.findall(r"[a-z]+", ctx.account.purpose.lower()))
    if purpose & {word.lower() for word in ctx.policy.public_open_purposes}:
        return True
    person = outsider.person
    return person is not None and not has_left(ctx, person) and person.role in ctx.policy.public_accepted_roles


def _per_participant(
    ctx: RuleContext, outsiders: list[tuple[Resolved, str]], audience: dict[str, Any]
) -> Iterator[RuleResult]:
    for participant, why in outsiders:
        yield RuleResult(
            subject=participant.identity.key,
            message=f"participant {participant.identity.label()} on a closed account: {why}",
            evidence={**participant.evidence(), "reason": why, **audience},
            confidence="likely" if participant.fuzzy or _refused_name_match(ctx, participant) else "certain",
        )


def _refused_name_match(ctx: RuleContext, participant: Resolved) -> bool:
    """Unmatched although the name scored a match (a probable namesake): an outsider, likely not certainly."""
    match = participant.match
    return (
        participant.person is None
        and match is not None
        and match.candidate_id is not None
        and (match.candidate_score or 0.0) >= ctx.policy.matching.fuzzy_accept
    )


def _summary(
    participants: list[Resolved], outsiders: list[tuple[Resolved, str]], accepted: int, audience: dict[str, Any]
) -> RuleResult:
    checked = len(participants)
    fuzzy = sum(1 for r in participants if r.fuzzy)
    evidence: dict[str, Any] = {
        "participants_checked": checked,
        "outside_school_body": len(outsiders),
        "matched_by_name_only": fuzzy,
        **audience,
    }
    if accepted:
        evidence["accepted_by_policy"] = accepted
    if fuzzy:
        evidence["note"] = f"{fuzzy} participant(s) counted as school body on a name match only"
    return RuleResult(
        subject="summary",
        message=f"{len(outsiders)} of {checked} participants on a public account are outside the school body",
        evidence=evidence,
        severity=Severity.INFO,
    )


def _member_list_unobservable(ctx: RuleContext) -> bool:
    """No API lists the participants (a failed collection is audit-incomplete's to report)."""
    assert ctx.snapshot is not None
    status = ctx.snapshot.status_of(Capability.PARTICIPANTS)
    if status is None:
        return Capability.PARTICIPANTS not in ctx.capabilities
    return status.state == CollectionState.NOT_SUPPORTED


def _unobservable(ctx: RuleContext, audience: dict[str, Any]) -> RuleResult:
    """A closed account whose member list no API shows (a closed group): never pass silently."""
    return RuleResult(
        subject="participants-unobservable",
        message=(
            f"{ctx.account.platform} does not show this closed account's participant list; "
            "audit it from an ITS export with the manual connector"
        ),
        evidence={"participants_source": "not observable", **audience},
        confidence="declared",
        severity=Severity.MEDIUM,
    )
