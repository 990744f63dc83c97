"""The shared connector contract's error part (tests/connectors/contract.py) applied to the YouTube connector,
with Google's error envelopes (the real recordings where the reference set has one)."""

from __future__ import annotations

import json
from typing import Any

import httplib2
from googleapiclient.errors import HttpError

from connectors.base import Connector
from connectors.youtube import YouTubeConnector
from tests.connectors.contract import DeclarationContract, ErrorContract, context, reference_body


def google_error(status: int, reason: str, message: str) -> dict[str, Any]:
    return {"error": {"code": status, "message": message, "errors": [{"message": message, "domain": "global",
            "reason": reason}]}}  # fmt: skip


def body(situation: str) -> tuple[int, Any]:
    if situation == "auth":
        return 401, google_error(401, "authError", "Request had invalid authentication credentials.")
    if situation == "permission":
        return 403, reference_body("youtube", "error_403_permission_denied.json")
    if situation == "not-found":
        return 404, reference_body("youtube", "error_404_playlistNotFound.json")
    if situation == "rate-limited":
        return 403, google_error(403, "rateLimitExceeded", "Rate Limit Exceeded")
    if situation == "server-error":
        return 500, google_error(500, "internalError", "Internal Error")
    if situation == "bad-gateway":  # Google's front end answers a 502 with an HTML page
        return 502, "<!DOCTYPE html>\\n<html lang=en><title>Error 502 (Server Error)!!1</title></html>"
    return 503, reference_body("youtube", "google_error_503_backendError.json")


class TestYouTubeErrors(ErrorContract):
    def make_connector(self) -> Connector:
        return YouTubeConnector(context(YouTubeConnector))

    def platform_error(self, situation: str, secret: str) -> BaseException:
        status, content = body(situation)
        if isinstance(content, dict):  # a server that echoes the request's key in its message
            content = {"error": {**content["error"], "message": f"{content['error']['message']} key={secret}"}}
        raw = content if isinstance(content, str) else json.dumps(content)
        uri = f"https://youtube.googleapis.com/youtube/v3/playlistItems?part=snippet&alt=json&key={secret}"
        return HttpError(httplib2.Response({"status": status}), raw.encode(), uri=uri)

    def malformed_error(self) -> BaseException:
        return ValueError("Expecting value: line 1 column 1 (char 0)")  # the client's json.loads on a bad body


class TestYouTubeDeclarations(DeclarationContract):
    connector = YouTubeConnector
