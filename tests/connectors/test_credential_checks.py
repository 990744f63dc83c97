"""`check_credentials` of the X, Facebook and YouTube connectors (what `auditor doctor` shows).

The answers are written here in the platforms' own shapes (X v2 user objects and problems, Graph's
debug_token, Google's OAuth token endpoint), replayed by vcrpy matching on method, host and path.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml

from auditor.policy import Policy
from connectors.base import Connector, CredentialCheck, CredentialState
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline
from connectors.scrub import forget_secrets
from models.tables import RegisteredAccount
from tests.connectors.test_facebook_real_traffic import REAL as REAL_FACEBOOK
from tests.contexts import context_for
from tests.scenarios import account

SECRET_VALUES = {
    "X_BEARER_TOKEN": "checkXbearer0Lm3",
    "FACEBOOK_APP_ID": "100000000000042",
    "FACEBOOK_APP_SECRET": "checkFbAppSecret7Qe",
    "FACEBOOK_ACCESS_TOKEN": "checkFbSystemUser1Vr",
    "YOUTUBE_API_KEY": "checkYtKey5Hn",
    "YOUTUBE_CLIENT_ID": "000000000000-check.apps.googleusercontent.com",
    "YOUTUBE_CLIENT_SECRET": "checkYtClientSecret2Wd",
}


@pytest.fixture(autouse=True)
def environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith(("ACCOUNT_", "X_", "FACEBOOK_", "YOUTUBE_")):
            monkeypatch.delenv(name)
    for name, value in SECRET_VALUES.items():
        monkeypatch.setenv(name, value)
    yield
    forget_secrets()


def check(
    platform: str, accounts: list[RegisteredAccount], tmp_path: Path, answers: list[tuple[str, str, int, Any]]
) -> list[CredentialCheck]:
    interactions = [
        {
            "request": {"method": method, "uri": uri, "body": None, "headers": {}},
            "response": {
                "status": {"code": status, "message": "answer"},
                "headers": {"Content-Type": ["application/json; charset=UTF-8"]},
                "body": {"string": json.dumps(body)},
            },
        }
        for method, uri, status, body in answers
    ]
    (tmp_path / "answers.yaml").write_text(yaml.safe_dump({"version": 1, "interactions": interactions}))
    cls: type[Connector] = ConnectorRegistry.installed()[platform]
    context = context_for(cls, policy=Policy(), as_of=datetime.now(UTC), deadline=Deadline(60), sleep=lambda _s: None)
    recorder = vcr.VCR(cassette_library_dir=str(tmp_path), record_mode="none", match_on=("method", "host", "path"))
    with recorder.use_cassette("answers.yaml") as cassette:
        checks = cls(context).check_credentials(accounts)
    assert cassette.all_played
    text = json.dumps([c.__dict__ for c in checks], default=str)
    for name, value in SECRET_VALUES.items():
        assert name in ("FACEBOOK_APP_ID", "YOUTUBE_CLIENT_ID") or value not in text
    return checks


# --- X --------------------------------------------------------------------------------------------

PHRD = account("phrd-x", "twitter", "@PrairieHillsSD", "2931447021")
CHESS = account("hhs-chess-x", "twitter", "@HHSChessClub", "1459920177384452099")
USER = {"data": {"id": "2931447021", "name": "Prairie Hills School Division", "username": "PrairieHillsSD"}}
UNAUTHORIZED = {"title": "Unauthorized", "type": "about:blank", "status": 401, "detail": "Unauthorized"}


def test_x_bearer_token_is_checked_once_with_a_lookup(tmp_path: Path) -> None:
    (result,) = check(
        "twitter", [PHRD, PHRD], tmp_path, [("GET", "https://api.twitter.com/2/users/2931447021", 200, USER)]
    )
    assert (result.credential, result.state) == ("X_BEARER_TOKEN", CredentialState.OK)
    assert "@PrairieHillsSD" in result.detail


def test_x_refused_bearer_token_fails_with_the_variable_to_fix(tmp_path: Path) -> None:
    (result,) = check(
        "twitter", [PHRD], tmp_path, [("GET", "https://api.twitter.com/2/users/2931447021", 401, UNAUTHORIZED)]
    )
    assert result.state == CredentialState.FAILED
    assert "auth HTTP 401" in result.detail and "X_BEARER_TOKEN" in result.detail


def test_x_owner_token_must_act_as_the_registered_account(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_CHESS_X_X_USER_TOKEN", "checkOwnerToken9Ka")
    me = {"data": {"id": "1459920177384452099", "name": "HHS Chess Club", "username": "HHSChessClub"}}
    checks = check(
        "twitter",
        [PHRD, CHESS],
        tmp_path,
        [
            ("GET", "https://api.twitter.com/2/users/2931447021", 200, USER),
            ("GET", "https://api.twitter.com/2/users/me", 200, me),
        ],
    )
    assert [(c.credential, c.state) for c in checks] == [
        ("X_BEARER_TOKEN", CredentialState.OK),
        ("ACCOUNT_HHS_CHESS_X_X_USER_TOKEN", CredentialState.WARNING),
    ]
    # It works today, but an OAuth 2.0 user token dies 2 hours after it was issued: say so before a night fails.
    assert checks[1].detail.startswith("acts as @HHSChessClub, but an OAuth 2.0 user token expires 2 hours")
    assert "ACCOUNT_HHS_CHESS_X_X_ACCESS_TOKEN and ACCOUNT_HHS_CHESS_X_X_ACCESS_TOKEN_SECRET" in checks[1].detail


def test_x_owner_token_of_another_account_is_a_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_CHESS_X_X_USER_TOKEN", "checkOwnerToken9Ka")
    me = {"data": {"id": "1", "name": "Mr Somebody", "username": "mr_somebody"}}
    (result,) = check("twitter", [CHESS], tmp_path, [("GET", "https://api.twitter.com/2/users/me", 200, me)])
    assert result.state == CredentialState.WARNING and "not as the registered @HHSChessClub" in result.detail


# --- Facebook -------------------------------------------------------------------------------------

DRAMA = account("hhs-drama-fb", "facebook", None, "108000000000202")
DEBUG = "https://graph.facebook.com/v26.0/debug_token"
SCOPES = ["pages_show_list", "pages_read_engagement", "pages_read_user_content", "business_management"]


def _recorded(name: str) -> Any:
    """A real Graph body from shared/reference/real-traffic/facebook/ (read as recorded, never copied)."""
    if not REAL_FACEBOOK.is_dir():
        pytest.skip(f"the shared reference recordings are not available ({REAL_FACEBOOK})")
    return json.loads((REAL_FACEBOOK / name).read_text(encoding="utf-8"))


def _debug(**data: Any) -> dict[str, Any]:
    base = {
        "app_id": "100000000000042",
        "type": "SYSTEM_USER",
        "application": "PHRD Auditor",
        "data_access_expires_at": 0,
        "expires_at": 0,
        "is_valid": True,
        "scopes": SCOPES,
        "user_id": "122100000000000042",
    }
    return {"data": {**base, **data}}


def test_facebook_system_user_token_that_never_expires(tmp_path: Path) -> None:
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 200, _debug())])
    assert (result.credential, result.state, result.expires_at) == ("FACEBOOK_ACCESS_TOKEN", CredentialState.OK, None)
    assert result.detail == "valid system user (does not expire)"
    assert result.scopes == SCOPES


def test_facebook_page_token_expiry_and_missing_permission(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_DRAMA_FB_FACEBOOK_PAGE_TOKEN", "checkPageToken4Tz")
    expires = int(time.time()) + 10 * 86400
    answer = _debug(type="PAGE", expires_at=expires, scopes=["pages_show_list", "pages_read_engagement"])
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 200, answer)])
    assert result.credential == "ACCOUNT_HHS_DRAMA_FB_FACEBOOK_PAGE_TOKEN"
    assert result.state == CredentialState.WARNING and "lacks pages_read_user_content" in result.detail
    assert result.expires_at == datetime.fromtimestamp(expires, UTC)


def test_facebook_token_killed_by_a_password_change(tmp_path: Path) -> None:
    answer = _debug(
        is_valid=False,
        error={
            "code": 190,
            "subcode": 460,
            "message": "Error validating access token: The session has been invalidated because the user changed their "
            "password or Facebook has changed the session for security reasons.",
        },
    )
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 200, answer)])
    assert result.state == CredentialState.FAILED and "changed their password" in result.detail


def test_facebook_without_app_secret_is_not_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBOOK_APP_SECRET")
    (result,) = check("facebook", [DRAMA], tmp_path, [])
    assert result.state == CredentialState.NOT_CHECKED and "FACEBOOK_APP_SECRET" in result.detail


def _graph_error(code: int, message: str, **extra: Any) -> dict[str, Any]:
    """Graph's error envelope (platform-apis.md 2.9): no `error_subcode` unless a test adds one."""
    return {"error": {"message": message, "type": "OAuthException", "code": code, "fbtrace_id": "AbCdEfGh", **extra}}


