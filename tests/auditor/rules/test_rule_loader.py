"""The loader: every rule of rules.md but account-unregistered, and refusal of bad metadata."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from auditor.rules import base
from auditor.rules.base import RuleContext, RuleDefinitionError, RuleResult, load_rules, rule
from models.tables import Severity

EXPECTED = {
    "platform-not-approved",
    "account-not-reviewed",
    "its-admin-missing",
    "too-few-staff-admins",
    "admin-not-active-staff",
    "password-reset-overdue",
    "password-not-reset-after-departure",
    "shared-individual-account",
    "departed-staff-account-active",
    "non-school-participant",
    "staff-student-interaction",
    "confidential-content",
    "disrespectful-content",
    "personal-use",
    "audit-incomplete",
}

# The procedure the rules quote, kept in the repository beside the docs.
POLICY_TEXT = Path(__file__).parents[3] / "docs" / "policy" / "AP-80-06-social-media-procedures.txt"

SECTIONS = {
    "Establishing Social Media Accounts",
    "Online Interactions",
    "Account Management",
    "Proper Conduct",
    "Confidentiality of Information",
    "Personal Accounts",
    "Representing the Division",
    "(coverage of the audit itself)",
}


def test_load_rules_returns_exactly_the_catalogue() -> None:
    rules = load_rules()
    assert {rule_id for rule_id, r in rules.items() if r.meta.scope == "account"} == EXPECTED
    # account-unregistered looks across the whole division, not at one account
    assert {rule_id for rule_id, r in rules.items() if r.meta.scope == "division"} == {
        "account-unregistered",
        "staff-student-personal-connection",  # whom staff's personal accounts follow (opt-in)
    }


def test_every_rule_cites_a_real_section_and_quotes_the_policy() -> None:
    policy_text = " ".join(POLICY_TEXT.read_text(encoding="utf-8").split())
    for rule_id, loaded in load_rules().items():
        assert set(loaded.meta.section.split("; ")) <= SECTIONS, rule_id
        assert loaded.meta.clause, rule_id
        for quoted in re.split(r"\s*(?:\[\.\.\.\]|\.\.\.)\s*", loaded.meta.clause):
            assert " ".join(quoted.split()) in policy_text, f"{rule_id}: {quoted!r} is not in AP 80-06"


def test_file_name_is_the_rule_id() -> None:
    for rule_id, loaded in load_rules().items():
        assert loaded.check.__module__ == f"auditor.rules.{rule_id.replace('-', '_')}"


@pytest.mark.parametrize("missing", ["title", "section", "remediation"])
def test_refuses_incomplete_metadata(missing: str) -> None:
    meta = {"id": "test-incomplete", "title": "t", "section": "Account Management", "remediation": "r"}
    meta[missing] = "  "
    with pytest.raises(RuleDefinitionError, match=missing):
        rule(severity=Severity.HIGH, **meta)


def test_refuses_a_severity_that_is_not_a_severity() -> None:
    with pytest.raises(RuleDefinitionError, match="severity"):
        rule(id="test-bad", title="t", section="s", severity="high", remediation="r")  # type: ignore[arg-type]


def test_refuses_a_duplicate_id() -> None:
    load_rules()

    def other(ctx: RuleContext) -> Iterator[RuleResult]:
        yield from ()

    with pytest.raises(RuleDefinitionError, match="defined twice"):
        rule(id="audit-incomplete", title="t", section="s", severity=Severity.HIGH, remediation="r")(other)
    assert base.REGISTRY["audit-incomplete"].check is not other


def test_loading_twice_is_harmless() -> None:
    assert load_rules() == load_rules()


HELPER_TOPICS = {"_people", "_admins", "_pii", "_content", "_passwords", "_conduct"}


def test_shared_helpers_are_one_module_per_topic_and_never_loaded_as_rules() -> None:
    """People, admins, PII detectors, content and passwords each have their helper module; no catch-all
    `_common` is left for the next helper to be dropped into, and the loader takes none of them for a rule."""
    package = Path(base.__file__).parent
    helpers = {path.stem for path in package.glob("_*.py") if path.stem != "__init__"}
    assert helpers == HELPER_TOPICS
    rule_modules = {r.check.__module__ for r in load_rules().values()}
    assert not {m.rsplit(".", 1)[-1] for m in rule_modules} & HELPER_TOPICS
    for path in package.glob("*.py"):
        assert "rules._common" not in path.read_text(encoding="utf-8"), f"{path.name} imports the removed _common"


def test_prepare_rules_loads_the_language_model_before_any_post_is_scored() -> None:
    # A worker calls it at start: its first job must not pay the model's second of unpickling.
    import subprocess
    import sys

    probe = (
        "import sys; from auditor.rules.base import prepare_rules; "
        "assert 'profanity_check' not in sys.modules; prepare_rules(); "
        "from auditor.rules._conduct import load_classifier; "
        "assert load_classifier.cache_info().currsize == 1 and 'profanity_check' in sys.modules"
    )
    subprocess.run([sys.executable, "-c", probe], check=True, timeout=120)
