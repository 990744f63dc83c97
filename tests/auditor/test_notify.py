"""Notification sinks against real servers on loopback: aiosmtpd for e-mail, http.server for webhooks."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import hashlib
import ipaddress
import json
import logging
import socket
import ssl
import threading
from collections.abc import Iterator
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from auditor.notify import SINKS, route, send_notifications, send_notifications_for_folder
from auditor.policy import Policy, SinkPolicy
from auditor.report.html import write_html
from auditor.report.publish import atomic_write, render_json
from auditor.settings import Settings
from connectors.scrub import ScrubbingFilter
from models.tables import Severity
from tests.auditor.report.factory import make_report, validate

SMTP_PASSWORD = "s3cret-SMTP-pass-4471"
WEBHOOK_TOKEN = "T0KEN-hook-9f8e7d6c5b4a"
SETTINGS_VARIABLES = (
    "SMTP_HOST",
    "SMTP_PORT",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "SMTP_FROM",
    "SMTP_STARTTLS",
    "SMTP_SSL",
    "AUDITOR_WEBHOOK_URL",
    "AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK",
)


# --- servers -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class MailSink:
    """aiosmtpd handler keeping every message it accepts, and whether it came over TLS."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        self.tls: list[bool] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        # session.ssl after STARTTLS; the transport's ssl_object with implicit TLS (SMTPS)
        self.tls.append(session.ssl is not None or server.transport.get_extra_info("ssl_object") is not None)
        parsed = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login.decode(), data.password.decode()))
        return AuthResult(success=data.password.decode() == SMTP_PASSWORD, handled=False)


@pytest.fixture
def smtp_server() -> Iterator[tuple[MailSink, int]]:
    sink = MailSink()
    port = free_port()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    yield sink, port
    controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


def _tls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **options: Any) -> Iterator[tuple[MailSink, int]]:
    """A server with a self-signed certificate the client trusts via SSL_CERT_FILE."""
    cert, key = self_signed_certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    sink = MailSink()
    port = free_port()
    if options.pop("implicit", False):
        options["ssl_context"] = context
    else:
        options.update(tls_context=context, require_starttls=True)
    if options.pop("auth", False):
        options.update(auth_required=True, auth_require_tls=True, authenticator=sink.authenticate)
    controller = Controller(sink, hostname="127.0.0.1", port=port, **options)
    controller.start()
    yield sink, port
    controller.stop()


@pytest.fixture
def tls_smtp_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MailSink, int]]:
    """STARTTLS required, AUTH only after TLS."""
    yield from _tls_server(tmp_path, monkeypatch, auth=True)


@pytest.fixture
def starttls_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MailSink, int]]:
    """STARTTLS required, no login (a relay that trusts the network)."""
    yield from _tls_server(tmp_path, monkeypatch)


@pytest.fixture
def smtps_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[MailSink, int]]:
    """Implicit TLS (SMTPS) from the first byte, on a port other than 465."""
    yield from _tls_server(tmp_path, monkeypatch, implicit=True)


class Hook:
    """A webhook receiver on loopback: records each POST, answers with `status`."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                hook.requests.append({"path": self.path, "headers": dict(self.headers), "body": json.loads(body)})
                self.send_response(hook.status)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{WEBHOOK_TOKEN}"

    @property
    def bodies(self) -> list[Any]:
        return [r["body"] for r in self.requests]


@pytest.fixture
def hook() -> Iterator[Hook]:
    receiver = Hook()
    receiver.thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


# --- helpers -----------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def clean_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SETTINGS_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Everything logged, at DEBUG, through the scrubbing filter the CLI installs on every handler."""
    caplog.set_level(logging.DEBUG)
    caplog.handler.addFilter(ScrubbingFilter())
    return caplog


def settings(**values: Any) -> Settings:
    """The test receivers are http:// on 127.0.0.1: allowed only by the explicit test-only setting."""
    return Settings(**{"AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK": True, **values})


def report_folder(tmp_path: Path, report: dict[str, Any]) -> Path:
    folder = tmp_path / "reports" / report["run"]["id"]
    atomic_write(folder / "report.json", render_json(report))
    write_html(report, folder)
    return folder


def fingerprint_files(folder: Path) -> dict[str, tuple[str, int]]:
    return {
        p.name: (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns) for p in sorted(folder.iterdir())
    }


def policy(*sinks: SinkPolicy) -> Policy:
    return Policy(sinks=list(sinks))


