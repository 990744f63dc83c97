"""A post or reply by the account that exposes confidential information.

Looks for credentials, student numbers, phone numbers, street addresses and e-mail addresses
(except addresses at the policy's `division_email_domains`, such as a school office's). The
report only ever holds the masked text.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from auditor.rules._common import MASK_OPEN, detectors, excerpt, find_and_mask, is_account_itself
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity


@rule(
    id="confidential-content",
    title="Confidential information in a post",
    section="Proper Conduct; Confidentiality of Information",
    severity=Severity.HIGH,
    remediation=(
        "Delete or edit the post, change any password it exposed, and tell the people whose information was shown."
    ),
    clause=(
        "No sharing of confidential information or passwords [...] they are still bound by the same "
        "confidentiality rules for student and personal information."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        return
    found = detectors(ctx.policy.student_number_pattern, ctx.policy.division_email_domains)
    for subject, kind, text, url, when in _own_content(ctx):
        masked, kinds = find_and_mask(text, found)
        if not kinds:
            continue
        yield RuleResult(
            subject=subject,
            message=f"{kind} exposes {', '.join(kinds)}",
            evidence={
                "content": kind,
                "kinds": kinds,
                "excerpt": excerpt(masked, 280, around=f"{MASK_OPEN}{kinds[0]}"),
                "url": url,
                "created_at": when.isoformat() if when else None,
            },
        )


def _own_content(ctx: RuleContext) -> Iterator[tuple[str, str, str, str | None, datetime | None]]:
    """(subject, kind, text, url, time) of every post and reply the account itself wrote."""
    assert ctx.snapshot is not None
    for post in ctx.snapshot.posts:
        if post.author is None or is_account_itself(ctx, post.author):
            yield f"post:{post.id}", "post", post.text, post.url, post.created_at
    for interaction in ctx.snapshot.interactions:
        if is_account_itself(ctx, interaction.actor):
            ref = interaction.url or f"{interaction.post_id}:{interaction.created_at}"
            yield (
                f"{interaction.kind}:{ref}",
                interaction.kind,
                interaction.text,
                interaction.url,
                interaction.created_at,
            )
