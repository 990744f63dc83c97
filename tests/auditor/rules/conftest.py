"""Fixtures for rule tests: a fresh in-memory world per test."""

from __future__ import annotations

import pytest

from tests.auditor.rules.world import World


@pytest.fixture
def world() -> World:
    return World()
