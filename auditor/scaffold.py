"""`auditor init DIR`: a new division folder that already passes `auditor validate`.

The examples are explicit (an example account, `status: disabled` so a forgotten one is never
audited; two example staff) and policy.yaml is generated from auditor/policy.py's Policy, so its
defaults can never drift from the code's.
"""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import yaml

from auditor.policy import Policy
from connectors.registry import ConnectorRegistry

# Why each policy setting is there: the AP 80-06 clause it applies, or what it tunes.
# tests/auditor/test_onboarding.py checks that every Policy field has its line here.
POLICY_CLAUSES: dict[str, str] = {
    "division": "The Division's name, shown on every report.",
    "approved_platforms": "AP 80-06, Establishing Social Media Accounts: the platforms it recognizes (the default: "
    "those the installed connectors say it names); other sites may be added by request, after review by the "
    "Assistant Superintendent or the Director of ITS.",
    "min_staff_admins": "AP 80-06, Online Interactions: no less than two staff members should have administrative "
    "access to a given account, in addition to the ITS account.",
    "password_max_age_days": "AP 80-06, Account Management: passwords on individual accounts should be reset "
    "annually (joint accounts too, and whenever a staff member with access leaves).",
    "school_body_roles": "AP 80-06, Online Interactions: individuals who are not part of the school body or "
    "Division administration team should not be accepted onto the participant list (add parent if yours are).",
    "staff_roles": "AP 80-06, Online Interactions: directory roles that count as staff (admins, interactions).",
    "student_roles": "AP 80-06, Online Interactions: directory roles that count as students.",
    "severities": "Severity overrides per rule id (`auditor rules` lists them), e.g. password-reset-overdue: high.",
    "disabled_rules": "Rule ids not applied in this division (each is an AP 80-06 requirement: say why here).",
    "fail_threshold": "Exit code 1 when an open finding is at or above this severity (cron alerts on it).",
    "matching": "AP 80-06, Online Interactions: how a display name is matched to the directory (scores 0-100); "
    "a declared handle is always an exact match, a name only ever a likely one.",
    "lookback_days": "AP 80-06, Online Interactions and Proper Conduct: how far back posts and replies are read.",
    "full_reconcile_days": "AP 80-06, Online Interactions: every participant list is read in full this often "
    "(departures are found then).",
    "account_deadline_seconds": "Operations: the longest one account's audit may take before it is `partial`.",
    "run_deadline_seconds": "Operations: the longest a whole run may take (`auditor run --dry-run` predicts it).",
    "concurrency": "Operations: accounts audited at once, per platform or `default`.",
    "connectors": "Each connector's own settings (page caps, quotas, discovery searches), one section per "
    "connector; the defaults are shown commented out below. Docs: docs/connectors-<name>.md.",
    "prices": "Operations: price per billed item, for the spend estimate of `auditor run --dry-run`.",
    "student_number_pattern": "AP 80-06, Proper Conduct and Confidentiality of Information: a student number "
    "in a post is confidential information (a regular expression).",
    "division_email_domains": "AP 80-06, Confidentiality of Information: addresses at these domains are not "
    "personal information.",
    "snapshot_retention_days": "Privacy (students are minors): raw snapshots are kept this long (`auditor purge`).",
    "evidence_retention_days": "Privacy: a resolved finding's evidence is kept this long after it was last seen.",
    "report_retention_days": "Privacy: report folders are kept this long.",
    "log_retention_days": "Privacy: rotated log files are kept this long.",
    "waiver_warning_days": "Reports: a waiver expiring within this many days is shown as expiring.",
    "max_waiver_days": "AP 80-06 allows no permanent exception: no waiver may run longer than this.",
    "sinks": "Notifications after each run: smtp (to: [...]), webhook, teams or slack; see README, Notifications.",
    "export_folders": "Where a registry `export:` (the manual connector's ITS export) may live besides this folder.",
    "export_max_bytes": "An ITS export larger than this is refused.",
    "export_read_seconds": "Reading one ITS export may take this long at most.",
    "discovery_threshold": "AP 80-06, Establishing Social Media Accounts: every school account must be "
    "registered; a candidate scoring this much (0-100) is reported as unregistered.",
    "discovery_lookup_floor": "AP 80-06, Establishing Social Media Accounts: candidates scoring this much on "
    "their name alone are looked up.",
    "discovery_max_lookups": "Operations: profile lookups of candidates per platform and run (0: none).",
    "school_words": "AP 80-06, Establishing Social Media Accounts: words that make a name look like a school's.",
    "individual_accounts_need_staff_admins": "AP 80-06, Account Management: an individual account is never shared "
    "by more than one person, so by default it is not asked for two staff admins (Online Interactions); true "
    "applies that requirement to individual accounts too.",
    "public_accepted_roles": "AP 80-06, Online Interactions: directory roles (e.g. parent) accepted as participants "
    "of a public account; the info count of outsiders leaves them out.",
    "public_open_purposes": "AP 80-06, Online Interactions: words of a registry purpose (e.g. news) for public "
    "accounts anyone may follow; their outsider count is not repeated.",
    "public_outsider_count_always": "AP 80-06, Online Interactions: report the info count of outsiders on every "
    "public account, even where every outsider is of an accepted kind.",
    "max_export_age_days": "Operations: `auditor doctor` warns when an ITS export (manual connector) is older.",
    "conduct": "AP 80-06, Proper Conduct: proper respect for students, parents and coworkers; the words and "
    "idioms the disrespectful-content rule scores posts with (school and sports idiom is not disrespect).",
    "personal_use": "AP 80-06, Representing the Division: accounts may not be used for personal purposes, "
    "including self-promotion or advancing personal ideals; the signals and allowed domains of personal-use.",
    "personal_connections": "AP 80-06, Personal Accounts: the Division strongly recommends not friending "
    "students on personal accounts. Off by default: turn on only after the division's privacy review.",
    "personal_connections_page_cap": "Operations: following pages (1,000 each, may be billed) read per staff "
    "member when personal_connections is on.",
    "schedule": "Operations: when the workers start the nightly run (cron expression; `auditor worker`, "
    "docs/scaling.md). The single-process `auditor run` keeps its cron line.",
    "rate_limits": "Operations: per platform, the requests one credential may make in a window "
    "({requests: N, seconds: S}), shared by every worker through PostgreSQL.",
}

