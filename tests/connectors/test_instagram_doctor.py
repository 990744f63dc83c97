"""`auditor doctor` for Instagram: Graph's debug_token, answered in its own shape (as the Facebook checks are)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from connectors.base import CredentialState
from connectors.scrub import forget_secrets
from tests.connectors.test_credential_checks import DEBUG, SECRET_VALUES, _debug, check
from tests.scenarios import account

MAIN = account("hhs-main-ig", "instagram", "hillsidehigh.phrd", "17841460000000102")
IG_SCOPES = ["instagram_basic", "instagram_manage_comments", "pages_show_list", "pages_read_engagement"]


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


def test_the_shared_system_user_token_with_the_instagram_permissions_is_ok(tmp_path: Path) -> None:
    (result,) = check("instagram", [MAIN], tmp_path, [("GET", DEBUG, 200, _debug(scopes=IG_SCOPES))])
    assert (result.connector, result.credential, result.state) == (
        "instagram",
        "FACEBOOK_ACCESS_TOKEN",
        CredentialState.OK,
    )


def test_a_page_only_token_warns_that_the_instagram_audit_reads_less(tmp_path: Path) -> None:
    (result,) = check("instagram", [MAIN], tmp_path, [("GET", DEBUG, 200, _debug())])  # Facebook's Page scopes only
    assert result.state == CredentialState.WARNING
    assert "instagram_basic" in result.detail and "instagram_manage_comments" in result.detail


def test_the_accounts_own_token_is_checked_under_its_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ACCOUNT_HHS_MAIN_IG_INSTAGRAM_TOKEN", "checkIgOwnToken8Kp")
    answer = _debug(is_valid=False, error={"code": 190, "message": "Error validating access token: revoked"})
    (result,) = check("instagram", [MAIN], tmp_path, [("GET", DEBUG, 200, answer)])
    assert result.credential == "ACCOUNT_HHS_MAIN_IG_INSTAGRAM_TOKEN" and result.state == CredentialState.FAILED


def test_no_token_at_all_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FACEBOOK_ACCESS_TOKEN")
    (result,) = check("instagram", [MAIN], tmp_path, [])
    assert result.state == CredentialState.MISSING and "INSTAGRAM_TOKEN" in result.detail