@pytest.mark.parametrize(
    ("status", "answer"),
    [
        (503, _graph_error(2, "Service temporarily unavailable", is_transient=True)),
        (500, _graph_error(1, "An unknown error occurred", is_transient=True)),
        (400, _graph_error(17, "(#17) User request limit reached", is_transient=True, error_subcode=2446079)),
        (400, _graph_error(32, "(#32) Page request limit reached")),
        (400, _graph_error(613, "(#613) Calls to this api have exceeded the rate limit.")),
        (400, _graph_error(80001, "(#80001) There have been too many calls to this Page account.")),
    ],
)
def test_facebook_debug_token_outage_or_throttle_is_retried(tmp_path: Path, status: int, answer: Any) -> None:
    """`raise_for_status()`'s HTTPError is read through its `{"error": ...}` body, so the retry rules apply."""
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, status, answer), ("GET", DEBUG, 200, _debug())])
    assert (result.state, result.detail) == (CredentialState.OK, "valid system user (does not expire)")


def test_facebook_debug_token_recorded_rate_limit_is_retried(tmp_path: Path) -> None:
    recorded = _recorded("error_4_app_rate_limit.json")
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 403, recorded), ("GET", DEBUG, 200, _debug())])
    assert result.state == CredentialState.OK


def test_facebook_debug_token_error_shows_its_code_and_subcode(tmp_path: Path) -> None:
    recorded = _recorded("error_190_463_expired_token.json")
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 400, recorded)])
    assert result.state == CredentialState.FAILED
    assert result.detail.startswith("auth HTTP 400 #190/463: the token has expired")
    assert "FACEBOOK_APP_ID and FACEBOOK_APP_SECRET" in result.detail  # debug_token is asked with the app's token


