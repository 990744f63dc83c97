"""Notification sinks: e-mail, a generic JSON webhook, Microsoft Teams and Slack.

The policy file lists the sinks (`sinks:` with kind, to, min_severity, new_only, send_when_quiet);
credentials come from the environment (Settings: SMTP_*, AUDITOR_WEBHOOK_URL). Each sink is a
function registered by kind with `@sink(...)`, like rules.

Sending never endangers the report: report files are only read, a failing sink is logged (without
its URL or password) and returned as a failed SinkOutcome, and `send_notifications` never raises.
Messages name accounts and rules, never a finding's message or evidence (those can name students);
the e-mail carries report.html as an attachment for the people entitled to the details.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import re
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests

from auditor.policy import Policy, SinkPolicy
from auditor.report.markdown import finding_lines, render_summary_md
from auditor.report.safe_text import display_line
from auditor.settings import Settings
from connectors.scrub import REDACTED, register_url_secret, scrub
from models.severity import OPEN_STATUSES
from models.tables import Severity

if TYPE_CHECKING:
    from auditor.context import RunContext
    from auditor.report.publish import Published

log = logging.getLogger("auditor.notify")

SMTP_TIMEOUT_SECONDS = 30.0
HTTP_TIMEOUT_SECONDS = (5.0, 30.0)  # connect, read
MAX_ATTACHMENT_BYTES = 10 * 1024 * 1024  # above this the e-mail says where the report is instead
LISTED_FINDINGS = 20  # findings listed in a message; the rest are counted
MAX_ERROR_TEXT = 200  # a server's reply is its text, not ours: bounded in logs and outcomes


class SinkError(Exception):
    """A sink could not deliver; the message is safe to log (no URL, no password)."""


@dataclass(frozen=True)
class SinkOutcome:
    kind: str
    target: str  # where it went, safe to log: a recipient count and host, never a URL path or password
    status: str  # sent | skipped | failed
    findings: int  # findings the message was about
    detail: str = ""  # why it was skipped or failed

    @property
    def failed(self) -> bool:
        return self.status == "failed"


@dataclass(frozen=True)
class Notification:
    """What one sink sends: the findings routed to it and the texts shared by every format."""

    report: dict[str, Any]
    report_dir: Path
    policy: SinkPolicy
    findings: list[dict[str, Any]]

    @property
    def quiet(self) -> bool:
        return not self.findings

    @property
    def subject(self) -> str:
        run = self.report["run"]
        scope = display_line(run["division"]) + (f" — {display_line(run['school'])}" if run.get("school") else "")
        which = "new" if self.policy.new_only else "open"
        count = len(self.findings)
        noun = "finding" if count == 1 else "findings"
        what = f"{count} {which} {noun} at or above {Severity(self.policy.min_severity).value}"
        if self.quiet:
            what = f"no {which} findings at or above {Severity(self.policy.min_severity).value}"
        incomplete = "" if run["status"] == "complete" else f" (audit {run['status']})"
        return f"[AP 80-06 audit] {scope}: {what}{incomplete}"

    @property
    def routing_text(self) -> str:
        which = "new findings" if self.policy.new_only else "open findings (new, persisting, unknown)"
        return f"{which} of severity {Severity(self.policy.min_severity).value} or higher"

    def body_markdown(self) -> str:
        listed = finding_lines(self.findings, LISTED_FINDINGS) if self.findings else ["- none"]
        return "\n".join(
            [
                f"This notification covers {self.routing_text}: {len(self.findings)}.",
                "",
                *listed,
                "",
                "---",
                "",
                render_summary_md(self.report),
            ]
        )

    @property
    def report_html_path(self) -> Path:
        return self.report_dir / "report.html"


SinkFunction = Callable[[Notification, Settings], None]
SINKS: dict[str, SinkFunction] = {}


def sink(kind: str) -> Callable[[SinkFunction], SinkFunction]:
    """Register a sink function for a policy `kind`."""

    def register(function: SinkFunction) -> SinkFunction:
        if kind in SINKS and SINKS[kind] is not function:
            raise ValueError(f"sink kind {kind} is defined twice")
        SINKS[kind] = function
        return function

    return register


# --- routing -----------------------------------------------------------------------------------


def route(report: dict[str, Any], policy: SinkPolicy) -> list[dict[str, Any]]:
    """The findings a sink is told about: at or above its severity, and only new ones if new_only."""
    threshold = Severity(policy.min_severity).rank
    statuses = ("new",) if policy.new_only else OPEN_STATUSES
    return [f for f in report["findings"] if f["status"] in statuses and Severity(f["severity"]).rank >= threshold]


def send_notifications(
    report: dict[str, Any], report_dir: Path, policy: Policy, settings: Settings
) -> list[SinkOutcome]:
    """Send to every sink of the policy. Never raises: a failure is logged and returned as failed."""
    return [_deliver(report, report_dir, sink_policy, settings) for sink_policy in policy.sinks]


def notify(ctx: RunContext, published: Published) -> list[SinkOutcome]:
    """The notify stage's entry: every sink of the policy told about the report the publish stage just
    wrote, from its in-memory notice (never report.json read back). A what-if (`check --person
    --departed`) tells the one who asked, never the sinks."""
    from auditor.store import WHAT_IF_KIND  # the store's stack loads only in a run

    if ctx.kind == WHAT_IF_KIND:
        return []
    return send_notifications(published.notice, published.folder, ctx.policy, ctx.settings)


def send_notifications_for_folder(report_dir: Path, policy: Policy, settings: Settings) -> list[SinkOutcome]:
    """Same, reading the run's report.json from its folder (what `auditor run` just published)."""
    if not policy.sinks:  # nothing to send: a 100,000-finding report.json read back was the run's peak (#21)
        return []
    try:
        report = json.loads((report_dir / "report.json").read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        detail = f"report.json could not be read: {type(exc).__name__}"
        log.warning("notifications not sent: %s", detail)
        return [SinkOutcome(s.kind, describe_target(s, settings), "failed", 0, detail) for s in policy.sinks]
    return send_notifications(report, report_dir, policy, settings)


def _deliver(report: dict[str, Any], report_dir: Path, policy: SinkPolicy, settings: Settings) -> SinkOutcome:
    target = describe_target(policy, settings)
    findings: list[dict[str, Any]] = []
    try:
        findings = route(report, policy)
        notification = Notification(report, report_dir, policy, findings)
        if notification.quiet and not policy.send_when_quiet:
            log.info("notification via %s skipped: nothing to report (%s)", policy.kind, notification.routing_text)
            return SinkOutcome(policy.kind, target, "skipped", 0, "quiet: nothing to report")
        function = SINKS.get(policy.kind)
        if function is None:
            raise SinkError(f"unknown sink kind {policy.kind!r} (known: {', '.join(sorted(SINKS))})")
        function(notification, settings)
    except Exception as exc:  # a sink must never stop the run or lose the report
        detail = safe_error_text(exc, settings)
        log.warning("notification via %s to %s failed: %s", policy.kind, target, detail)
        return SinkOutcome(policy.kind, target, "failed", len(findings), detail)
    log.info("notification sent via %s to %s (%d findings)", policy.kind, target, len(findings))
    return SinkOutcome(policy.kind, target, "sent", len(findings))


def describe_target(policy: SinkPolicy, settings: Settings) -> str:
    if policy.kind == "smtp":
        count = len(policy.to)
        return f"{count} recipient{'s' if count != 1 else ''} via {settings.smtp_host or '(no SMTP_HOST)'}"
    url = settings.webhook_url.get_secret_value() if settings.webhook_url else ""
    host = urlsplit(url).hostname if url else None
    label = "webhook" if policy.kind == "webhook" else f"{policy.kind} webhook"
    return f"{label} at {host or '(no AUDITOR_WEBHOOK_URL)'}"


def safe_error_text(exc: BaseException, settings: Settings) -> str:
    """The error as a sentence without secrets: our own messages, SMTP/OS errors; others by type only.

    An SMTP reply is the server's text (it may echo the AUTH exchange, i.e. the base64 password):
    it is decoded, scrubbed, flattened to one line and bounded, never passed on verbatim.
    """
    if isinstance(exc, SinkError):
        return redact(str(exc), settings)
    if isinstance(exc, smtplib.SMTPResponseException):
        reply = exc.smtp_error.decode("utf-8", "replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        text = f"{type(exc).__name__}: {exc.smtp_code} {reply}"
    elif isinstance(exc, smtplib.SMTPException | OSError | ssl.SSLError):
        text = f"{type(exc).__name__}: {exc}"
    else:
        return type(exc).__name__
    text = re.sub(r"\s+", " ", redact(text, settings)).strip()
    return text if len(text) <= MAX_ERROR_TEXT else text[: MAX_ERROR_TEXT - 1] + "…"


def redact(text: str, settings: Settings) -> str:
    """Remove the webhook URL (and its path, which is the token), the SMTP password, then token shapes."""
    secrets: list[str] = []
    if settings.smtp_password:
        secrets.append(settings.smtp_password.get_secret_value())
    if settings.webhook_url:
        url = settings.webhook_url.get_secret_value()
        parts = urlsplit(url)
        secrets += [url, parts.path + (f"?{parts.query}" if parts.query else ""), parts.query]
    for secret in sorted((s for s in secrets if s and s != "/"), key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return scrub(text)


# --- e-mail ------------------------------------------------------------------------------------


@sink("smtp")
def send_email(notification: Notification, settings: Settings) -> None:
    message = build_email(notification, settings)
    host = settings.smtp_host
    assert host is not None  # build_email checked it
    implicit_tls = settings.smtp_ssl or settings.smtp_port == 465
    if not (implicit_tls or settings.smtp_starttls):
        # The report names minors: no TLS configured means no e-mail, never a clear-text one.
        raise SinkError(
            "refusing to send the report without TLS: set SMTP_STARTTLS=true (port 587) or SMTP_SSL=true (port 465)"
        )
    context = ssl.create_default_context()
    smtp: smtplib.SMTP = (
        smtplib.SMTP_SSL(host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS, context=context)
        if implicit_tls
        else smtplib.SMTP(host, settings.smtp_port, timeout=SMTP_TIMEOUT_SECONDS)
    )
    with smtp:
        smtp.ehlo()
        if not implicit_tls:
            smtp.starttls(context=context)  # raises if the server does not offer it: never fall back to clear text
            smtp.ehlo()
        if settings.smtp_user:
            password = settings.smtp_password.get_secret_value() if settings.smtp_password else ""
            smtp.login(settings.smtp_user, password)
        refused = smtp.send_message(message)
    if refused:
        raise SinkError(f"the SMTP server refused {len(refused)} of {len(notification.policy.to)} recipients")


def build_email(notification: Notification, settings: Settings) -> EmailMessage:
    if not settings.smtp_host:
        raise SinkError("SMTP_HOST is not set")
    sender = settings.smtp_from or settings.smtp_user
    if not sender:
        raise SinkError("SMTP_FROM is not set")
    if not notification.policy.to:
        raise SinkError("the smtp sink has no recipients (`to:` in the policy file)")
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = sender
    message["To"] = ", ".join(notification.policy.to)
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    body = notification.body_markdown()
    attachment = _report_html(notification)
    if attachment is None:
        body += f"\nThe HTML report is too large to attach; it is at {notification.report_html_path}\n"
    message.set_content(body)
    if attachment is not None:
        message.add_attachment(attachment, maintype="text", subtype="html", filename="report.html")
    return message


def _report_html(notification: Notification) -> bytes | None:
    """report.html as written beside report.json, or rendered now if it is missing (never written)."""
    path = notification.report_html_path
    if path.is_file():
        if path.stat().st_size > MAX_ATTACHMENT_BYTES:
            return None
        return path.read_bytes()
    from auditor.report.html import render_html

    data = render_html(notification.report).encode("utf-8")
    return data if len(data) <= MAX_ATTACHMENT_BYTES else None


# --- webhooks ----------------------------------------------------------------------------------


def _post_json(settings: Settings, payload: dict[str, Any]) -> None:
    if not settings.webhook_url:
        raise SinkError("AUDITOR_WEBHOOK_URL is not set")
    url = settings.webhook_url.get_secret_value()
    _register_url_secrets(url)
    _check_webhook_url(url, settings)
    try:
        response = requests.post(url, json=payload, timeout=HTTP_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as exc:
        # requests' messages quote the URL, whose path is the webhook's secret: keep the type only
        raise SinkError(f"{type(exc).__name__}: the webhook could not be reached") from None
    if not 200 <= response.status_code < 300:
        raise SinkError(f"the webhook answered HTTP {response.status_code}")


def _register_url_secrets(url: str) -> None:
    """The path and query of a webhook URL are its credential: HTTP libraries log them at DEBUG
    without the host, so the scrubbing filter must know them on their own too."""
    register_url_secret(url)


LOOPBACK_NAMES = {"localhost"}


def _check_webhook_url(url: str, settings: Settings) -> None:
    """The payload names accounts and findings: it goes over https only. A plain http:// URL is
    accepted on a loopback address when AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK says so (tests)."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    if scheme == "https" and host:
        return
    if scheme == "http" and settings.webhook_allow_http_loopback and _is_loopback(host):
        return
    raise SinkError(
        "AUDITOR_WEBHOOK_URL must be an https:// URL (plain http:// only on a loopback address"
        " with AUDITOR_WEBHOOK_ALLOW_HTTP_LOOPBACK=true, for tests)"
    )


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def webhook_payload(notification: Notification) -> dict[str, Any]:
    report = notification.report
    run = report["run"]
    return {
        "event": "ap8006.audit.report",
        "subject": notification.subject,
        "division": run["division"],
        "school": run.get("school"),
        "run": {key: run.get(key) for key in ("id", "kind", "as_of", "status", "exit_code", "previous_run")},
        "routing": {
            "min_severity": Severity(notification.policy.min_severity).value,
            "new_only": notification.policy.new_only,
        },
        "summary": report["summary"],
        "coverage_problems": [
            {key: c.get(key) for key in ("account", "handle", "platform", "school", "state")}
            for c in report["coverage"]
            if c["state"] != "complete"
        ],
        "findings": [
            {
                key: f.get(key)
                for key in (
                    "fingerprint",
                    "rule",
                    "title",
                    "severity",
                    "status",
                    "regressed",
                    "school",
                    "account",
                    "handle",
                    "platform",
                )
            }
            for f in notification.findings
        ],
        "report_html": str(notification.report_html_path),
        "text": notification.body_markdown(),
    }


@sink("webhook")
def send_webhook(notification: Notification, settings: Settings) -> None:
    _post_json(settings, webhook_payload(notification))


def _counts_line(report: dict[str, Any]) -> str:
    changes = report["summary"]["changes"]
    return f"{changes['new']} new · {changes['resolved']} resolved · {changes['regressed']} regressed"


def _open_line(report: dict[str, Any]) -> str:
    by_severity = report["summary"]["by_severity"]
    parts = [f"{by_severity[s.value]} {s.value}" for s in reversed(Severity) if by_severity.get(s.value)]
    return ", ".join(parts) or "none"


def _coverage_line(report: dict[str, Any]) -> str:
    problems = [c for c in report["coverage"] if c["state"] != "complete"]
    total = len(report["coverage"])
    if not total:
        return "no account audited"
    if not problems:
        return f"all {total} accounts fully audited"
    return f"{len(problems)} of {total} accounts not fully audited"


def _plain_finding_lines(findings: list[dict[str, Any]], limit: int) -> list[str]:
    ordered = sorted(findings, key=lambda f: (-Severity(f["severity"]).rank, f["school"], f["account"]))
    lines = [
        f"{f['severity'].upper()} · {display_line(f['title'])} · {display_line(f.get('handle') or f['account'])} "
        f"({display_line(f['platform'])}, {display_line(f['school'])})" + (" · regressed" if f.get("regressed") else "")
        for f in ordered[:limit]
    ]
    if len(ordered) > limit:
        lines.append(f"… and {len(ordered) - limit} more in report.html")
    return lines


def teams_payload(notification: Notification) -> dict[str, Any]:
    """An Adaptive Card message, the format Teams incoming webhooks and Workflows accept."""
    report = notification.report
    run = report["run"]
    body: list[dict[str, Any]] = [
        {"type": "TextBlock", "text": notification.subject, "weight": "Bolder", "size": "Medium", "wrap": True},
        {
            "type": "TextBlock",
            "text": f"Run {run['id']} as of {run['as_of'][:16].replace('T', ' ')} UTC",
            "isSubtle": True,
            "wrap": True,
        },
        {
            "type": "FactSet",
            "facts": [
                {"title": "Since last run", "value": _counts_line(report)},
                {"title": "Open findings", "value": _open_line(report)},
                {"title": "Coverage", "value": _coverage_line(report)},
                {"title": "Routing", "value": notification.routing_text},
            ],
        },
    ]
    if notification.findings:
        body.append({"type": "TextBlock", "text": "Findings", "weight": "Bolder", "wrap": True})
        body += [
            {"type": "TextBlock", "text": line, "wrap": True, "spacing": "Small"}
            for line in _plain_finding_lines(notification.findings, LISTED_FINDINGS)
        ]
    body.append(
        {
            "type": "TextBlock",
            "text": f"Full report: {notification.report_html_path}",
            "isSubtle": True,
            "wrap": True,
        }
    )
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


@sink("teams")
def send_teams(notification: Notification, settings: Settings) -> None:
    _post_json(settings, teams_payload(notification))


def slack_escape(text: str) -> str:
    """Slack mrkdwn: &, < and > are control characters (links, mentions)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(notification: Notification) -> dict[str, Any]:
    """Block Kit message for a Slack incoming webhook (text is the notification fallback)."""
    report = notification.report
    run = report["run"]
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": notification.subject[:150]}},
        {
            "type": "section",
            "fields": [
                {"type": "mrkdwn", "text": f"*Since last run*\n{slack_escape(_counts_line(report))}"},
                {"type": "mrkdwn", "text": f"*Open findings*\n{slack_escape(_open_line(report))}"},
                {"type": "mrkdwn", "text": f"*Coverage*\n{slack_escape(_coverage_line(report))}"},
                {"type": "mrkdwn", "text": f"*Routing*\n{slack_escape(notification.routing_text)}"},
            ],
        },
    ]
    if notification.findings:
        lines = [f"• {slack_escape(line)}" for line in _plain_finding_lines(notification.findings, LISTED_FINDINGS)]
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)[:3000]}})
    blocks.append(
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": slack_escape(f"Run {run['id']} · full report: {notification.report_html_path}"),
                }
            ],
        }
    )
    return {"text": notification.subject, "blocks": blocks}


@sink("slack")
def send_slack(notification: Notification, settings: Settings) -> None:
    _post_json(settings, slack_payload(notification))


__all__ = [
    "SINKS",
    "Notification",
    "SinkError",
    "SinkOutcome",
    "notify",
    "route",
    "send_notifications",
    "send_notifications_for_folder",
    "sink",
]
