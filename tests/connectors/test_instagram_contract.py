"""The shared connector contract (tests/connectors/contract.py: errors and declarations) applied to the
Instagram connector, with Graph's error envelopes (the real Facebook recordings where the reference set has
one: Instagram's Graph API answers with the same envelope, and the Instagram set holds no error)."""

from __future__ import annotations

import json
from typing import Any

from facebook_business.exceptions import FacebookRequestError

from connectors.base import Connector
from connectors.instagram import InstagramConnector
from connectors.manual import ManualConnector
from connectors.registry import ConnectorRegistry
from tests.connectors.contract import DeclarationContract, ErrorContract, context, reference_body


def graph(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AxQ3nT0c5Yd", **extra}}


def envelope(situation: str) -> tuple[int, Any]:
    if situation == "auth":
        return 400, reference_body("facebook", "error_190_463_expired_token.json")
    if situation == "permission":
        return 400, reference_body("facebook", "error_100_missing_permission.json")
    if situation == "not-found":
        return 400, graph(100, "Unsupported get request. Object with ID '17841400000000000' does not exist",
                          error_subcode=33, type="GraphMethodException")  # fmt: skip
    if situation == "rate-limited":
        return 400, graph(80002, "(#80002) There have been too many calls to this Instagram account.")
    if situation == "server-error":
        return 500, graph(1, "An unknown error occurred", is_transient=True, error_subcode=99)
    if situation == "bad-gateway":
        return 502, graph(2, "An unexpected error has occurred. Please retry your request later.", is_transient=True)
    return 503, graph(2, "Service temporarily unavailable", is_transient=True)


class TestInstagramErrors(ErrorContract):
    def make_connector(self) -> Connector:
        return InstagramConnector(context(InstagramConnector))

    def platform_error(self, situation: str, secret: str) -> BaseException:
        status, body = envelope(situation)
        echoed = {"error": {**body["error"], "message": f"{body['error']['message']} access_token={secret}"}}
        request = {"method": "GET", "path": f"https://graph.facebook.com/v26.0/17841400000000000/media?access_token={secret}",
                   "params": {"access_token": secret}}  # fmt: skip
        return FacebookRequestError("Call was not successful", request, status, {}, json.dumps(echoed))

    def malformed_error(self) -> BaseException:
        return ValueError("Expecting value: line 1 column 1 (char 0)")


class TestInstagramDeclarations(DeclarationContract):
    connector = InstagramConnector


def test_instagram_links_are_the_instagram_connectors_not_the_manual_exports() -> None:
    """Discovery recognises an Instagram profile link by what this connector declares (the manual connector
    no longer declares Instagram for its exports), and writes a profile's link the same way."""
    registry = ConnectorRegistry([ManualConnector, InstagramConnector])
    assert "instagram" not in ManualConnector.other_platforms
    assert registry.platform_of_host("www.instagram.com") == "instagram"
    assert registry.profile_link("ig", "@hillside.hawks") == "https://www.instagram.com/hillside.hawks"
    pattern = registry.profile_link_pattern()
    assert pattern is not None
    found = pattern.search("Follow us: https://www.instagram.com/hillside.hawks and more")
    assert found is not None and found.group(2) == "hillside.hawks"
