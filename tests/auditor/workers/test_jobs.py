"""The jobs in one in-process worker against real PostgreSQL: a run's finish after every account job
ended (even one that failed for good), division isolation, the queueing lock, the nightly schedule."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from procrastinate import App
from sqlalchemy import text

import auditor.workers.jobs as jobs
from auditor.workers.jobs import apply_schema, enqueue_run, make_app
from auditor.workers.sites import load_site
from models.db import make_engine
from models.snapshot import Profile
from tests.databases import postgres_url_or_skip
from tests.fakeplatform import (
    CANARY_TOKEN,
    FakePlatform,
    FakePlatformConnector,
    fake_connector_installed,
    ok,
    standard_script,
    users,
    write_division,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.postgres


@pytest.fixture
def queue_url(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    server = postgres_url_or_skip()
    schema = f"wq_{uuid.uuid4().hex[:10]}"
    admin = make_engine(server)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in server else "?"
    url = f"{server}{separator}options=-csearch_path%3D{schema}"
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AUDITOR_QUEUE_URL", url)
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(tmp_path / "reports"))
    monkeypatch.setenv("AUDITOR_SECRETS_DIR", str(tmp_path / "secrets"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.delenv("ACCOUNT_FAKEPLAT_TOKEN", raising=False)
    (tmp_path / "secrets").mkdir()
    try:
        yield url
    finally:
        jobs._site.cache_clear()
        jobs._context.cache_clear()
        jobs._engine.cache_clear()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            for name in connection.execute(text("SELECT nspname FROM pg_namespace")).scalars():
                if name.startswith(f"division_{schema}"):
                    connection.execute(text(f'DROP SCHEMA "{name}" CASCADE'))
        admin.dispose()


def division(tmp_path: Path, url: str, name: str, token: str, **policy: str) -> Path:
    folder = write_division(tmp_path / name, extra_policy="".join(f"{k}: {v}\n" for k, v in policy.items()))
    policy_file = folder / "policy.yaml"
    schema = url.rsplit("%3D", 1)[1]
    policy_file.write_text(
        policy_file.read_text().replace("division: Test Division", f"division: {schema} {name}"), encoding="utf-8"
    )
    (tmp_path / "secrets" / f"{schema}_{name}.env").write_text(f"ACCOUNT_FAKEPLAT_TOKEN={token}\n", encoding="utf-8")
    return folder


def add_fake_account(folder: Path, key: str, handle: str) -> None:
    """Another fake-platform account in the division's registry, registered as fake-school is."""
    registry = folder / "registry" / "accounts.yaml"
    current = registry.read_text(encoding="utf-8")
    fake_school = current.split("  - key: fake-school", 1)[1].split("  - key:", 1)[0]
    registry.write_text(current + f"  - key: {key}" + fake_school.replace("fake_school", handle), encoding="utf-8")


def drain(app: App, done: callable, deadline: float = 60, concurrency: int = 2) -> None:  # type: ignore[valid-type]
    """Run the worker until `done()` (jobs retried later need more than one pass), within a deadline."""

    def one_pass_done() -> bool:
        app.run_worker(wait=False, concurrency=concurrency, install_signal_handlers=False, delete_jobs="never")
        return bool(done())  # type: ignore[operator]

    wait_for(one_pass_done, deadline, "the run to finish")


def run_to_report(queue_url: str, folder: Path) -> dict:  # type: ignore[type-arg]
    """One run of the division on an in-process worker, until its report is published."""
    app = make_app(queue_url)
    apply_schema(app, queue_url)
    site = load_site(folder, queue_url)
    reports = Path(site.settings.report_dir)
    with app.open():
        assert enqueue_run(app, site, None, False) is not None
        drain(app, lambda: latest(reports) is not None)
    report = latest(reports)
    assert report is not None
    return report


def latest(reports: Path) -> dict | None:  # type: ignore[type-arg]
    file = reports / "latest" / "report.json"
    return json.loads(file.read_text(encoding="utf-8")) if file.exists() else None


