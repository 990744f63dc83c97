"""Platform rate limits across workers: one request slot per credential at a time, in PostgreSQL.

Every worker asks the same row for its next slot (`next_at` moves forward by the window's spacing,
`seconds / requests`, in one UPDATE), so W workers sharing one credential send its requests evenly
spaced and never more than `requests` in any `seconds`, however many hosts they run on. A slot
further away than `max_wait`, or a wait the platform asked for (a 429's reset), is not slept in the
worker: the job is rescheduled by Procrastinate's retry at that time (`RescheduleAt`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from auditor.policy import RateLimit

log = logging.getLogger("auditor.workers.pacing")

# The spacing is a little wider than the window allows: a request's arrival at the platform varies
# by a few milliseconds with the network, and two arriving closer than `seconds / requests` could
# put one too many in a platform's fixed window.
SAFETY = 1.05

SLOTS_DDL = """
CREATE TABLE IF NOT EXISTS auditor_request_slots (
    credential text PRIMARY KEY,
    next_at timestamptz NOT NULL,
    requests bigint NOT NULL DEFAULT 0,
    waited_seconds double precision NOT NULL DEFAULT 0,
    rescheduled bigint NOT NULL DEFAULT 0
)
"""

# Slot start = the later of now and the previous slot's end; the row lock orders concurrent workers.
TAKE_SLOT = """
INSERT INTO auditor_request_slots AS s (credential, next_at, requests)
VALUES (%(credential)s, clock_timestamp() + make_interval(secs => %(interval)s), 1)
ON CONFLICT (credential) DO UPDATE
SET next_at = GREATEST(s.next_at, clock_timestamp()) + make_interval(secs => %(interval)s),
    requests = s.requests + 1,
    waited_seconds = s.waited_seconds + GREATEST(
        0, LEAST(extract(epoch FROM s.next_at - clock_timestamp()), %(max_wait)s)
    )
RETURNING extract(epoch FROM s.next_at - clock_timestamp())::float8 - %(interval)s
"""

COUNT_RESCHEDULE = """
INSERT INTO auditor_request_slots AS s (credential, next_at, rescheduled)
VALUES (%(credential)s, clock_timestamp(), 1)
ON CONFLICT (credential) DO UPDATE SET rescheduled = s.rescheduled + 1
"""


class RescheduleAt(BaseException):
    """The job must stop and run again at `when`. A BaseException on purpose: it passes through the
    connectors' and the run's per-account `except Exception` isolation, which would otherwise record
    a wait as a failed collection."""

    def __init__(self, when: datetime, why: str) -> None:
        self.when = when
        self.why = why
        super().__init__(f"retry at {when.isoformat()}: {why}")


class PostgresPacer:
    """A worker process's request slots (one connection pool); `gates` binds them to one division's
    credentials, as the `connectors.base.RequestGate` of each connector (ConnectorRegistry.for_credentials)."""

    def __init__(self, conninfo: str, *, max_wait: float = 5.0, reschedule_after: float = 2.0) -> None:
        self.pool = ConnectionPool(conninfo, min_size=1, max_size=8, open=True, kwargs={"autocommit": True})
        self.max_wait = max_wait  # a slot further away reschedules the job instead
        self.reschedule_after = reschedule_after  # a resilience-layer wait longer than this reschedules
        self._lock = threading.Lock()
        self.waited = 0.0

    def close(self) -> None:
        self.pool.close()

    def gates(
        self, credential_of: Callable[[str], str], rate_limits: Mapping[str, RateLimit]
    ) -> Callable[[str], CredentialGate]:
        """Connector name -> the gate of the credential it uses (`credential_of`), paced by the window
        the division's policy declares for that connector."""
        return lambda platform: CredentialGate(self, credential_of(platform), rate_limits.get(platform))

    def before_request(self, credential: str, limit: RateLimit | None) -> None:
        if limit is None:
            return  # no window declared: the platform's 429 answers pace it (wait below)
        interval = limit.seconds / limit.requests * SAFETY
        try:
            with self.pool.connection(timeout=10) as connection:
                row = connection.execute(
                    TAKE_SLOT, {"credential": credential, "interval": interval, "max_wait": self.max_wait}
                ).fetchone()
        except (psycopg.Error, PoolTimeout) as exc:
            # No slot without the database: the request is not sent, and the job runs again shortly
            # (a failed collection here would report the account incomplete for the database's sake).
            when = datetime.now(UTC) + timedelta(seconds=5)
            raise RescheduleAt(when, f"request slots unavailable ({type(exc).__name__})") from None
        wait = float(row[0]) if row else 0.0
        if wait > self.max_wait:
            self._count_reschedule(credential)
            raise RescheduleAt(datetime.now(UTC) + timedelta(seconds=wait), f"{credential}: request window full")
        if wait > 0:
            with self._lock:
                self.waited += wait
            time.sleep(wait)

    def wait(self, seconds: float) -> None:
        """The resilience layer's wait (a 429's reset, a backoff): short ones are slept, longer ones
        free the worker and run the job again then."""
        if seconds <= self.reschedule_after:
            time.sleep(seconds)
            return
        when = datetime.now(UTC) + timedelta(seconds=seconds)
        raise RescheduleAt(when, f"the platform asked to wait {seconds:.0f} s")

    def _count_reschedule(self, credential: str) -> None:
        with self.pool.connection() as connection:
            connection.execute(COUNT_RESCHEDULE, {"credential": credential})


class CredentialGate:
    """One credential's `connectors.base.RequestGate`: its window's slots, the pacer's waits."""

    def __init__(self, pacer: PostgresPacer, credential: str, limit: RateLimit | None) -> None:
        self.pacer = pacer
        self.credential = credential
        self.limit = limit

    def before_request(self) -> None:
        self.pacer.before_request(self.credential, self.limit)

    def wait(self, seconds: float) -> None:
        self.pacer.wait(seconds)


def create_tables(conninfo: str) -> None:
    import psycopg

    with psycopg.connect(conninfo, autocommit=True) as connection:
        connection.execute(SLOTS_DDL)
