"""Severities and finding statuses: plain enums, apart from the tables so that the rules (and
`auditor rules`) can name them without importing the database stack."""

from __future__ import annotations

from enum import StrEnum


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return list(Severity).index(self)


class FindingStatus(StrEnum):
    NEW = "new"
    PERSISTING = "persisting"
    RESOLVED = "resolved"
    UNKNOWN = "unknown"  # the account could not be audited this run: neither confirmed nor resolved
    WAIVED = "waived"