def test_an_account_whose_job_keeps_failing_ends_incomplete_and_the_run_still_finishes(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN)
    real = jobs.collect.audit_account

    def crash_on_fake(ctx, account, **kwargs):  # type: ignore[no-untyped-def]
        if account.key == "fake-school":
            raise RuntimeError("database connection lost")
        return real(ctx, account, **kwargs)

    monkeypatch.setattr(jobs.collect, "audit_account", crash_on_fake)
    monkeypatch.setattr(jobs.RunRetry, "get_retry_decision", lambda self, *, exception, job: jobs.RetryDecision())
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        report = run_to_report(queue_url, folder)
    incomplete = [f for f in report["findings"] if f["rule"] == "audit-incomplete"]
    assert [f["account"] for f in incomplete] == ["fake-school"]
    assert "failed 3 times" in json.dumps(incomplete[0])
    assert report["run"]["status"] == "incomplete"


def test_divisions_are_isolated_and_a_queued_run_is_not_queued_twice(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = division(tmp_path, queue_url, "d1", "token-one")
    second = division(tmp_path, queue_url, "d2", "token-two")
    # A token in the workers' own environment is nobody's: each division reads its secrets file only.
    monkeypatch.setenv("ACCOUNT_FAKEPLAT_TOKEN", "token-of-the-workers-environment")
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        app = make_app(queue_url)
        apply_schema(app, queue_url)
        sites = [load_site(first, queue_url), load_site(second, queue_url)]
        with app.open():
            assert enqueue_run(app, sites[0], None, False) is not None
            assert enqueue_run(app, sites[0], None, False) is None  # queueing lock: one run per division
            assert enqueue_run(app, sites[1], None, False) is not None
            drain(app, lambda: all(latest(Path(s.settings.report_dir)) for s in sites))
        tokens = {h.get("Authorization") for _p, _q, h in server.requests}
    assert tokens == {"Bearer token-one", "Bearer token-two"}  # each division's own credential
    for site in sites:
        engine = site.engine()
        with engine.connect() as connection:
            names = set(connection.execute(text("SELECT DISTINCT division FROM audit_run")).scalars())
            runs = connection.execute(text("SELECT count(*) FROM audit_run")).scalar_one()
        engine.dispose()
        assert names == {site.division.policy.division} and runs == 1  # its own rows only
        report = latest(Path(site.settings.report_dir))
        assert report is not None and report["run"]["division"] == site.division.policy.division
    assert sites[0].settings.report_dir != sites[1].settings.report_dir


def test_queued_divisions_take_turns_so_their_credentials_work_side_by_side(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Two divisions of three fake-platform accounts each, queued together: one division's whole run
    # first would leave the other's credential idle while the first one's window binds.
    folders = [division(tmp_path, queue_url, name, f"token-{name}") for name in ("d1", "d2")]
    for folder in folders:
        for n in (1, 2):
            add_fake_account(folder, f"fake-extra-{n}", f"fake_extra_{n}")
    started: list[tuple[str, str]] = []
    real = jobs.collect.audit_account

    def record_start(ctx, account, **kwargs):  # type: ignore[no-untyped-def]
        started.append((ctx.division.policy.division.rsplit(" ", 1)[1], account.key))
        return real(ctx, account, **kwargs)

    monkeypatch.setattr(jobs.collect, "audit_account", record_start)
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        app = make_app(queue_url)
        apply_schema(app, queue_url)
        sites = [load_site(folder, queue_url) for folder in folders]
        with app.open():
            for site in sites:
                assert enqueue_run(app, site, None, False) is not None
            drain(app, lambda: all(latest(Path(s.settings.report_dir)) for s in sites), concurrency=1)
    fake_jobs = [(name, key) for name, key in started if key != "club-manual"]
    assert [name for name, _key in fake_jobs] == ["d1", "d2"] * 3  # turn by turn, not d1's three first
    assert [key for name, key in fake_jobs if name == "d2"] == ["fake-school", "fake-extra-1", "fake-extra-2"]


def test_divisions_sharing_a_credential_share_its_window(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.workers.pacing import PostgresPacer

    # One app for two divisions of a consortium: the platform counts its requests together.
    folders = {
        name: division(tmp_path, queue_url, name, token, rate_limits="{fakeplat: {requests: 5, seconds: 1}}")
        for name, token in (("d1", "consortium-app-token-1"), ("d2", "consortium-app-token-1"), ("d3", "own-token-3"))
    }
    pacer = PostgresPacer(jobs.conninfo(queue_url))
    try:
        with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
            sites = {name: load_site(folder, queue_url, pacer) for name, folder in folders.items()}
            gates = {name: site.connectors.gate_for("fakeplat") for name, site in sites.items()}
    finally:
        pacer.close()
    keys = {name: getattr(gate, "credential", None) for name, gate in gates.items()}
    assert keys["d1"] == keys["d2"] != keys["d3"]
    assert all(key and "token" not in key for key in keys.values())  # a digest names it, not the secret


class BatchingFakeConnector(FakePlatformConnector):
    """The fake platform with a batched profile lookup, as X's: its hints are not JSON by themselves."""

    def prefetch(self, accounts, builder, cursors):  # type: ignore[no-untyped-def]
        handles = ",".join(sorted(a.handle for a in accounts if a.handle))
        body = self.call(builder, "users.lookup", self._get, "/users/by", usernames=handles)
        by_handle = {a.handle: a.key for a in accounts}
        return {
            by_handle[u["username"]]: Profile(id=u["id"], handle=u["username"], name=u["name"])
            for u in body["data"]
            if u["username"] in by_handle
        }

    @classmethod
    def prefetched_to_data(cls, hint):  # type: ignore[no-untyped-def]
        return {"id": hint.id, "handle": hint.handle, "name": hint.name}

    @classmethod
    def prefetched_from_data(cls, data):  # type: ignore[no-untyped-def]
        return Profile(**data)


def test_the_runs_batched_lookup_is_made_once_and_each_account_job_reads_its_part(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.contexts import install_connectors

    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN)
    add_fake_account(folder, "fake-club", "fake_club")
    with FakePlatform() as server:
        install_connectors(monkeypatch, BatchingFakeConnector)
        monkeypatch.setattr(FakePlatformConnector, "base_url", server.url)
        standard_script(server)
        server.script(
            "/users/by",
            ok({"data": users(("9001", "fake_school", "Fake School"), ("9002", "fake_club", "Fake Club"))}),
        )
        server.script("/users/9002/followers", ok({"data": [], "meta": {"result_count": 0}}))
        server.script("/users/9002/posts", ok({"data": []}))
        report = run_to_report(queue_url, folder)
    assert server.hits("/users/by") == 1  # once per run, not once per worker or account
    assert server.hits("/users/fake_school") == server.hits("/users/fake_club") == 0  # each job read its part
    assert not [f for f in report["findings"] if f["rule"] == "audit-incomplete"]
    assert "users.lookup" in json.dumps(report["run"]["spend"])  # the lookup's request is on the spend line


def test_each_division_is_scheduled_by_its_policy(queue_url: str, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    folder = division(tmp_path, queue_url, "d1", "t", schedule='"30 1 * * *"')
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        app = make_app(queue_url, [folder])
    site = load_site(folder, queue_url)
    scheduled = [p for p in app.periodic_registry.periodic_tasks.values() if p.task.name == "auditor.start_run"]
    assert [(p.cron, p.periodic_id) for p in scheduled] == [("30 1 * * *", site.slug)]
    assert scheduled[0].configure_kwargs["queueing_lock"] == f"run:{site.slug}"
    assert scheduled[0].configure_kwargs["task_kwargs"] == {"division": str(site.folder)}


def test_enqueue_one_account_audits_only_that_account(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from auditor.cli import app as cli

    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN)
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        runner = CliRunner()
        unknown = runner.invoke(cli, ["enqueue", "--division", str(folder), "--person", "nobody-42"])
        assert unknown.exit_code == 2, unknown.output
        queued = runner.invoke(cli, ["enqueue", "--division", str(folder), "--account", "fake-school"])
        assert queued.exit_code == 0, queued.output
        again = runner.invoke(cli, ["enqueue", "--division", str(folder)])
        assert again.exit_code == 75, again.output  # a run of the division is already queued
        site = load_site(folder, queue_url)
        reports = Path(site.settings.report_dir)
        app = make_app(queue_url)
        with app.open():
            drain(app, lambda: any(reports.glob("**/report.json")))
    body = json.loads(next(reports.glob("**/report.json")).read_text(encoding="utf-8"))
    assert {f["account"] for f in body["findings"]} <= {"fake-school"}
    assert server.hits("/users/fake_school") == 1


def test_the_schedule_starts_the_nightly_run_without_cron(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import asyncio

    from procrastinate.worker import Worker

    # Every second (the sixth field): the worker's periodic deferrer starts the run by itself.
    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN, schedule='"* * * * * *"')
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        app = make_app(queue_url, [folder])
        apply_schema(app, queue_url)
        reports = Path(load_site(folder, queue_url).settings.report_dir)

        async def run_until_published() -> None:
            async with app.open_async():
                worker = Worker(app, install_signal_handlers=False, concurrency=2)
                running = asyncio.create_task(worker.run())
                # Waited for in a thread: the worker keeps running on this event loop meanwhile.
                with contextlib.suppress(AssertionError):  # the assertion below says what was missed
                    await asyncio.to_thread(wait_for, lambda: latest(reports) is not None, 60, "a published run")
                worker.stop()
                await asyncio.wait_for(running, 30)

        asyncio.run(run_until_published())
    report = latest(reports)
    assert report is not None, "no run started from the policy's schedule"
    assert report["run"]["kind"] == "run"


def test_a_run_past_its_deadline_no_longer_blocks_the_next(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from auditor.workers.sites import prepare_schema
    from models.db import session
    from models.tables import AuditRun

    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN)
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        standard_script(server)
        app = make_app(queue_url)
        apply_schema(app, queue_url)
        site = load_site(folder, queue_url)
        prepare_schema(site, queue_url)
        engine = site.engine()
        jobs._ledger(engine)
        stale = datetime.now(UTC) - timedelta(hours=10)  # the policy's run deadline is 4 h
        with session(engine) as db:
            db.add(AuditRun(id="20200101T000000Z-dead00", started_at=stale, as_of=stale, accounts=["fake-school"]))
            db.execute(text("INSERT INTO auditor_worker_runs VALUES ('20200101T000000Z-dead00', true)"))
            db.commit()
        reports = Path(site.settings.report_dir)
        with app.open():
            assert enqueue_run(app, site, None, False) is not None
            drain(app, lambda: latest(reports) is not None)
        with session(engine) as db:
            dead = db.get(AuditRun, "20200101T000000Z-dead00")
            assert dead is not None and dead.status == "crashed"
        engine.dispose()


def test_the_run_deadline_counts_from_the_runs_start_on_every_worker(
    queue_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from auditor.workers.sites import prepare_schema
    from models.db import session
    from models.tables import AuditRun

    folder = division(tmp_path, queue_url, "d1", CANARY_TOKEN)  # the policy's run deadline: 4 h
    with FakePlatform() as server, fake_connector_installed(monkeypatch, server):
        site = load_site(folder, queue_url)
        prepare_schema(site, queue_url)
        engine = site.engine()
        jobs._ledger(engine)
        begun = datetime.now(UTC) - timedelta(hours=1)  # another worker took the run's first jobs an hour ago
        with session(engine) as db:
            db.add(AuditRun(id="20261130T010000Z-late01", started_at=begun, as_of=begun, accounts=["fake-school"]))
            db.execute(text("INSERT INTO auditor_worker_runs VALUES ('20261130T010000Z-late01', true)"))
            db.commit()
        engine.dispose()
        remaining = jobs._context(str(folder), "20261130T010000Z-late01").deadline.remaining()
    assert 3 * 3600 - 60 < remaining <= 3 * 3600  # not 4 h from this worker's first job of the run


def test_a_hint_that_cannot_be_read_back_leaves_the_pull_to_read_its_own() -> None:
    from types import SimpleNamespace

    from connectors.registry import ConnectorRegistry

    ctx = SimpleNamespace(connectors=ConnectorRegistry.installed().with_classes(BatchingFakeConnector))
    account = SimpleNamespace(key="fake-school", connector="fakeplat")
    good = '{"id": "9001", "handle": "fake_school", "name": "Fake School"}'
    assert jobs._hint(ctx, account, good) == Profile(id="9001", handle="fake_school", name="Fake School")  # type: ignore[arg-type]
    for unreadable in ('{"id": "9001"', '["9001"]', None):  # cut short, another shape, none
        assert jobs._hint(ctx, account, unreadable) is None  # type: ignore[arg-type]
