"""The manual connector keeps the shared declaration contract (tests/connectors/contract.py)."""

from __future__ import annotations

from connectors.manual import ManualConnector
from connectors.registry import ConnectorRegistry
from tests.connectors.contract import DeclarationContract


class TestManualDeclarations(DeclarationContract):
    connector = ManualConnector


def test_platforms_exported_by_hand_get_their_profile_links_from_the_manual_connector() -> None:
    registry = ConnectorRegistry([ManualConnector])
    assert registry.platform_of_host("tiktok.com") == "tiktok"
    assert registry.profile_link("tiktok", "@hillside.hawks") == "https://www.tiktok.com/@hillside.hawks"
