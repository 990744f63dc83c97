"""The text of e-mails and chat messages: hostile names are shown escaped and cut, never obeyed."""

from __future__ import annotations

from pathlib import Path

import pytest

from auditor.notify import Notification, build_email, route, slack_payload, teams_payload
from auditor.policy import SinkPolicy
from auditor.report.publish import write_report_files
from auditor.settings import Settings
from models.tables import Severity
from tests.auditor.report.factory import SPOOFED_HANDLE, TEN_MB, make_report, post_text, with_hostile_finding

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("SMTP_HOST", "SMTP_PORT", "SMTP_USER", "SMTP_PASSWORD", "SMTP_FROM", "AUDITOR_WEBHOOK_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_email_and_chat_show_bidi_controls_and_cut_a_ten_megabyte_name(tmp_path: Path) -> None:
    report = with_hostile_finding(
        make_report(40), handle=SPOOFED_HANDLE + post_text(TEN_MB - len(SPOOFED_HANDLE)), severity="critical"
    )
    report["run"]["division"] = "Prairie Hills \u202eRegional Division"
    folder = tmp_path / "reports" / report["run"]["id"]
    write_report_files(report, folder)
    sink = SinkPolicy(kind="smtp", to=["its@division.test"], min_severity=Severity.HIGH)
    notification = Notification(report, folder, sink, route(report, sink))

    message = build_email(notification, Settings(SMTP_HOST="127.0.0.1", SMTP_FROM="auditor@division.test"))
    plain = message.get_body(preferencelist=("plain",))
    assert plain is not None
    body = plain.get_content()
    subject = str(message["Subject"])
    teams = [block.get("text", "") for block in teams_payload(notification)["attachments"][0]["content"]["body"]]
    slack = [str(block) for block in slack_payload(notification)["blocks"]]

    assert subject.startswith("[AP 80-06 audit] Prairie Hills <U+202E>Regional Division: ")
    assert "\\<U+202E\\>sh\\_edisllih@Great game" in body  # Markdown-escaped <U+202E>sh_edisllih@…
    assert "… \\[truncated, 10,485,760 characters\\]" in body
    assert any("<U+202E>sh_edisllih@Great game" in t and "[truncated, 10,485,760 characters]" in t for t in teams)
    assert any("&lt;U+202E&gt;sh_edisllih@" in t for t in slack)
    for text in (subject, body, *teams, *slack):
        assert [c for c in BIDI_CONTROLS if c in text] == []
    assert len(body) < 50_000
    # report.html stays small enough to attach, so the e-mail still carries the details
    assert [a.get_filename() for a in message.iter_attachments()] == ["report.html"]
