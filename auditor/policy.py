"""The division's policy settings: every threshold of rules.md, defaults equal to AP 80-06."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from auditor.lexicons import (
    CAMPAIGN_PHRASES,
    DISPARAGING_TERMS,
    FUNDRAISER_DOMAINS,
    PROMOTION_PHRASES,
    SCHOOL_IDIOMS,
    SHOP_DOMAINS,
)
from connectors.base import RunLimits
from connectors.registry import ConnectorRegistry
from models.severity import Severity


def _approved_by_default() -> list[str]:
    """The platforms AP 80-06 names, as the installed connectors declare."""
    return ConnectorRegistry.installed().approved_by_default()


def _default_prices() -> dict[str, float]:
    return ConnectorRegistry.installed().default_prices()


def move_legacy_keys(data: dict[str, Any], registry: ConnectorRegistry | None = None) -> list[tuple[str, str, str]]:
    """Move old top-level keys of a connector's knobs into its `connectors:` section, in place.

    Returns (old key, connector, field) for each moved key, for the deprecation warning. A value the
    section already sets wins over the old key.
    """
    legacy = (registry or ConnectorRegistry.installed()).legacy_keys()
    moved: list[tuple[str, str, str]] = []
    for old, (connector, new) in legacy.items():
        if old not in data:
            continue
        value = data.pop(old)
        sections = data.get("connectors")
        if sections is None:
            sections = data["connectors"] = {}
        if isinstance(sections, dict):
            section = sections.get(connector)
            if section is None:
                section = sections[connector] = {}
            if isinstance(section, dict):
                section.setdefault(new, value)
        moved.append((old, connector, new))
    return moved


class MatchingPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    fuzzy_accept: float = Field(92.0, ge=0, le=100)  # a name scoring this or more is a likely match
    fuzzy_candidate: float = Field(80.0, ge=0, le=100)  # shown as "best candidate" below accept
    min_name_tokens: int = Field(2, ge=1)  # "Sam" alone never matches anyone
    min_name_length: int = Field(5, ge=1)
    # A name-only match to a person who declares a *different* account on the same platform: that person's
    # account is known, so a second one under their exact name is more often a namesake's. False: no match
    # (the person is named as best candidate, with a note); True: a likely match like any other name.
    match_names_of_declared_people: bool = False


class SinkPolicy(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str  # smtp | webhook | teams | slack
    to: list[str] = Field(default_factory=list)  # e-mail recipients
    min_severity: Severity = Severity.HIGH
    new_only: bool = True
    send_when_quiet: bool = False


class ConductPolicy(BaseModel):
    """disrespectful-content: the classifier's threshold and the division's own words (docs/rules.md)."""

    model_config = ConfigDict(extra="forbid")

    # alt-profanity-check's probability at or above which a text counts as offensive or disparaging.
    threshold: float = Field(0.85, ge=0, le=1)
    # Words or phrases that are disparaging wherever they appear (whole words, case-insensitive).
    lexicon: list[str] = Field(default_factory=lambda: list(DISPARAGING_TERMS))
    # School and sports idiom, removed before scoring: "we killed it tonight" is praise, not violence.
    idioms: list[str] = Field(default_factory=lambda: list(SCHOOL_IDIOMS))


class PersonalUsePolicy(BaseModel):
    """personal-use: what marks a post as personal business, fundraising, campaigning or promotion."""

    model_config = ConfigDict(extra="forbid")

    # Links here never count (the Division's, its schools', the school fundraising platform it approved).
    allowed_domains: list[str] = Field(default_factory=list)
    fundraiser_domains: list[str] = Field(default_factory=lambda: list(FUNDRAISER_DOMAINS))
    # A connector may add links on its platform that sell (a creator's storefront).
    shop_domains: list[str] = Field(
        default_factory=lambda: [*SHOP_DOMAINS, *ConnectorRegistry.installed().shop_links()]
    )
    campaign_phrases: list[str] = Field(default_factory=lambda: list(CAMPAIGN_PHRASES))
    promotion_phrases: list[str] = Field(default_factory=lambda: list(PROMOTION_PHRASES))


class RateLimit(BaseModel):
    """A platform's window for one credential: at most `requests` in any `seconds`."""

    model_config = ConfigDict(extra="forbid")

    requests: int = Field(ge=1)
    seconds: float = Field(gt=0)


