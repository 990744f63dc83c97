"""A post or reply by the account that exposes confidential information.

Looks for credentials, student numbers, phone numbers, street addresses and e-mail addresses
(except addresses at the policy's `division_email_domains`, such as a school office's). The
report only ever holds the masked text.
"""

from __future__ import annotations

from collections.abc import Iterator

from auditor.rules._content import excerpt, own_content
from auditor.rules._pii import MASK_OPEN, detectors, find_and_mask
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
    for subject, kind, text, url, when in own_content(ctx):
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
