"""Request pacing through PostgreSQL: workers sharing one credential stay inside its window, and a wait
the platform asks for reschedules the job at its reset time instead of sleeping in the worker."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from auditor.policy import Policy
from auditor.workers.jobs import RETRY, conninfo
from auditor.workers.pacing import CredentialGate, PostgresPacer, RescheduleAt, create_tables
from connectors.base import ConnectorContext, SnapshotBuilder
from connectors.resilience import Deadline
from models.db import make_engine
from models.tables import RegisteredAccount
from tests.databases import postgres_url_or_skip
from tests.fakeplatform import FakePlatform, FakePlatformConnector, error, ok

pytestmark = pytest.mark.postgres


@pytest.fixture
def queue_url() -> Iterator[str]:
    server = postgres_url_or_skip()
    schema = f"wq_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options=-csearch_path%3D{schema}"
    create_tables(conninfo(url))
    try:
        yield url
    finally:
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def test_three_workers_sharing_a_credential_never_exceed_its_window(queue_url: str) -> None:
    policy = Policy.model_validate({"rate_limits": {"fakeplat": {"requests": 20, "seconds": 1}}})
    pacers = [PostgresPacer(conninfo(queue_url), max_wait=30) for _ in range(3)]  # three processes' pools
    gates = [pacer.gates(lambda name: f"division_a:{name}", policy.rate_limits)("fakeplat") for pacer in pacers]
    sent: list[float] = []
    lock = threading.Lock()

    def worker(gate: CredentialGate) -> None:
        for _ in range(20):
            gate.before_request()
            with lock:
                sent.append(time.monotonic())

    threads = [threading.Thread(target=worker, args=(g,)) for g in gates for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for pacer in pacers:
        pacer.close()
    sent.sort()
    assert len(sent) == 120
    # In any one-second window, at most 20 requests (unpaced, 120 would go out at once).
    assert max(sum(1 for t in sent if start <= t < start + 1.0) for start in sent) <= 20
    assert sent[-1] - sent[0] >= 5.0


def test_a_slot_too_far_away_reschedules_the_job(queue_url: str) -> None:
    policy = Policy.model_validate({"rate_limits": {"fakeplat": {"requests": 1, "seconds": 60}}})
    pacer = PostgresPacer(conninfo(queue_url), max_wait=5)
    division_a = pacer.gates(lambda name: f"division_a:{name}", policy.rate_limits)("fakeplat")
    division_b = pacer.gates(lambda name: f"division_b:{name}", policy.rate_limits)("fakeplat")
    try:
        division_a.before_request()  # the window's one request
        with pytest.raises(RescheduleAt) as raised:
            division_a.before_request()
        assert raised.value.when > datetime.now(UTC) + timedelta(seconds=50)
        division_b.before_request()  # another credential: its own window
    finally:
        pacer.close()


def test_a_429_reschedules_the_job_at_the_reset_time(queue_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    reset = int(time.time()) + 40
    pacer = PostgresPacer(conninfo(queue_url))
    try:
        with FakePlatform() as server:
            monkeypatch.setattr(FakePlatformConnector, "base_url", server.url)
            server.script(
                "/users/fake_school",
                error(429, {"title": "Too Many Requests"}, **{"x-rate-limit-reset": str(reset)}),
                ok({}),
            )
            context = ConnectorContext(
                as_of=datetime.now(UTC),
                deadline=Deadline(600),
                gate=pacer.gates(lambda name: f"division_a:{name}", {})("fakeplat"),
            )
            account = RegisteredAccount(key="fake-school", platform="fakeplat", handle="fake_school")
            connector = FakePlatformConnector(context)
            builder = SnapshotBuilder(account.key, "fakeplat", context.as_of)
            started = time.monotonic()
            with pytest.raises(RescheduleAt) as raised:
                connector.call(builder, "users.show", connector._get, "/users/fake_school")
            assert time.monotonic() - started < 5  # not slept in the worker
            assert server.hits("/users/fake_school") == 1
    finally:
        pacer.close()
    assert abs(raised.value.when.timestamp() - reset) < 5
    decision = RETRY.get_retry_decision(exception=raised.value, job=None)  # type: ignore[arg-type]
    assert decision is not None and decision.retry_at == raised.value.when