def quiet_report() -> dict[str, Any]:
    """A night with nothing new: every finding persisting, low severity."""
    report = make_report(14, coverage_problems=False, statuses=("persisting",))
    for finding in report["findings"]:
        finding["severity"] = "low"
    report["summary"]["by_severity"] = {"low": len(report["findings"])}
    validate(report)
    return report


# --- e-mail ------------------------------------------------------------------------------------


def test_email_carries_subject_summary_and_the_html_report(
    starttls_server: tuple[MailSink, int], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    mail, port = starttls_server
    report = make_report(40)
    folder = report_folder(tmp_path, report)
    sink = SinkPolicy(kind="smtp", to=["its@division.test", "principal@division.test"], min_severity=Severity.HIGH)
    config = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="auditor@division.test")

    outcomes = send_notifications(report, folder, policy(sink), config)

    routed = route(report, sink)
    assert [(o.kind, o.status, o.findings) for o in outcomes] == [("smtp", "sent", len(routed))]
    assert len(mail.messages) == 1
    message = mail.messages[0]
    assert message["Subject"] == (
        f"[AP 80-06 audit] Prairie Hills Regional Division: {len(routed)} new findings at or above high"
        " (audit incomplete)"
    )
    assert message["From"] == "auditor@division.test"
    assert mail.envelopes[0].rcpt_tos == ["its@division.test", "principal@division.test"]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert f"This notification covers new findings of severity high or higher: {len(routed)}." in text
    assert "## Changes since run `20261114T060000Z-000099`" in text
    assert "**2 of 7 accounts were not fully audited**" in text
    for finding in routed:
        assert f"**{finding['severity'].upper()}** {finding['title']}" in text
    attachments = list(message.iter_attachments())
    assert [a.get_filename() for a in attachments] == ["report.html"]
    assert attachments[0].get_content_type() == "text/html"
    assert attachments[0].get_payload(decode=True) == (folder / "report.html").read_bytes()
    assert mail.tls == [True]


