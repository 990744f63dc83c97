"""Graph errors for Instagram: the Facebook connector's classification (same Graph error family: throttling
4/17/32/613 and the 8000x Business Use Case codes, 80002 being Instagram's; dead tokens 190; permissions
10/200-299), with the Instagram permission an edge needs when Graph does not name one."""

from __future__ import annotations

import re

import requests
from facebook_business.exceptions import FacebookRequestError

from connectors.facebook.errors import APP_SECRET_PROOF, GraphFailure, classify_graph_error
from connectors.resilience import PlatformError
from models.snapshot import ErrorKind

# What each edge the connector reads needs (Instagram API with Facebook Login, platform-apis.md §5.1).
EDGE_PERMISSION = {
    "media": "instagram_basic",
    "tags": "instagram_basic and instagram_manage_comments",
    "comments": "instagram_manage_comments",
    "replies": "instagram_manage_comments",
    "accounts": "pages_show_list",
    "roles": "pages_manage_metadata",
    "assigned_users": "pages_manage_metadata and business_management",
}
PERMISSION_NAME = re.compile(r"\b(instagram_[a-z_]+|pages_[a-z_]+|business_management|ads_read|ads_management)\b")


def classify_instagram_error(error: BaseException, token_variable: str) -> PlatformError:
    classified = classify_graph_error(error, token_variable)
    if classified.kind != ErrorKind.PERMISSION or isinstance(error, PlatformError):
        return classified
    failure = _failure(error)
    if failure is None or APP_SECRET_PROOF.search(failure.message):
        return classified
    if failure.code == 190:  # the token lives, the linked Page refuses it: the Facebook words fit
        return classified
    named = sorted(set(PERMISSION_NAME.findall(failure.message)))
    needed = ", ".join(named) if named else EDGE_PERMISSION.get(failure.edge or "", "instagram_basic")
    where = f"/{failure.edge}" if failure.edge else "this Instagram account"
    detail = (
        f"the token lacks the permission to read {where}: grant {needed} (a token of someone with a task "
        "on the Facebook Page linked to the Instagram account)"
    )
    return PlatformError(
        ErrorKind.PERMISSION, detail, status=classified.status, code=classified.code, fix=classified.fix
    )


def _failure(error: BaseException) -> GraphFailure | None:
    if isinstance(error, FacebookRequestError):
        return GraphFailure.from_sdk(error)
    if isinstance(error, requests.HTTPError):
        return GraphFailure.from_http(error)
    return None
