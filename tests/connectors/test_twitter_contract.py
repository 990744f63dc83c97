"""The shared connector contract's error part (tests/connectors/contract.py) applied to the X connector, with
X's problem bodies (the real recordings where the reference set has one) inside tweepy's exceptions."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import requests
import tweepy

from connectors.base import Connector
from connectors.twitter import TwitterConnector
from tests.connectors.contract import DeclarationContract, ErrorContract, context, reference_body

SERVER_ERROR = {"title": "Service Unavailable", "detail": "Service Unavailable", "type": "about:blank"}
NOT_FOUND = {"title": "Not Found Error", "detail": "Could not find user with username: [hhs_gone].",
             "type": "https://api.twitter.com/2/problems/resource-not-found", "status": 404}  # fmt: skip


def problem(situation: str) -> tuple[int, type[tweepy.HTTPException], Any]:
    if situation == "auth":
        return 401, tweepy.Unauthorized, reference_body("x", "error_401_unauthorized.json")
    if situation == "permission":
        return 403, tweepy.Forbidden, reference_body("x", "error_403_client_not_enrolled_standard_basic.json")
    if situation == "not-found":
        return 404, tweepy.NotFound, NOT_FOUND
    if situation == "rate-limited":
        return 429, tweepy.TooManyRequests, reference_body("x", "error_429_too_many_requests.json")
    status = {"server-error": 500, "bad-gateway": 502, "unavailable": 503}[situation]
    return status, tweepy.TwitterServerError, {**SERVER_ERROR, "status": status}


class TestTwitterErrors(ErrorContract):
    def make_connector(self) -> Connector:
        return TwitterConnector(context(TwitterConnector))

    def platform_error(self, situation: str, secret: str) -> BaseException:
        status, cls, body = problem(situation)
        body = {**body, "detail": f"{body.get('detail', '')} (token {secret})"}  # a server echoing the token
        response = requests.Response()
        response.status_code = status
        response._content = json.dumps(body).encode()
        response.headers["content-type"] = "application/problem+json"
        response.url = f"https://api.twitter.com/2/users/by/username/hhs_news?access_token={secret}"
        if cls is tweepy.TooManyRequests:
            return tweepy.TooManyRequests(response, reset_time=int(datetime.now(UTC).timestamp()) + 2)
        return cls(response)

    def malformed_error(self) -> BaseException:
        return requests.exceptions.JSONDecodeError("Expecting value", "<html>", 0)


class TestTwitterDeclarations(DeclarationContract):
    connector = TwitterConnector