REGISTRY_FILE = Path("registry") / "registry.yaml"
DIRECTORY_FILE = Path("directory") / "people.csv"
MAPPING_FILE = Path("registry-import-mapping.yaml")


class ScaffoldRefused(Exception):
    """The target exists and is not an empty folder: nothing was written."""


def _comment(text: str, indent: str = "") -> str:
    return "\n".join(f"{indent}# {line}" for line in textwrap.wrap(text, 100 - len(indent)))


def policy_yaml() -> str:
    """Every Policy field with its default, each under a comment naming its AP 80-06 clause."""
    defaults = Policy().model_dump(mode="json")
    parts = [
        "# Policy settings of this division. Every value below is the AP 80-06 default, generated from",
        "# the auditor's own Policy (auditor/policy.py): change a value here, never in code.",
        "",
    ]
    for name in Policy.model_fields:
        why = POLICY_CLAUSES.get(name, "See docs/rules.md.")
        setting = yaml.safe_dump({name: defaults[name]}, sort_keys=False, allow_unicode=True, width=100)
        parts += [_comment(why), *_connector_sections(name), setting.rstrip("\n"), ""]
    return "\n".join(parts)


def _connector_sections(field_name: str) -> list[str]:
    """The installed connectors' options with their defaults, commented out (`connectors:` stays empty)."""
    if field_name != "connectors":
        return []
    registry = ConnectorRegistry.installed()
    sections = {name: registry[name].options_model().model_dump(mode="json") for name in registry.names()}
    sections = {name: options for name, options in sections.items() if options}
    if not sections:
        return []
    text = yaml.safe_dump({"connectors": sections}, sort_keys=False, allow_unicode=True, width=100)
    return [f"# {line}" for line in text.rstrip("\n").splitlines()]


def _example_platform() -> str:
    """The first approved platform with an installed connector (no platform name is written in code)."""
    installed = ConnectorRegistry.installed()
    for name in Policy().approved_platforms:
        if name in installed:
            return name
    needs_no_export = [name for name in installed.names() if not installed[name].reads_export]
    return next(iter(needs_no_export), next(iter(installed.names()), "example"))


