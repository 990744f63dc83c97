"""Every cassette looks like what a real server sends: consistent headers, and on X the replies that
name an account among its mentions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
ALL = sorted(p for p in CASSETTES.rglob("*.yaml") if "interactions" in (yaml.safe_load(p.read_text()) or {}))


def interactions(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text())["interactions"])


@pytest.mark.parametrize("path", ALL, ids=[str(p.relative_to(CASSETTES)) for p in ALL])
def test_content_length_is_the_length_of_the_body(path: Path) -> None:
    for interaction in interactions(path):
        headers = interaction["response"].get("headers") or {}
        body = interaction["response"]["body"].get("string")
        for name, values in headers.items():
            if name.lower() == "content-length" and isinstance(body, str):
                assert int(values[0]) == len(body.encode()), f"{interaction['request']['uri']}"


X_CASSETTES = [p for p in ALL if any("api.twitter.com" in i["request"]["uri"] for i in interactions(p))]


@pytest.mark.parametrize("path", X_CASSETTES, ids=[str(p.relative_to(CASSETTES)) for p in X_CASSETTES])
def test_a_reply_naming_the_account_is_among_its_mentions(path: Path) -> None:
    """X lists a post among an account's mentions when it names the account; a reply always names the
    author of the post it answers. A cassette whose conversation search finds such a reply that its
    mentions lack would teach the connector something X never does."""
    mentioned: dict[str, set[str]] = {}  # account id -> post ids its mentions returned
    searched: list[dict[str, Any]] = []
    for interaction in interactions(path):
        uri = interaction["request"]["uri"]
        try:
            body = json.loads(interaction["response"]["body"]["string"])
        except (TypeError, ValueError):
            continue
        posts = body.get("data") if isinstance(body, dict) else None
        if not isinstance(posts, list):
            continue
        if "/mentions" in uri:
            account = uri.split("/2/users/")[1].split("/")[0]
            mentioned.setdefault(account, set()).update(str(p["id"]) for p in posts)
        elif "conversation_id" in uri:
            searched.extend(posts)
    for account, seen in mentioned.items():
        for post in searched:
            names = {str(m.get("id")) for m in (post.get("entities") or {}).get("mentions") or []}
            if account in names:
                assert str(post["id"]) in seen, f"reply {post['id']} names {account} but is not among its mentions"
