"""The shared connector contract (tests/connectors/contract.py) applied to the `web` connector in full:
its classification, and whole pulls of a WordPress site served by a local server."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import requests

from connectors.base import Connector
from connectors.web import WebConnector
from connectors.web.errors import WebHTTPError
from models.snapshot import AccountSnapshot
from models.tables import RegisteredAccount
from tests.connectors.contract import DeclarationContract, ErrorContract, PullContract, context
from tests.fakeplatform import Answer, ok

STATUS = {"auth": 401, "permission": 403, "not-found": 404, "rate-limited": 429, "server-error": 500,
          "bad-gateway": 502, "unavailable": 503}  # fmt: skip
# What WordPress says, by status (wp-includes/rest-api: rest_forbidden, rest_post_invalid_id, ...).
WP_CODES = {401: "rest_forbidden", 403: "rest_forbidden", 404: "rest_post_invalid_id", 429: "too_many_requests",
            500: "internal_server_error", 502: "bad_gateway", 503: "service_unavailable"}  # fmt: skip


def wp_error(status: int, secret: str) -> dict[str, Any]:
    return {"code": WP_CODES[status], "message": f"Sorry, you are not allowed to do that ({secret}).",
            "data": {"status": status}}  # fmt: skip


class TestWebErrors(ErrorContract):
    def make_connector(self) -> Connector:
        return WebConnector(context(WebConnector))

    def platform_error(self, situation: str, secret: str) -> BaseException:
        status = STATUS[situation]
        headers = {"Content-Type": "application/json; charset=UTF-8", "Retry-After": "2"}
        return WebHTTPError(status, json.dumps(wp_error(status, secret)).encode(), headers)

    def malformed_error(self) -> BaseException:
        return requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)


class TestWebPull(PullContract):
    listing_path = "/wp-json/wp/v2/posts"

    def account(self, server_url: str) -> RegisteredAccount:
        return RegisteredAccount(
            key="contract-web", platform="web", connector="web", handle=server_url, platform_id="wordpress",
            school="Hillside High School", purpose="School blog", kind="joint", audience="public",
        )  # fmt: skip

    def script_rest(self, server: Any) -> None:
        server.script("/wp-json/", ok({"name": "Contract blog", "description": "", "url": server.url}))
        server.script("/wp-json/wp/v2/comments", ok([], **{"X-WP-Total": "0", "X-WP-TotalPages": "0"}))

    def page(self, ids: list[int], number: int, pages: int) -> Answer:
        recent = datetime.now(UTC) - timedelta(hours=1)
        posts = [
            {"id": i, "date": recent.strftime("%Y-%m-%dT%H:%M:%S"), "date_gmt": recent.strftime("%Y-%m-%dT%H:%M:%S"),
             "link": f"https://blog.example/?p={i}", "title": {"rendered": f"Post {i}"},
             "content": {"rendered": "<p>Text</p>\n", "protected": False},
             "excerpt": {"rendered": "<p>Text</p>\n", "protected": False}, "author": 1}
            for i in ids
        ]  # fmt: skip
        return ok(posts, **{"X-WP-Total": str(5), "X-WP-TotalPages": str(pages)})

    def error_answer(self, status: int, secret: str) -> Answer:
        return Answer(status, wp_error(status, secret), {"Retry-After": "1"} if status in (429, 503) else {})

    def ids(self, snapshot: AccountSnapshot) -> list[int]:
        return [int(post.id) for post in snapshot.posts]

    def make_connector(self, as_of: datetime, sleeps: list[float]) -> Connector:
        return WebConnector(context(WebConnector, as_of, sleeps))


class TestWebDeclarations(DeclarationContract):
    connector = WebConnector
