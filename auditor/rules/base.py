"""Rule framework: metadata beside logic, registered by a decorator, validated at load.

A rule is one module in `auditor/rules/` with one function decorated by `@rule(...)`. The
function is pure: it reads a `RuleContext` (stored data and the run's clock) and yields
`RuleResult`s, one per failing subject. It never talks to a platform or reads the wall clock.
"""

from __future__ import annotations

import hashlib
import importlib
import pkgutil
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.directory import Directory, Match
from auditor.policy import Policy
from models.severity import Severity
from models.snapshot import AccountSnapshot, Capability

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import RegisteredAccount


class RuleDefinitionError(Exception):
    """A rule module whose metadata is incomplete or whose id is taken."""


@dataclass(frozen=True)
class RuleMeta:
    id: str
    title: str
    section: str  # the AP 80-06 section the rule comes from
    severity: Severity  # default; the policy may override
    remediation: str
    clause: str = ""  # the policy's own words, quoted in reports
    scope: str = "account"  # account: one RuleContext per audited account; division: one DivisionContext
    owner: str = "account"  # account: its people and principal act; its: ITS acts too (auditor.owners)
    # Reported to the school's principal only (`auditor report --school`): never in the division report, its
    # exports or the notifications (about one person's private life, not the school's accounts).
    principal_only: bool = False
    opt_in: str = ""  # the policy switch that turns the rule on; empty: on by default


@dataclass
class RuleContext:
    """Everything a rule may read about one account in one run."""

    account: RegisteredAccount
    snapshot: AccountSnapshot | None  # None when collection failed outright
    capabilities: frozenset[Capability]
    matches: dict[str, Match]  # Identity.key -> how it was matched
    directory: Directory
    policy: Policy
    as_of: datetime
    # Whoever comments takes part (the platform lists no members): its connector's
    # `participants_from_interactions`, for the account's platform.
    participants_from_interactions: bool = False

    def match(self, identity_key: str) -> Match | None:
        return self.matches.get(identity_key)


@dataclass(slots=True)  # slots: a large division's run holds 100,000 of them until reconcile
class RuleResult:
    """A failing subject. `subject` must be stable across runs (it is part of the fingerprint)."""

    subject: str
    message: str
    evidence: dict[str, Any] = field(default_factory=dict)
    confidence: str = "certain"  # certain | likely (fuzzy match) | declared (registry data only)
    severity: Severity | None = None  # None = the rule's (policy-adjusted) severity


@dataclass(slots=True)
class DivisionResult(RuleResult):
    """A division-scope result names the account it is about (e.g. an unregistered one)."""

    account: RegisteredAccount | None = None


@dataclass
class DivisionContext:
    """What a division-scope rule reads: every registered account and what the run gathered."""

    accounts: list[RegisteredAccount]
    directory: Directory
    policy: Policy
    as_of: datetime
    candidates: list[Any]  # auditor.discovery.Candidate
    ignored: list[dict[str, Any]]
    connections: list[Any] = field(default_factory=list)  # auditor.personal_accounts.PersonalFollowing (opt-in)
    # Discovery's result, found once per run (auditor.collect.discover): `candidates` merged, looked up and
    # scored. None: only the raw candidates are known (a rule test), and account-unregistered scores them.
    discovered: list[Any] | None = None


RuleFunction = Callable[[Any], Iterable[RuleResult]]


@dataclass(frozen=True)
class Rule:
    meta: RuleMeta
    check: RuleFunction
    prepare: Callable[[], object] | None = None  # loads what the check needs (a model), ahead of use


REGISTRY: dict[str, Rule] = {}


def rule(
    *,
    id: str,
    title: str,
    section: str,
    severity: Severity,
    remediation: str,
    clause: str = "",
    scope: str = "account",
    owner: str = "account",
    principal_only: bool = False,
    opt_in: str = "",
    prepare: Callable[[], object] | None = None,
) -> Callable[[RuleFunction], RuleFunction]:
    """Register a rule. Refuses incomplete metadata and duplicate ids. `prepare` loads what the rule
    needs once per process (a long-lived worker calls it at start, not in its first job)."""
    meta = RuleMeta(
        id=id,
        title=title,
        section=section,
        severity=severity,
        remediation=remediation,
        clause=clause,
        scope=scope,
        owner=owner,
        principal_only=principal_only,
        opt_in=opt_in,
    )
    if scope not in ("account", "division"):
        raise RuleDefinitionError(f"rule {id}: scope must be 'account' or 'division', got {scope!r}")
    if owner not in ("account", "its"):
        raise RuleDefinitionError(f"rule {id}: owner must be 'account' or 'its', got {owner!r}")
    missing = [name for name in ("id", "title", "section", "remediation") if not getattr(meta, name).strip()]
    if missing:
        raise RuleDefinitionError(f"rule {id or '?'}: metadata missing {', '.join(missing)}")
    if not isinstance(severity, Severity):
        raise RuleDefinitionError(f"rule {id}: severity must be a Severity, got {severity!r}")

    def register(check: RuleFunction) -> RuleFunction:
        if id in REGISTRY and REGISTRY[id].check is not check:
            raise RuleDefinitionError(f"rule id {id} is defined twice")
        REGISTRY[id] = Rule(meta=meta, check=check, prepare=prepare)
        return check

    return register


def load_rules() -> dict[str, Rule]:
    """Import every module of this package so that their decorators run."""
    import auditor.rules as package

    for module in pkgutil.iter_modules(package.__path__):
        if module.name != "base" and not module.name.startswith("_"):
            importlib.import_module(f"{package.__name__}.{module.name}")
    return dict(sorted(REGISTRY.items()))


def prepare_rules() -> None:
    """Load every rule's model or data now (a worker at start): the first job does not pay for it, and
    a broken install fails at start rather than in the night's jobs."""
    for registered in load_rules().values():
        if registered.prepare is not None:
            registered.prepare()


def fingerprint(rule_id: str, account_key: str, subject: str) -> str:
    return hashlib.sha256(f"{rule_id}\x1f{account_key}\x1f{subject}".encode()).hexdigest()[:20]


def principal_only_rules() -> set[str]:
    """Ids of the rules whose findings only a school's own report shows."""
    return {rule_id for rule_id, r in load_rules().items() if r.meta.principal_only}


def rule_entries(policy: Policy | None = None) -> list[dict[str, Any]]:
    """Every rule with its severity and whether it runs, under `policy` (None: the defaults)."""

    def setting(name: str) -> Any:
        # The defaults field by field: a whole Policy() would load every connector (and its SDK) for
        # the defaults it takes from them, and listing the rules must start fast.
        if policy is not None:
            return getattr(policy, name)
        return Policy.model_fields[name].get_default(call_default_factory=True)

    entries = []
    for rule_id, rule in load_rules().items():
        default = rule.meta.severity
        severity = policy.severity_for(rule_id, default) if policy is not None else default
        entries.append(
            {
                "id": rule_id,
                "section": rule.meta.section,
                "title": rule.meta.title,
                "severity": severity.value,
                "default_severity": default.value,
                # an opt-in rule runs only when its policy switch is on (off in the defaults)
                "enabled": rule_id not in setting("disabled_rules")
                and (not rule.meta.opt_in or bool(setting(rule.meta.opt_in))),
                "scope": rule.meta.scope,
            }
        )
    return entries
