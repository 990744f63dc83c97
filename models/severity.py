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

    @property
    def is_open(self) -> bool:
        """A breach someone still has to act on: what the exit code, notifications and the report's
        counts see. A waived finding is accepted until its waiver expires: not open."""
        return self in (FindingStatus.NEW, FindingStatus.PERSISTING, FindingStatus.UNKNOWN)

    @property
    def still_tracked(self) -> bool:
        """Still there at the end of a run (open or waived): the next run reconciles it, so that a waived
        breach stays waived, persists, or is resolved, never silently dropped."""
        return self.is_open or self is FindingStatus.WAIVED


# In declaration order (stable output and SQL); the meaning is the properties above.
OPEN_STATUSES: tuple[FindingStatus, ...] = tuple(s for s in FindingStatus if s.is_open)
TRACKED_STATUSES: tuple[FindingStatus, ...] = tuple(s for s in FindingStatus if s.still_tracked)