def test_facebook_recorded_user_token_debug(tmp_path: Path) -> None:
    """A real debug_token answer: a USER token without the Page permissions, whose data access ends first."""
    recorded = _recorded("debug_token_user.json")
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 200, recorded)])
    assert result.state == CredentialState.WARNING
    assert result.detail == "valid user, but lacks pages_read_engagement, pages_read_user_content"
    assert result.expires_at == datetime.fromtimestamp(recorded["data"]["expires_at"], UTC)
    assert result.scopes == recorded["data"]["scopes"]


def test_facebook_recorded_invalidated_token_debug(tmp_path: Path) -> None:
    """A real debug_token answer for a logged-out token: HTTP 200, `is_valid: false`, the error nested in data."""
    recorded = _recorded("debug_token_error_190_467.json")
    (result,) = check("facebook", [DRAMA], tmp_path, [("GET", DEBUG, 200, recorded)])
    assert result.state == CredentialState.FAILED
    assert result.detail == f"invalid: {recorded['data']['error']['message']}"


def test_doctor_shows_a_recorded_graph_error_as_graph_classified_it(tmp_path: Path) -> None:
    """Through `auditor doctor`: the classified error is printed as is, never re-classified as malformed."""
    from typer.testing import CliRunner

    from auditor.cli import app
    from tests.fakeplatform import write_division

    division = write_division(tmp_path, with_fake=False)
    registry = division / "registry" / "accounts.yaml"
    registry.write_text(
        registry.read_text(encoding="utf-8")
        + "  - key: hhs-drama-fb\n    platform: facebook\n    platform_id: '108000000000202'\n"
        "    school: Test School\n    purpose: Drama club news\n    kind: joint\n    audience: public\n"
        "    holders: [E1, E2]\n    admins: [E1, E2]\n",
        encoding="utf-8",
    )
    recorded = _recorded("error_190_463_expired_token.json")
    answers = [("GET", DEBUG, 400, recorded)]
    interactions = [
        {
            "request": {"method": method, "uri": uri, "body": None, "headers": {}},
            "response": {
                "status": {"code": status, "message": "answer"},
                "headers": {"Content-Type": ["application/json; charset=UTF-8"]},
                "body": {"string": json.dumps(body)},
            },
        }
        for method, uri, status, body in answers
    ]
    (tmp_path / "doctor.yaml").write_text(yaml.safe_dump({"version": 1, "interactions": interactions}))
    environment = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'var' / 'auditor.db'}",
        "AUDITOR_REPORT_DIR": str(tmp_path / "reports"),
        "AUDITOR_LOCK_FILE": str(tmp_path / "var" / "auditor.lock"),
    }
    recorder = vcr.VCR(cassette_library_dir=str(tmp_path), record_mode="none", match_on=("method", "host", "path"))
    with recorder.use_cassette("doctor.yaml") as cassette:
        result = CliRunner().invoke(app, ["doctor", "--division", str(division)], env=environment)
    assert cassette.all_played
    output = " ".join(result.output.split())  # the table wraps long details
    assert result.exit_code == 2, output
    assert "auth HTTP 400 #190/463" in output and "malformed" not in output
    for name, value in SECRET_VALUES.items():
        assert name == "FACEBOOK_APP_ID" or value not in result.output