class Policy(BaseModel):
    """Loaded from the policy YAML; every field has the AP 80-06 default."""

    model_config = ConfigDict(extra="forbid")

    division: str = "School Division"
    approved_platforms: list[str] = Field(default_factory=_approved_by_default)
    min_staff_admins: int = Field(2, ge=0)
    # AP 80-06 forbids sharing an individual account ("Under no circumstance should an individual account be
    # shared by more than one person"), so by default too-few-staff-admins asks two staff admins of joint
    # accounts only; true applies it to individual accounts too (docs/rules.md).
    individual_accounts_need_staff_admins: bool = False
    password_max_age_days: int = Field(365, ge=1)
    school_body_roles: list[str] = Field(default_factory=lambda: ["student", "staff", "administrator", "trustee"])
    # non-school-participant on public accounts: outsiders the Division accepts there. Directory roles
    # (e.g. parent) on every public account; anyone at all on a public account whose registry purpose has
    # one of these words (e.g. news: the public is its audience). When every outsider is accepted, the
    # `info` count is left out unless `public_outsider_count_always`.
    public_accepted_roles: list[str] = Field(default_factory=list)
    public_open_purposes: list[str] = Field(default_factory=list)
    public_outsider_count_always: bool = False
    staff_roles: list[str] = Field(default_factory=lambda: ["staff", "administrator"])
    student_roles: list[str] = Field(default_factory=lambda: ["student"])
    severities: dict[str, Severity] = Field(default_factory=dict)  # rule id -> severity override
    disabled_rules: list[str] = Field(default_factory=list)
    fail_threshold: Severity = Severity.HIGH
    matching: MatchingPolicy = Field(default_factory=MatchingPolicy)
    lookback_days: int = Field(30, ge=1)
    full_reconcile_days: int = Field(30, ge=1)
    account_deadline_seconds: float = Field(900, gt=0)
    run_deadline_seconds: float = Field(4 * 3600, gt=0)
    concurrency: dict[str, int] = Field(default_factory=lambda: {"default": 4})
    # Each connector's own section (`connectors: {<name>: {...}}`): its page caps, quota, discovery
    # options, validated at load against the connector's options model (auditor.inputs).
    connectors: dict[str, dict[str, Any]] = Field(default_factory=dict)
    # Billable item ("<connector>:<item>") -> USD; the default is what the connectors declare.
    prices: dict[str, float] = Field(default_factory=_default_prices)
    student_number_pattern: str = r"\b\d{9}\b"
    # E-mail domains of the Division and its schools: addresses there are not personal information.
    division_email_domains: list[str] = Field(default_factory=list)
    snapshot_retention_days: int = Field(90, ge=1)
    # Protection of privacy: keep no longer than needed. `auditor purge` applies these.
    # A resolved finding's evidence (names, message excerpts) this long after it was last seen;
    # its fingerprint, rule, account and dates stay, so history and waivers still work.
    evidence_retention_days: int = Field(365, ge=1)
    # Report folders older than this (the one `latest` points at and any a waiver cites are kept).
    report_retention_days: int = Field(365, ge=1)
    # Rotated log files older than this, in AUDITOR_LOG_DIR.
    log_retention_days: int = Field(90, ge=1)
    # `auditor doctor` warns when a manual connector's ITS export is older than this (days since written).
    max_export_age_days: int = Field(35, ge=1)
    waiver_warning_days: int = Field(14, ge=0)
    # No waiver may run longer than this from the day it is granted (`auditor waive`, waivers.yaml).
    max_waiver_days: int = Field(365, ge=1)
    sinks: list[SinkPolicy] = Field(default_factory=list)
    # Where a registry `export:` (the manual connector's ITS export) may live: the division folder and
    # these folders (absolute, or relative to the division folder). Checked at load, symlinks resolved.
    export_folders: list[str] = Field(default_factory=list)
    export_max_bytes: int = Field(50_000_000, ge=1)  # an export larger than this is refused, at load and read
    export_read_seconds: float = Field(30, gt=0)  # reading one export may take this long at most
    # Discovery: a candidate account scoring this much (0-100) for looking like a school account
    # becomes an account-unregistered finding.
    discovery_threshold: float = Field(50.0, ge=0, le=100)
    # Profile lookups of candidates (one request per batch of handles, maybe billed): those a registered
    # account mentions, links or replies to, and others scoring at least the floor on their name alone;
    # at most `discovery_max_lookups` per platform and run (0: no lookups).
    discovery_lookup_floor: float = Field(20.0, ge=0, le=100)
    discovery_max_lookups: int = Field(200, ge=0)
    # Words that make a name look like a school's (besides the schools' and activities' own names).
    school_words: list[str] = Field(
        default_factory=lambda: [
            "school",
            "high",
            "elementary",
            "junior",
            "middle",
            "academy",
            "collegiate",
            "secondary",
            "club",
            "team",
            "athletics",
            "band",
            "choir",
            "drama",
            "robotics",
            "pta",
            "parent council",
            "students",
            "class",
            "grad",
            "yearbook",
            "library",
            "division",
        ]
    )

    conduct: ConductPolicy = Field(default_factory=ConductPolicy)
    personal_use: PersonalUsePolicy = Field(default_factory=PersonalUsePolicy)

    # staff-student-personal-connection (off by default): read whom the personal accounts staff declare in the
    # directory follow (a platform may bill each user returned). Turn on only once the Division's privacy
    # review approved looking at staff's personal accounts (docs/rules.md); the findings go to principals only.
    personal_connections: bool = False
    personal_connections_page_cap: int = Field(5, ge=1)  # "following" pages per personal account (1,000 each)

    # Workers (`auditor worker`, docs/scaling.md): when the nightly run starts (a cron expression, read by the
    # workers' periodic task), and each platform credential's request window shared by every worker
    # (platform name -> {requests, seconds}); a platform not named is paced only by its 429 answers.
    schedule: str = "0 2 * * *"
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)

    def severity_for(self, rule_id: str, default: Severity) -> Severity:
        return self.severities.get(rule_id, default)

    @model_validator(mode="before")
    @classmethod
    def _legacy_keys(cls, data: Any) -> Any:
        """Policies written before connectors had their own sections still load (inputs warns)."""
        if isinstance(data, dict):
            data = dict(data)
            if isinstance(data.get("connectors"), dict):
                data["connectors"] = {k: dict(v) if isinstance(v, dict) else v for k, v in data["connectors"].items()}
            move_legacy_keys(data)
        return data

    def run_limits(self) -> RunLimits:
        """The values of this policy a connector may read."""
        return RunLimits(
            lookback_days=self.lookback_days,
            full_reconcile_days=self.full_reconcile_days,
            following_page_cap=self.personal_connections_page_cap,
            discovery_max_lookups=self.discovery_max_lookups,
            export_max_bytes=self.export_max_bytes,
            export_read_seconds=self.export_read_seconds,
        )

    def digest(self) -> str:
        # When and how fast the workers run does not change what is audited: not part of the digest.
        audited = self.model_dump(mode="json", exclude=set(SCHEDULING_FIELDS))
        return hashlib.sha256(json.dumps(audited, sort_keys=True).encode()).hexdigest()[:16]


SCHEDULING_FIELDS = ("schedule", "rate_limits")
