"""A school account used for personal purposes: personal fundraising, shops, campaigns, promotion.

Signals in the account's own posts and replies: a link to a fundraising or shop site (policy
`personal_use.fundraiser_domains` / `shop_domains`) that is not on `allowed_domains` and whose post
does not carry the account's activity's hashtags or keywords (a club's bottle drive is school business),
and election, campaign or product-promotion phrases. Wording can mislead, so results are `likely`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from urllib.parse import urlsplit

from auditor.rules._content import excerpt, hashtags_in, mentions_keyword, normalise_tag, own_content
from auditor.rules._pii import mask
from auditor.rules.base import RuleContext, RuleResult, rule
from models.severity import Severity

LINK = re.compile(r"(?:https?://|www\.)[^\s<>\"')]+", re.I)


@rule(
    id="personal-use",
    title="School account used for personal purposes",
    section="Representing the Division",
    severity=Severity.LOW,
    remediation=(
        "Ask the account's holders to remove the post and keep personal business, fundraising and campaigns "
        "on personal accounts; if the link is a school fundraiser, add its site to personal_use.allowed_domains "
        "or tag the post with the activity's hashtag."
    ),
    clause=(
        "Social media accounts are for Division use only and may not be used for personal purposes including "
        "self-promotion or advancing personal ideals."
    ),
)
def check(ctx: RuleContext) -> Iterator[RuleResult]:
    if ctx.snapshot is None:
        return
    rules = ctx.policy.personal_use
    for subject, kind, text, url, when in own_content(ctx):
        signals = _link_signals(ctx, text) + _phrase_signals(text, rules.campaign_phrases, "campaign phrase")
        signals += _phrase_signals(text, rules.promotion_phrases, "promotion phrase")
        if not signals:
            continue
        yield RuleResult(
            subject=subject,
            message=f"{kind} looks like personal use: {signals[0]}",
            evidence={
                "content": kind,
                "signals": signals,
                "excerpt": excerpt(mask(text, ctx.policy.student_number_pattern), 280),
                "url": url,
                "created_at": when.isoformat() if when else None,
            },
            confidence="likely",
        )


def _domain_in(host: str, domains: list[str]) -> str | None:
    """The listed domain `host` is or is under (`www.gofundme.com` is under `gofundme.com`)."""
    for domain in domains:
        bare = domain.strip().lower().split("/")[0]
        if bare and (host == bare or host.endswith("." + bare)):
            return domain.strip().lower()
    return None


def _link_signals(ctx: RuleContext, text: str) -> list[str]:
    rules = ctx.policy.personal_use
    signals = []
    for link in LINK.findall(text):
        parts = urlsplit(link if "://" in link else f"https://{link}")
        host = (parts.hostname or "").lower()
        if _domain_in(host, rules.allowed_domains):
            continue
        for label, domains in (("fundraiser link", rules.fundraiser_domains), ("shop link", rules.shop_domains)):
            domain = _domain_in(host, domains)
            if domain is not None and not _tied_to_activity(ctx, text):
                signals.append(f"{label}: {host}")
    return signals


def _tied_to_activity(ctx: RuleContext, text: str) -> bool:
    """The post names the account's own registered activity (its hashtag or keyword)."""
    activities = [
        a
        for a in ctx.directory.activities.values()
        if ctx.account.activity == a.activity_id or ctx.account.key in a.accounts
    ]
    tags = hashtags_in(text)
    return any(
        tags & {normalise_tag(t) for t in a.hashtags} or any(mentions_keyword(text, k) for k in a.keywords)
        for a in activities
    )


def _phrase_signals(text: str, phrases: list[str], label: str) -> list[str]:
    found = []
    for phrase in phrases:
        match = re.search(phrase, text, re.I)
        if match:
            found.append(f"{label}: {match.group(0)!r}")
    return found
