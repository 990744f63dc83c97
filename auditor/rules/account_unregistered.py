"""account-unregistered: an account in a school's or the Division's name that is not registered."""

from __future__ import annotations

from collections.abc import Iterator

from auditor.discovery import Candidate, discover
from auditor.rules.base import DivisionContext, DivisionResult, rule
from models.severity import Severity


@rule(
    id="account-unregistered",
    title="School-looking account not registered with ITS",
    section="Establishing Social Media Accounts",
    severity=Severity.HIGH,
    remediation=(
        "Find who runs the account. If it is a school's, register it with ITS (Form 8-06) so it is audited; "
        "if it is an impostor, report it to the platform; if it is not the Division's, add it to the registry's "
        "ignore list with the reason."
    ),
    clause=(
        "Any social media accounts established in the Division's name or one of its schools are automatically the "
        "property of the Division. ... In order to properly track social media accounts in use throughout the "
        "Division, they should be registered with ITS."
    ),
    scope="division",
)
def check(ctx: DivisionContext) -> Iterator[DivisionResult]:
    found = ctx.discovered
    if found is None:  # the run discovers once and hands the result over; a caller with raw candidates only
        found = discover(ctx.candidates, ctx.accounts, ctx.directory, ctx.policy, ctx.ignored)
    for candidate in found:
        if candidate.score >= ctx.policy.discovery_threshold:
            yield _result(candidate)


def _profile(candidate: Candidate) -> dict[str, object] | None:
    """What a lookup or search showed of the account (None: only what posts showed)."""
    profile = candidate.profile
    if profile is None:
        return None
    return {
        "name": profile.name,
        "description": (profile.description or "")[:280] or None,
        "protected": profile.closed,
        "followers": profile.counts.get("followers"),
    }


def _result(candidate: Candidate) -> DivisionResult:
    from models.tables import RegisteredAccount  # imported in a run: `auditor rules` needs no tables

    identity = candidate.identity
    label = f"@{identity.handle.lstrip('@')}" if identity.handle else identity.id or "?"
    account = RegisteredAccount(
        key=f"unregistered:{candidate.key}",
        platform=identity.platform,
        connector="",
        handle=label,
        platform_id=identity.id,
        school=candidate.school or "Division",
        purpose="(not registered)",
        kind="joint",
        audience="public",
        status="unregistered",
    )
    return DivisionResult(
        subject=candidate.key,
        message=(
            f"{identity.platform} account {label} looks like a school account (score {candidate.score:.0f}) "
            "but is not in the registry"
        ),
        evidence={
            "handle": label,
            "display_name": identity.display_name,
            "url": candidate.url,
            "score": candidate.score,
            "why_it_looks_like_a_school_account": candidate.reasons,
            "found": [{"account": s.account, "how": s.how, "url": s.url} for s in candidate.sightings],
            "profile": _profile(candidate),
        },
        confidence="likely",
        account=account,
    )