def test_email_uses_starttls_and_logs_in_without_logging_the_password(
    tls_smtp_server: tuple[MailSink, int], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    mail, port = tls_smtp_server
    report = make_report(20)
    folder = report_folder(tmp_path, report)
    config = settings(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_STARTTLS=True,
        SMTP_USER="auditor@division.test",
        SMTP_PASSWORD=SMTP_PASSWORD,
    )
    outcomes = send_notifications(report, folder, policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config)

    assert [o.status for o in outcomes] == ["sent"], outcomes
    assert mail.logins == [("auditor@division.test", SMTP_PASSWORD)]
    assert mail.tls == [True]
    assert mail.messages[0]["From"] == "auditor@division.test"  # SMTP_FROM defaults to the login
    assert SMTP_PASSWORD not in logs.text


def test_wrong_smtp_password_fails_that_sink_only(
    tls_smtp_server: tuple[MailSink, int], hook: Hook, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    mail, port = tls_smtp_server
    report = make_report(20)
    folder = report_folder(tmp_path, report)
    config = settings(
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_USER="auditor@division.test",
        SMTP_PASSWORD="wrong-password-123",
        AUDITOR_WEBHOOK_URL=hook.url,
    )
    outcomes = send_notifications(
        report, folder, policy(SinkPolicy(kind="smtp", to=["its@division.test"]), SinkPolicy(kind="webhook")), config
    )
    assert [o.status for o in outcomes] == ["failed", "sent"]
    assert "SMTPAuthenticationError" in outcomes[0].detail
    assert mail.messages == []
    assert len(hook.requests) == 1
    assert "wrong-password-123" not in logs.text + outcomes[0].detail


def test_the_password_is_never_sent_in_clear_text(
    smtp_server: tuple[MailSink, int], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    mail, port = smtp_server
    report = make_report(20)
    config = settings(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_USER="auditor", SMTP_PASSWORD=SMTP_PASSWORD
    )
    outcomes = send_notifications(
        report, report_folder(tmp_path, report), policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config
    )
    assert outcomes[0].status == "failed"
    assert "without TLS" in outcomes[0].detail
    assert mail.messages == []
    assert SMTP_PASSWORD not in logs.text


def test_starttls_missing_on_the_server_fails_rather_than_sending_in_clear(
    smtp_server: tuple[MailSink, int], tmp_path: Path
) -> None:
    mail, port = smtp_server
    report = make_report(20)
    config = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=True, SMTP_FROM="auditor@division.test")
    outcomes = send_notifications(
        report, report_folder(tmp_path, report), policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config
    )
    assert outcomes[0].status == "failed"
    assert "STARTTLS" in outcomes[0].detail
    assert mail.messages == []


# --- webhooks ----------------------------------------------------------------------------------


def test_generic_webhook_posts_json_without_personal_details(hook: Hook, tmp_path: Path) -> None:
    report = make_report(40)
    folder = report_folder(tmp_path, report)
    sink = SinkPolicy(kind="webhook", min_severity=Severity.MEDIUM, new_only=False)
    outcomes = send_notifications(report, folder, policy(sink), settings(AUDITOR_WEBHOOK_URL=hook.url))

    assert [o.status for o in outcomes] == ["sent"]
    [request] = hook.requests
    assert request["path"] == f"/hooks/{WEBHOOK_TOKEN}"
    assert request["headers"]["Content-Type"] == "application/json"
    body = request["body"]
    routed = route(report, sink)
    assert body["run"]["id"] == report["run"]["id"]
    assert body["summary"] == report["summary"]
    assert body["routing"] == {"min_severity": "medium", "new_only": False}
    assert [f["fingerprint"] for f in body["findings"]] == [f["fingerprint"] for f in routed]
    assert {f["status"] for f in body["findings"]} <= {"new", "persisting", "unknown"}
    assert all("message" not in f and "evidence" not in f for f in body["findings"])
    assert [c["account"] for c in body["coverage_problems"]] == ["rbe-reading-group", "mrj-band-yt"]
    assert body["report_html"] == str(folder / "report.html")
    assert "## Open findings" in body["text"]


def test_teams_gets_an_adaptive_card(hook: Hook, tmp_path: Path) -> None:
    report = make_report(40)
    outcomes = send_notifications(
        report,
        report_folder(tmp_path, report),
        policy(SinkPolicy(kind="teams", min_severity=Severity.CRITICAL)),
        settings(AUDITOR_WEBHOOK_URL=hook.url),
    )
    assert [o.status for o in outcomes] == ["sent"]
    body = hook.bodies[0]
    assert body["type"] == "message"
    [attachment] = body["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block.get("text", "") for block in card["body"]]
    critical_new = [f for f in report["findings"] if f["status"] == "new" and f["severity"] == "critical"]
    assert (
        texts[0]
        == f"[AP 80-06 audit] Prairie Hills Regional Division: {len(critical_new)} new finding"
        + ("s" if len(critical_new) != 1 else "")
        + " at or above critical (audit incomplete)"
    )
    facts = next(block["facts"] for block in card["body"] if block["type"] == "FactSet")
    assert {"title": "Coverage", "value": "2 of 7 accounts not fully audited"} in facts
    assert sum(1 for t in texts if t.startswith("CRITICAL · ")) == len(critical_new)


def test_slack_gets_blocks_with_escaped_text(hook: Hook, tmp_path: Path) -> None:
    report = make_report(40)
    for finding in report["findings"]:
        finding["handle"] = "<!channel> @club"
    outcomes = send_notifications(
        report,
        report_folder(tmp_path, report),
        policy(SinkPolicy(kind="slack")),
        settings(AUDITOR_WEBHOOK_URL=hook.url),
    )
    assert [o.status for o in outcomes] == ["sent"]
    body = hook.bodies[0]
    assert body["text"].startswith("[AP 80-06 audit] Prairie Hills Regional Division: ")
    assert body["blocks"][0] == {"type": "header", "text": {"type": "plain_text", "text": body["text"]}}
    listing = next(b["text"]["text"] for b in body["blocks"] if b["type"] == "section" and "text" in b)
    assert "&lt;!channel&gt; @club" in listing
    assert "<!channel>" not in json.dumps(body)
    assert len(listing.splitlines()) == outcomes[0].findings


# --- routing -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "min_severity, new_only",
    [(Severity.HIGH, True), (Severity.CRITICAL, True), (Severity.LOW, False), (Severity.INFO, False)],
)
def test_routing_by_severity_and_new_only(hook: Hook, tmp_path: Path, min_severity: Severity, new_only: bool) -> None:
    report = make_report(60)
    sink = SinkPolicy(kind="webhook", min_severity=min_severity, new_only=new_only)
    send_notifications(report, report_folder(tmp_path, report), policy(sink), settings(AUDITOR_WEBHOOK_URL=hook.url))
    sent = {f["fingerprint"] for f in hook.bodies[0]["findings"]}
    statuses = {"new"} if new_only else {"new", "persisting", "unknown"}
    expected = {
        f["fingerprint"]
        for f in report["findings"]
        if f["status"] in statuses and Severity(f["severity"]).rank >= min_severity.rank
    }
    assert sent == expected and expected


def test_a_quiet_night_sends_nothing_unless_asked(
    hook: Hook, starttls_server: tuple[MailSink, int], tmp_path: Path
) -> None:
    mail, port = starttls_server
    report = quiet_report()
    folder = report_folder(tmp_path, report)
    config = settings(
        AUDITOR_WEBHOOK_URL=hook.url,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=port,
        SMTP_FROM="auditor@division.test",
    )
    quiet = policy(SinkPolicy(kind="smtp", to=["its@division.test"]), SinkPolicy(kind="slack"))
    outcomes = send_notifications(report, folder, quiet, config)
    assert [(o.status, o.detail) for o in outcomes] == [("skipped", "quiet: nothing to report")] * 2
    assert mail.messages == [] and hook.requests == []

    asked = policy(SinkPolicy(kind="smtp", to=["its@division.test"], send_when_quiet=True))
    outcomes = send_notifications(report, folder, asked, config)
    assert [o.status for o in outcomes] == ["sent"]
    assert mail.messages[0]["Subject"] == (
        "[AP 80-06 audit] Prairie Hills Regional Division: no new findings at or above high"
    )


# --- failures ----------------------------------------------------------------------------------


def test_a_failing_sink_is_reported_and_the_report_is_untouched(
    hook: Hook, tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    report = make_report(40)
    folder = report_folder(tmp_path, report)
    before = fingerprint_files(folder)
    refused = f"http://127.0.0.1:{free_port()}/hooks/{WEBHOOK_TOKEN}"  # nothing listens there
    config = settings(
        AUDITOR_WEBHOOK_URL=refused,
        SMTP_HOST="127.0.0.1",
        SMTP_PORT=free_port(),
        SMTP_FROM="auditor@division.test",
    )
    config_ok = settings(AUDITOR_WEBHOOK_URL=hook.url)

    outcomes = send_notifications(
        report,
        folder,
        policy(SinkPolicy(kind="webhook"), SinkPolicy(kind="smtp", to=["its@division.test"])),
        config,
    )
    assert [o.status for o in outcomes] == ["failed", "failed"]
    assert all(o.failed for o in outcomes)
    assert outcomes[0].detail == "ConnectionError: the webhook could not be reached"
    assert "ConnectionRefusedError" in outcomes[1].detail
    assert outcomes[0].target == "webhook at 127.0.0.1"
    # the next sink still runs after one fails
    outcomes = send_notifications(
        report, folder, policy(SinkPolicy(kind="webhook"), SinkPolicy(kind="teams")), config_ok
    )
    assert [o.status for o in outcomes] == ["sent", "sent"]

    assert fingerprint_files(folder) == before
    assert WEBHOOK_TOKEN not in logs.text
    assert any("notification via webhook" in r.getMessage() and r.levelno == logging.WARNING for r in logs.records)


def test_http_error_answers_fail_the_sink(hook: Hook, tmp_path: Path, logs: pytest.LogCaptureFixture) -> None:
    hook.status = 500
    report = make_report(20)
    outcomes = send_notifications(
        report,
        report_folder(tmp_path, report),
        policy(SinkPolicy(kind="slack")),
        settings(AUDITOR_WEBHOOK_URL=hook.url),
    )
    assert (outcomes[0].status, outcomes[0].detail) == ("failed", "the webhook answered HTTP 500")
    assert WEBHOOK_TOKEN not in logs.text


def test_missing_configuration_and_unknown_kinds_fail_without_raising(tmp_path: Path) -> None:
    report = make_report(20)
    folder = report_folder(tmp_path, report)
    outcomes = send_notifications(
        report,
        folder,
        policy(
            SinkPolicy(kind="smtp", to=["its@division.test"]),
            SinkPolicy(kind="webhook"),
            SinkPolicy(kind="pager"),
        ),
        settings(),
    )
    assert [(o.status, o.detail) for o in outcomes] == [
        ("failed", "SMTP_HOST is not set"),
        ("failed", "AUDITOR_WEBHOOK_URL is not set"),
        ("failed", "unknown sink kind 'pager' (known: slack, smtp, teams, webhook)"),
    ]


def test_an_unexpected_sink_error_is_contained_and_its_text_not_logged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, logs: pytest.LogCaptureFixture
) -> None:
    def broken(notification: Any, config: Settings) -> None:
        raise RuntimeError(f"token {WEBHOOK_TOKEN} leaked by a library")

    monkeypatch.setitem(SINKS, "webhook", broken)
    report = make_report(20)
    outcomes = send_notifications(
        report, report_folder(tmp_path, report), policy(SinkPolicy(kind="webhook")), settings()
    )
    assert (outcomes[0].status, outcomes[0].detail) == ("failed", "RuntimeError")
    assert WEBHOOK_TOKEN not in logs.text


def test_a_missing_report_html_is_rendered_for_the_attachment_not_written(
    starttls_server: tuple[MailSink, int], tmp_path: Path
) -> None:
    mail, port = starttls_server
    report = make_report(20)
    folder = tmp_path / "only-json"
    atomic_write(folder / "report.json", render_json(report))
    config = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_FROM="auditor@division.test")
    send_notifications(report, folder, policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config)
    [attachment] = list(mail.messages[0].iter_attachments())
    assert b"AP 80-06 social media audit" in attachment.get_payload(decode=True)
    assert sorted(p.name for p in folder.iterdir()) == ["report.json"]


def test_sending_from_a_run_folder_reads_its_report_json(hook: Hook, tmp_path: Path) -> None:
    report = make_report(30)
    folder = report_folder(tmp_path, report)
    outcomes = send_notifications_for_folder(
        folder, policy(SinkPolicy(kind="webhook")), settings(AUDITOR_WEBHOOK_URL=hook.url)
    )
    assert [o.status for o in outcomes] == ["sent"]
    assert hook.bodies[0]["run"]["id"] == report["run"]["id"]

    missing = send_notifications_for_folder(
        tmp_path / "nowhere", policy(SinkPolicy(kind="webhook")), settings(AUDITOR_WEBHOOK_URL=hook.url)
    )
    assert [(o.status, o.detail) for o in missing] == [("failed", "report.json could not be read: FileNotFoundError")]
    assert len(hook.requests) == 1


def test_a_division_without_sinks_does_not_read_its_report_back(tmp_path: Path) -> None:
    """Nothing to send: the run's report.json is not read back (at 100,000 findings, reading it
    whole was the run's memory peak, issue #21)."""
    import tracemalloc

    folder = report_folder(tmp_path, make_report(2000, validated=False))
    size = (folder / "report.json").stat().st_size
    tracemalloc.start()
    try:
        assert send_notifications_for_folder(folder, policy(), settings()) == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < size / 10, f"{peak:,} bytes held for a {size:,}-byte report.json"


# --- transport security and server text --------------------------------------------------------


def test_without_tls_configured_the_report_is_not_e_mailed_at_all(
    smtp_server: tuple[MailSink, int], tmp_path: Path, logs: pytest.LogCaptureFixture
) -> None:
    """No login, no password, but the report names minors: neither STARTTLS nor SMTPS, no e-mail."""
    mail, port = smtp_server
    report = make_report(20)
    config = settings(SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_STARTTLS=False, SMTP_FROM="auditor@division.test")
    outcomes = send_notifications(
        report, report_folder(tmp_path, report), policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config
    )
    assert outcomes[0].status == "failed"
    assert outcomes[0].detail == (
        "refusing to send the report without TLS: set SMTP_STARTTLS=true (port 587) or SMTP_SSL=true (port 465)"
    )
    assert mail.messages == []


def test_smtp_ssl_sends_over_implicit_tls_on_any_port(smtps_server: tuple[MailSink, int], tmp_path: Path) -> None:
    mail, port = smtps_server
    report = make_report(20)
    config = settings(
        SMTP_HOST="127.0.0.1", SMTP_PORT=port, SMTP_SSL=True, SMTP_STARTTLS=False, SMTP_FROM="auditor@division.test"
    )
    outcomes = send_notifications(
        report, report_folder(tmp_path, report), policy(SinkPolicy(kind="smtp", to=["its@division.test"])), config
    )
    assert [o.status for o in outcomes] == ["sent"], outcomes
    assert mail.tls == [True]


def test_an_smtp_reply_is_scrubbed_flattened_and_bounded() -> None:
    """A server that echoes the AUTH PLAIN exchange (base64 of \\0user\\0password) in a long reply."""
    import base64
    import smtplib

    from auditor.notify import MAX_ERROR_TEXT, safe_error_text

    config = settings(SMTP_USER="auditor@division.test", SMTP_PASSWORD=SMTP_PASSWORD)
    plain = base64.b64encode(b"\0auditor@division.test\0" + SMTP_PASSWORD.encode()).decode()
    reply = f"5.7.8 Authentication failed for {plain}\r\n5.7.8 {SMTP_PASSWORD[2:14]} " + "details " * 200
    text = safe_error_text(smtplib.SMTPAuthenticationError(535, reply.encode()), config)

    assert text.startswith("SMTPAuthenticationError: 535 5.7.8 Authentication failed for ")
    assert len(text) <= MAX_ERROR_TEXT and "\n" not in text and "\r" not in text
    core = plain[32:]  # the part of the base64 computed from the password alone
    assert not [core[i : i + 8] for i in range(len(core) - 7) if core[i : i + 8] in text]
    assert SMTP_PASSWORD[2:14] not in text


def test_webhook_urls_must_be_https(hook: Hook, tmp_path: Path, logs: pytest.LogCaptureFixture) -> None:
    report = make_report(20)
    folder = report_folder(tmp_path, report)
    sinks = policy(SinkPolicy(kind="webhook"))
    assert Settings().webhook_allow_http_loopback is False  # the test-only setting is never the default
    for config in (
        Settings(AUDITOR_WEBHOOK_URL=hook.url),  # plain http, even on loopback, by default
        settings(AUDITOR_WEBHOOK_URL=f"http://hooks.example.org/hooks/{WEBHOOK_TOKEN}"),  # not loopback
        settings(AUDITOR_WEBHOOK_URL=f"ftp://127.0.0.1/hooks/{WEBHOOK_TOKEN}"),
    ):
        [outcome] = send_notifications(report, folder, sinks, config)
        assert outcome.status == "failed"
        assert outcome.detail.startswith("AUDITOR_WEBHOOK_URL must be an https:// URL")
    assert hook.requests == []
    assert WEBHOOK_TOKEN not in logs.text
    [sent] = send_notifications(report, folder, sinks, settings(AUDITOR_WEBHOOK_URL=hook.url))
    assert sent.status == "sent" and len(hook.requests) == 1


def test_a_run_whose_mail_cannot_go_over_tls_exits_4(
    smtp_server: tuple[MailSink, int], division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app

    mail, port = smtp_server
    for name, value in {
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(port),
        "SMTP_STARTTLS": "false",
        "SMTP_FROM": "auditor@division.test",
    }.items():
        monkeypatch.setenv(name, value)
    policy_file = division_dir / "policy.yaml"
    policy_file.write_text(
        policy_file.read_text() + "sinks:\n  - kind: smtp\n    to: [its@division.test]\n    min_severity: info\n"
        "    new_only: false\n"
    )
    result = CliRunner().invoke(app, ["run", "--division", str(division_dir), "--as-of", "2026-11-15T06:00:00"])
    assert result.exit_code == 4, result.output
    assert "without TLS" in result.output
    assert mail.messages == []
    assert (auditor_env / "reports" / "latest" / "report.json").is_file()


def test_a_run_notifies_from_the_report_it_published_not_from_report_json_read_back(
    hook: Hook, division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """report.json gone (or unreadable) once written: the sinks are still told, from what the run built."""
    import auditor.run
    from auditor.inputs import load_division

    policy_file = division_dir / "policy.yaml"
    policy_file.write_text(
        policy_file.read_text() + "sinks:\n  - kind: webhook\n    min_severity: info\n    new_only: false\n"
    )
    written = auditor.run.write_run_reports

    def write_then_lose_report_json(*args: Any) -> Any:
        result = written(*args)
        folder = result[0] if isinstance(result, tuple) else result.folder
        (folder / "report.json").unlink()
        return result

    monkeypatch.setattr(auditor.run, "write_run_reports", write_then_lose_report_json)
    config = settings(AUDITOR_WEBHOOK_URL=hook.url)
    outcome = auditor.run.execute_run(
        load_division(division_dir), config, as_of=dt.datetime(2026, 11, 15, 6, tzinfo=dt.UTC)
    )

    assert outcome.failed_notifications == [] and outcome.exit_code == 1
    [body] = hook.bodies
    assert body["run"]["id"] == outcome.run_id and body["run"]["status"] == "complete"
    told = {f["fingerprint"] for f in body["findings"]}
    assert len(told) == sum(outcome.findings_by_status.get(s, 0) for s in ("new", "persisting", "unknown"))
    assert body["summary"]["by_severity"] == outcome.findings_by_severity
