"""Evaluate stage: every enabled rule, account-scope and division-scope, in one guarded loop.

Rules are pure (no network, no clock but the run's). A rule that crashes is logged and skipped,
whatever its scope, and the scope it covers is reported incomplete: the account for an account
rule, the rule's division-wide findings for a division rule (auditor.reconcile then keeps their
previous findings `unknown`, never `resolved`).
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from auditor.directory import Directory, Match
from auditor.identity import IdentityResolver
from auditor.policy import Policy
from auditor.rules.base import (
    DivisionContext,
    DivisionResult,
    Rule,
    RuleContext,
    RuleMeta,
    RuleResult,
    fingerprint,
    load_rules,
)
from connectors.scrub import scrub
from models.severity import Severity
from models.snapshot import AccountSnapshot

if TYPE_CHECKING:
    from datetime import datetime

    from auditor.context import Connectors, RunContext
    from auditor.discovery import Candidate
    from models.tables import RegisteredAccount

log = logging.getLogger("auditor.run")


@dataclass(slots=True)  # slots: one per finding, all held until reconcile
class Evaluated:
    """A rule result for one account, with the severity the policy gives it."""

    meta: RuleMeta
    account: RegisteredAccount
    result: RuleResult
    severity: Severity
    owners: list[dict[str, str]] = field(default_factory=list)  # who must act (auditor.owners)
    remediation: str | None = None  # the connector's place-specific text; None: the rule's own

    @property
    def its_owned(self) -> bool:
        """ITS acts on division-wide rules and on the rules that declare it (audit coverage)."""
        return self.meta.scope == "division" or self.meta.owner == "its"

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.meta.id, self.account.key, self.result.subject)

    def to_data(self) -> dict[str, Any]:
        """JSON-ready (the result's evidence is JSON already: it is stored and reported as such)."""
        result = asdict(self.result)
        result.pop("account", None)  # an account rule's result: the account is ours
        result["severity"] = self.result.severity.value if self.result.severity else None
        return {
            "rule": self.meta.id,
            "account": self.account.model_dump(mode="json"),
            "result": result,
            "severity": self.severity.value,
            "owners": self.owners,
            "remediation": self.remediation,
        }

    @classmethod
    def from_data(cls, data: dict[str, Any], rules: dict[str, Rule]) -> Evaluated:
        from models.tables import RegisteredAccount  # the tables load with the store, not with the rules

        result = dict(data["result"])
        result["severity"] = Severity(result["severity"]) if result["severity"] else None
        return cls(
            meta=rules[data["rule"]].meta,
            account=RegisteredAccount.model_validate(data["account"]),
            result=RuleResult(**result),
            severity=Severity(data["severity"]),
            owners=data["owners"],
            remediation=data["remediation"],
        )


def run_rules(
    rules: Iterable[Rule], context: RuleContext | DivisionContext, policy: Policy, scope: str
) -> tuple[list[Evaluated], list[str]]:
    """The one guarded loop: each rule's results, and the ids of the rules that crashed (logged,
    scrubbed). A crash never stops the other rules. `scope` names what the rules look at, for the log."""
    results: list[Evaluated] = []
    crashed: list[str] = []
    for rule in rules:
        try:
            for result in rule.check(context):
                if isinstance(context, RuleContext):
                    account = context.account
                else:  # a division rule names the account each result is about
                    assert isinstance(result, DivisionResult) and result.account is not None
                    account = result.account
                severity = result.severity or policy.severity_for(rule.meta.id, rule.meta.severity)
                results.append(Evaluated(rule.meta, account, result, severity))
        except Exception:
            crashed.append(rule.meta.id)
            log.error("%s: rule %s crashed: %s", scope, rule.meta.id, scrub(traceback.format_exc()))
    return results, crashed


def enabled_rules(policy: Policy, scope: str) -> list[Rule]:
    return [r for rid, r in load_rules().items() if rid not in policy.disabled_rules and r.meta.scope == scope]


class AccountEvaluator:
    """Resolves a snapshot's identities and runs every enabled rule on it (pure: no network)."""

    def __init__(self, connectors: Connectors, directory: Directory, policy: Policy, as_of: datetime) -> None:
        self.connectors = connectors
        self.directory = directory
        self.policy = policy
        self.as_of = as_of
        self.rules = enabled_rules(policy, "account")
        self.resolver = IdentityResolver(directory, policy.matching)

    def evaluate(
        self, account: RegisteredAccount, snapshot: AccountSnapshot, known: set[str] | None = None
    ) -> tuple[list[Evaluated], bool]:
        """Rule results for the account, and whether a rule crashed (the account is then incomplete).

        `known` receives the keys of the identities the directory knows (matched to a person).
        """
        matches: dict[str, Match] = self.resolver.resolve(snapshot.identities())
        if known is not None:
            known.update(key for key, match in matches.items() if match.person_id)
        cls = self.connectors.get(account.connector)
        platform = self.connectors.get(account.platform)
        context = RuleContext(
            account=account,
            snapshot=snapshot,
            capabilities=cls.capabilities if cls else frozenset(),
            matches=matches,
            directory=self.directory,
            policy=self.policy,
            as_of=self.as_of,
            participants_from_interactions=platform is not None and platform.participants_from_interactions,
        )
        results, crashed = run_rules(self.rules, context, self.policy, account.key)
        return results, bool(crashed)


@dataclass
class DivisionEvaluation:
    results: list[Evaluated]
    crashed_rules: list[str]  # their division-wide findings are unknown this run, and the run incomplete


def evaluate_division(
    ctx: RunContext,
    candidates: list[Candidate],
    discovered: list[Candidate] | None,
    connections: list[Any] | None = None,
) -> DivisionEvaluation:
    """Division-scope rules over what every account yielded: discovery's scored candidates (found
    once per run, auditor.collect.discover), and whom staff's personal accounts follow (opt-in)."""
    policy = ctx.policy
    context = DivisionContext(
        accounts=ctx.division.accounts,
        directory=ctx.directory,
        policy=policy,
        as_of=ctx.as_of,
        candidates=candidates,
        ignored=ctx.division.ignored,
        connections=connections or [],
        discovered=discovered,
    )
    results, crashed = run_rules(enabled_rules(policy, "division"), context, policy, "division")
    return DivisionEvaluation(results, crashed)