# --- YouTube --------------------------------------------------------------------------------------

SCIENCE = account("hhs-science-yt", "youtube", None, "UChhsScienceClub0000000A")
TOKEN_URI = "https://oauth2.googleapis.com/token"


def test_youtube_owner_refresh_token_is_refreshed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN", "checkRefresh6Ub")
    answer = {
        "access_token": "REDACTED",
        "expires_in": 3599,
        "token_type": "Bearer",
        "scope": "https://www.googleapis.com/auth/youtube.readonly",
    }
    key, owner = check("youtube", [SCIENCE], tmp_path, [("POST", TOKEN_URI, 200, answer)])
    assert (key.credential, key.state) == ("YOUTUBE_API_KEY", CredentialState.NOT_CHECKED)
    assert (owner.credential, owner.state) == ("ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN", CredentialState.OK)


def test_youtube_revoked_refresh_token_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_SCIENCE_YT_YOUTUBE_REFRESH_TOKEN", "checkRefresh6Ub")
    answer = {"error": "invalid_grant", "error_description": "Token has been expired or revoked."}
    _key, owner = check("youtube", [SCIENCE], tmp_path, [("POST", TOKEN_URI, 400, answer)])
    assert owner.state == CredentialState.FAILED and owner.detail.startswith("auth")


def test_youtube_without_api_key_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YOUTUBE_API_KEY")
    (result,) = check("youtube", [SCIENCE], tmp_path, [])
    assert result.state == CredentialState.MISSING
