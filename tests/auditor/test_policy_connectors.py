"""policy.yaml's `connectors:` sections: each connector's own knobs, validated at load like any input."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import ClassVar

import pytest
from pydantic import Field

from auditor.inputs import InputError, load_division
from auditor.policy import Policy
from connectors.base import Connector, ConnectorOptions
from connectors.registry import ConnectorRegistry
from connectors.resilience import PlatformError
from models.snapshot import AccountSnapshot, Capability, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import install_connectors


def _write_policy(division: Path, extra: str) -> Path:
    policy = division / "policy.yaml"
    policy.write_text(policy.read_text(encoding="utf-8") + extra, encoding="utf-8")
    return policy


def _problems(division: Path) -> list[str]:
    with pytest.raises(InputError) as caught:
        load_division(division)
    return [str(p) for p in caught.value.problems]


def _line_of(path: Path, text: str) -> int:
    return next(n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1) if text in line)


def test_a_section_value_takes_effect(division_dir: Path) -> None:
    _write_policy(division_dir, "connectors:\n  twitter:\n    page_cap: 7\n  youtube:\n    discovery_search: true\n")
    policy = load_division(division_dir).policy
    registry = ConnectorRegistry.installed()
    assert registry.options_for("twitter", policy.connectors).model_dump()["page_cap"] == 7
    assert registry.options_for("x", policy.connectors).model_dump()["page_cap"] == 7  # an alias finds it too
    assert registry["youtube"].searches_school_names(registry.options_for("youtube", policy.connectors))


def test_a_bad_section_value_is_an_input_error_at_its_line(division_dir: Path) -> None:
    policy = _write_policy(division_dir, "connectors:\n  twitter:\n    page_cap: 0\n")
    problems = _problems(division_dir)
    line = _line_of(policy, "page_cap: 0")
    assert any(p.startswith(f"{policy}:{line}: policy: field 'connectors.twitter.page_cap'") for p in problems), (
        problems
    )


def test_an_unknown_option_is_an_input_error(division_dir: Path) -> None:
    policy = _write_policy(division_dir, "connectors:\n  youtube:\n    daily_unit: 5\n")
    problems = _problems(division_dir)
    line = _line_of(policy, "daily_unit: 5")
    assert any(f"{policy}:{line}:" in p and "unknown option" in p for p in problems), problems


def test_an_unknown_connector_name_is_an_input_error(division_dir: Path) -> None:
    policy = _write_policy(division_dir, "connectors:\n  myspace:\n    page_cap: 3\n")
    problems = _problems(division_dir)
    line = _line_of(policy, "myspace:")
    assert any(f"{policy}:{line}:" in p and "no connector named 'myspace'" in p for p in problems), problems


def test_old_top_level_keys_still_load_with_a_deprecation_warning(
    division_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    policy = _write_policy(division_dir, "x_page_cap: 9\nyoutube_daily_units: 123\n")
    with caplog.at_level(logging.WARNING, logger="auditor.inputs"):
        loaded = load_division(division_dir).policy
    assert loaded.connectors["twitter"] == {"page_cap": 9}
    assert loaded.connectors["youtube"] == {"daily_units": 123}
    warnings = [r.getMessage() for r in caplog.records if "deprecated" in r.getMessage()]
    assert any(f"{policy}:{_line_of(policy, 'x_page_cap')}" in w and "page_cap" in w for w in warnings), warnings
    assert any("youtube_daily_units" in w for w in warnings), warnings


def test_a_section_value_wins_over_its_old_key() -> None:
    policy = Policy.model_validate({"x_page_cap": 9, "connectors": {"twitter": {"page_cap": 4}}})
    assert policy.connectors == {"twitter": {"page_cap": 4}}


class _ZineOptions(ConnectorOptions):
    pages: int = Field(3, ge=1)


class _ZineConnector(Connector):
    """A platform AP 80-06 would name, that bills its posts: the core learns both from the class only."""

    name = "zine"
    capabilities = frozenset({Capability.PROFILE})
    options_model = _ZineOptions
    approved_by_default = True
    prices: ClassVar[dict[str, float]] = {"post": 0.25}

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        return self.new_builder(account).snapshot

    def classify_error(self, error: BaseException) -> PlatformError:
        return PlatformError(ErrorKind.MALFORMED, str(error))


def test_default_approved_platforms_and_prices_come_from_the_connectors(monkeypatch: pytest.MonkeyPatch) -> None:
    before = Policy()
    assert "zine" not in before.approved_platforms and "zine:post" not in before.prices
    install_connectors(monkeypatch, _ZineConnector)
    policy = Policy()
    assert "zine" in policy.approved_platforms and policy.prices["zine:post"] == 0.25
    assert set(before.approved_platforms) <= set(policy.approved_platforms)
