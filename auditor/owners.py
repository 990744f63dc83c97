"""Who must act on a finding, and where on the platform: owners and the connector's remediation.

Owners are the people a reader can hand the finding to, each named by name and directory id:
the account's holders and declared staff admins who are still active staff (a departed teacher
cannot act), the school's principal (the registry's `principal:` for the school, else every active
directory administrator at that school) and ITS for the rules ITS owns (division-wide rules, audit
coverage). A finding is never without an owner: when nobody else is known, ITS owns it.

Remediation comes from the connector's own table (`Connector.remediation`, rule id -> template)
filled with the finding's values; the core names no platform and falls back to the rule's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from auditor.directory import Directory
from auditor.rules._people import person_label
from models.tables import Person, RegisteredAccount

if TYPE_CHECKING:
    from auditor.context import RunContext
    from auditor.evaluate import Evaluated

ITS_OWNER: dict[str, str] = {"name": "ITS", "role": "its"}  # ITS is a department: no person id
PRINCIPAL_ROLE = "administrator"  # the directory role of a school's principal
STAFF_ROLES = ("staff", "administrator")


@dataclass
class OwnerBook:
    """Everything needed to name a finding's owners and fill its remediation, for one run."""

    directory: Directory
    as_of: datetime
    principals: Mapping[str, str] = field(default_factory=dict)  # school -> person id (registry)
    connectors: Mapping[str, Any] = field(default_factory=dict)  # name -> Connector class
    staff_roles: tuple[str, ...] = STAFF_ROLES
    _by_school: dict[str, list[Person]] | None = field(default=None, init=False, repr=False)
    _owners: dict[tuple[str, str, bool], list[dict[str, str]]] = field(default_factory=dict, init=False, repr=False)
    _principal_labels: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def annotate(self, item: Evaluated) -> None:
        item.owners = self.owners(item)
        item.remediation = self.remediation(item)

    # --- owners ----------------------------------------------------------------------------

    def owners(self, item: Evaluated) -> list[dict[str, str]]:
        """Owners depend only on the account and on whether ITS owns the rule: computed once for each,
        and the one list shared by all its findings (read only: 100,000 copies were 140 MB of a run)."""
        key = (item.account.key, item.account.school, item.its_owned)
        if key not in self._owners:
            self._owners[key] = self._owners_of(item)
        return self._owners[key]

    def _owners_of(self, item: Evaluated) -> list[dict[str, str]]:
        account = item.account
        found: dict[str, dict[str, str]] = {}
        for role, ids in (("holder", account.holders), ("admin", account.declared_admins)):
            for person_id in ids:
                person = self.directory.person(person_id)
                if person is not None and self._can_act(person) and person_id not in found:
                    found[person_id] = self._owner(person, role)
        for person in self.principals_of(account.school):
            found.setdefault(person.person_id, self._owner(person, "principal"))
        owners = list(found.values())
        if item.its_owned or not owners:
            owners.append(dict(ITS_OWNER))
        return owners

    def principals_of(self, school: str) -> list[Person]:
        declared = self.directory.person(self.principals.get(school))
        if declared is not None:
            return [declared]
        if self._by_school is None:  # one pass over a 50,000-person directory per run, not per finding
            self._by_school = {}
            for p in sorted(self.directory.people.values(), key=lambda p: p.person_id):
                if p.role == PRINCIPAL_ROLE and p.school and self._can_act(p):
                    self._by_school.setdefault(p.school, []).append(p)
        return self._by_school.get(school, [])

    def _can_act(self, person: Person) -> bool:
        return person.role in self.staff_roles and self.directory.is_active(person, self.as_of.date())

    @staticmethod
    def _owner(person: Person, role: str) -> dict[str, str]:
        return {"person_id": person.person_id, "name": person.full_name, "role": role}

    # --- remediation -----------------------------------------------------------------------

    def remediation(self, item: Evaluated) -> str:
        """The connector's place-specific text for this rule, filled in; else the rule's own."""
        template = self.template(item)
        if not template:
            return item.meta.remediation
        return template.format_map(_Values(self.values(item)))

    def template(self, item: Evaluated) -> str | None:
        """The most specific entry: the auditing connector's table first (the manual connector keys
        its entries by platform, e.g. a closed group's), then the platform's own connector's table;
        in each, `rule:subject` (e.g. a public account's summary) before `rule`."""
        account, rule, subject = item.account, item.meta.id, item.result.subject
        keys = [f"{account.platform}:{rule}:{subject}", f"{account.platform}:{rule}", f"{rule}:{subject}", rule]
        for name in dict.fromkeys((account.connector, account.platform)):
            table: Mapping[str, str] = getattr(self.connectors.get(name), "remediation", None) or {}
            for key in keys:
                if table.get(key):
                    return table[key]
        return None

    def values(self, item: Evaluated) -> dict[str, str]:
        account = item.account
        evidence = item.result.evidence
        return {
            "handle": account.handle or account.platform_id or account.key,
            "account": account.key,
            "school": account.school,
            "its_admin": account.its_admin or "(none recorded in the registry yet)",
            "person": self._subject_person(account, evidence, item.result.subject),
            "principal": self._principal_label(account.school),
        }

    def _principal_label(self, school: str) -> str:
        if school not in self._principal_labels:
            names = ", ".join(person_label(p) for p in self.principals_of(school))
            self._principal_labels[school] = names or "the principal"
        return self._principal_labels[school]

    def _subject_person(self, account: RegisteredAccount, evidence: Mapping[str, Any], subject: str) -> str:
        """The person the finding is about: a directory person by name and id, else the identity seen."""
        for key in (evidence.get("person_id"), subject):
            person = self.directory.person(key if isinstance(key, str) else None)
            if person is not None and person.role in self.staff_roles:  # a minor is never named
                return person_label(person)
        for key in ("admin", "identity"):
            value = evidence.get(key)
            if isinstance(value, str) and value:
                return value
        return "the person"


def name_owners(ctx: RunContext, results: list[Evaluated]) -> None:
    """Who must act on each result, and the connector's place-specific remediation, for one run's results."""
    division = ctx.division
    book = OwnerBook(ctx.directory, ctx.as_of, division.principals, ctx.connectors, tuple(division.policy.staff_roles))
    for item in results:
        book.annotate(item)


class _Values(dict[str, str]):
    """A template naming a value this finding lacks keeps a readable placeholder, never crashes."""

    def __missing__(self, key: str) -> str:
        return f"<{key}>"
