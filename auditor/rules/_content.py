"""Rule helpers about content: what the account itself wrote, its hashtags and keywords, excerpts.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import datetime

from auditor.rules._people import is_account_itself
from auditor.rules.base import RuleContext

HASHTAG = re.compile(r"#(\w+)")


def normalise_tag(tag: str) -> str:
    return tag.strip().lstrip("#").casefold()


def mentions_keyword(text: str, keyword: str) -> bool:
    """`keyword` appears in `text` as whole words, case-insensitive."""
    return bool(keyword.strip()) and re.search(rf"(?<!\w){re.escape(keyword.strip())}(?!\w)", text, re.I) is not None


def hashtags_in(text: str, declared: Iterable[str] = ()) -> set[str]:
    return {normalise_tag(t) for t in HASHTAG.findall(text)} | {normalise_tag(t) for t in declared}


def excerpt(text: str, limit: int = 140, around: str | None = None) -> str:
    """Whitespace-collapsed text cut to `limit` characters, centred on `around` when it is given."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    at = flat.find(around) if around else -1
    start = 0 if at <= limit // 3 else min(at - limit // 3, len(flat) - (limit - 1))
    lead = "…" if start else ""
    room = limit - len(lead)
    cut = flat[start : start + room]
    if start + room < len(flat):
        cut = cut[:-1] + "…"
    return lead + cut


def own_content(ctx: RuleContext) -> Iterator[tuple[str, str, str, str | None, datetime | None]]:
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
