"""The shared connector contract's error part (tests/connectors/contract.py) applied to the Facebook connector,
with Graph's error envelopes (the real recordings where the reference set has one)."""

from __future__ import annotations

import json
from typing import Any

from facebook_business.exceptions import FacebookRequestError

from connectors.base import Connector
from connectors.facebook import FacebookConnector
from tests.connectors.contract import DeclarationContract, ErrorContract, context, reference_body


def graph(code: int, message: str, **extra: Any) -> dict[str, Any]:
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AxQ3nT0c5Yd", **extra}}


def envelope(situation: str) -> tuple[int, Any]:
    if situation == "auth":
        return 400, reference_body("facebook", "error_190_463_expired_token.json")
    if situation == "permission":
        return 400, reference_body("facebook", "error_100_missing_permission.json")
    if situation == "not-found":
        return 404, graph(803, "(#803) Some of the aliases you requested do not exist: HillsideGone")
    if situation == "rate-limited":
        return 403, reference_body("facebook", "error_4_app_rate_limit.json")
    if situation == "server-error":
        return 500, graph(1, "An unknown error occurred", is_transient=True, error_subcode=99)
    if situation == "bad-gateway":
        return 502, graph(2, "An unexpected error has occurred. Please retry your request later.", is_transient=True)
    return 503, graph(2, "Service temporarily unavailable", is_transient=True)


class TestFacebookErrors(ErrorContract):
    def make_connector(self) -> Connector:
        return FacebookConnector(context(FacebookConnector))

    def platform_error(self, situation: str, secret: str) -> BaseException:
        status, body = envelope(situation)
        echoed = {"error": {**body["error"], "message": f"{body['error']['message']} access_token={secret}"}}
        request = {"method": "GET", "path": f"https://graph.facebook.com/v26.0/1080/feed?access_token={secret}",
                   "params": {"access_token": secret}}  # fmt: skip
        return FacebookRequestError("Call was not successful", request, status, {}, json.dumps(echoed))

    def malformed_error(self) -> BaseException:
        return ValueError("Expecting value: line 1 column 1 (char 0)")


class TestFacebookDeclarations(DeclarationContract):
    connector = FacebookConnector
