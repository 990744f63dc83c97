"""Rule helpers about passwords: when the account's password was last reset, and how we know.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from auditor.rules._people import DECLARED, OBSERVED
from auditor.rules.base import RuleContext


@dataclass(frozen=True)
class LastReset:
    on: date | None
    source: str  # declared (registry) | observed (the platform showed the password changed)

    def evidence(self) -> dict[str, Any]:
        return {"last_reset": self.on.isoformat() if self.on else None, "last_reset_source": self.source}


def last_password_reset(ctx: RuleContext) -> LastReset:
    """The newer of the registry's reset date and a change the platform showed (a token killed by it)."""
    declared = ctx.account.password_reset_on
    observed_at = ctx.snapshot.password_changed_at if ctx.snapshot is not None else None
    observed = observed_at.date() if observed_at is not None else None
    if observed is not None and (declared is None or observed > declared):
        return LastReset(observed, OBSERVED)
    return LastReset(declared, DECLARED)