def registry_yaml() -> str:
    installed = ", ".join(ConnectorRegistry.installed().names())
    platform = _example_platform()
    return f"""\
# Form 8-06 registrations: one entry per account (README, "Using it for your division").
# Write them by hand or import the forms: `auditor registry import forms.xlsx --out registry/forms.yaml`.
# Every file registry/*.yaml is read. Installed connectors: {installed}.
# The example below is disabled (never audited): replace it with your first real registration.
accounts:
  - key: example-school-news        # stable id; reports, waivers and history key on it
    platform: {platform}
    handle: "@ExampleSchoolNews"    # and/or platform_id
    school: Example School
    purpose: Example School news and announcements
    # activity: example-robotics    # optional: the activities.yaml id the account is registered for
    kind: joint                     # individual | joint
    audience: public                # public | closed (who controls the participant list)
    holders: [EXAMPLE1]             # directory ids of the people holding the credentials
    admins: [EXAMPLE1, EXAMPLE2]    # declared admins (where the platform cannot show admins)
    its_admin: "@example_its"       # the ITS administrator's identity on that platform
    reviewed_by: Director of ITS
    reviewed_on: 2026-01-01
    password_reset_on: 2026-01-01
    status: disabled                # active | disabled
    # connector: manual             # audit from an ITS export instead of the API
    # export: ../exports/file.csv

# Accounts ITS checked and decided are not the Division's: discovery never reports them.
# ignore:
#   - platform: {platform}
#     handle: "@NotOurSchool"
#     reason: A private tutoring business with a similar name (checked by ITS)
"""


def directory_csv() -> str:
    # Example rows only: a real division puts its HR and SIS exports in directory/ (README, "Your first audit").
    return (
        "person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles\n"
        "EXAMPLE1,staff,Example School,Example,Teacher,,active,,\n"
        "EXAMPLE2,administrator,Example School,Example,Principal,,active,,\n"
    )


ACTIVITIES_YAML = """\
# School clubs and activities: staff-student interaction is allowed inside these
# (AP 80-06, Online Interactions).
activities:
  - id: example-robotics
    school: Example School
    name: Example Robotics Club
    sponsors: [EXAMPLE1]          # directory ids of the sponsoring staff
    hashtags: ["#ExampleRobotics"]
    keywords: [robotics]
    accounts: []                  # registry keys of accounts registered for this activity
"""


def mapping_yaml() -> str:
    return """\
# Column and value mapping for `auditor registry import FORMS --mapping registry-import-mapping.yaml`.
# Needed only when the spreadsheet's headers are not the recognised ones (`auditor registry import --help`).
columns:                          # spreadsheet header -> registry field (or ignore)
  "Account": handle
  "Site": platform
  "Type of account": kind
  "Visibility": audience
  "Timestamp": ignore
values:                           # registry field -> spreadsheet value -> registry value
  kind:
    Single user: individual
    Shared: joint
  audience:
    Private: closed
date_format: "%d/%m/%Y"           # how dates are written as text (spreadsheet dates need none)
# sheet: Form 8-06                # the workbook's sheet (default: the first)
# header_row: 1                   # the row holding the headers
"""


ENV_EXAMPLE = Path(__file__).resolve().parent.parent / ".env.example"


def env_text(example: Path = ENV_EXAMPLE) -> str:
    """The `.env.example` of a source checkout; else (a wheel, the container) one `NAME=` line per setting."""
    if example.is_file():
        return example.read_text(encoding="utf-8")
    from auditor.settings import Settings

    lines = ["# school-social-auditor settings (see .env.example in the project's source for each one's meaning)."]
    lines += [f"{field.validation_alias}=" for field in Settings.model_fields.values()]
    return "\n".join(lines) + "\n"


def _files() -> dict[Path, str]:
    return {
        REGISTRY_FILE: registry_yaml(),
        DIRECTORY_FILE: directory_csv(),
        Path("activities.yaml"): ACTIVITIES_YAML,
        Path("policy.yaml"): policy_yaml(),
        MAPPING_FILE: mapping_yaml(),
        Path(".env"): env_text(),
    }


def scaffold(folder: Path) -> list[Path]:
    """Write a new division folder; refuse (ScaffoldRefused) an existing file or non-empty folder."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        what = "a folder that is not empty" if folder.is_dir() else "not a folder"
        raise ScaffoldRefused(f"{folder} already exists and is {what}: nothing was written")
    written: list[Path] = []
    for relative, text in _files().items():
        path = folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_private(path, text)
        written.append(path)
    return written


def _write_private(path: Path, text: str) -> None:
    # 0600 whatever the umask: .env will hold credentials, the rest names staff.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
