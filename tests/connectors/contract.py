"""The contract every connector keeps, as a suite each connector's tests reuse by subclassing.

- `ErrorContract` (every platform connector): the platform's own answer for each situation (refused
  credentials, missing permission, gone, throttled, a server fault) is classified into the shared vocabulary
  (auth / permission / not-found / rate-limited / retryable), what can succeed later is retried by the
  shared resilience layer and nothing else is, an unreadable body is `malformed` (never a crash), and no
  secret the platform echoes reaches an error's words.
- `DeclarationContract` (every connector): what it declares for the core (settings, policy section, old
  policy keys, credential variables, profile links) is coherent, and its package never imports the core.
- `PullContract` (connectors whose address a registration gives, so a test can point them at a local
  server): a whole pull against `tests/fakeplatform.py`'s server pages to the last page, records each
  failure on its collection with the right state, and survives malformed bodies.

A subclass supplies the platform's shapes (see the hooks); pytest collects it when its name starts
with `Test`. The situations are named, not numbered: Graph says "throttled" as code 4 in an HTTP 403.
"""

from __future__ import annotations

import ast
import json
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr, ValidationError

from connectors.base import Connector, ConnectorContext, ConnectorOptions, ConnectorSettings
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, PlatformError, RetryPolicy, call_with_retry
from connectors.scrub import forget_secrets, register_secret
from models.snapshot import AccountSnapshot, CollectionState, ErrorKind
from models.tables import RegisteredAccount
from tests.contexts import context_for
from tests.fakeplatform import Answer, FakePlatform
from tests.real_traffic import real_traffic

# Shaped like a real credential, registered as a secret for each test: it must never be seen.
SECRET = "ctrct-Canary-9f3b7c1d5e2a4b6c8d0e"

SITUATIONS: dict[str, ErrorKind] = {
    "auth": ErrorKind.AUTH,  # 401: the credential is refused
    "permission": ErrorKind.PERMISSION,  # 403: allowed in, not to this
    "not-found": ErrorKind.NOT_FOUND,  # 404: deleted, suspended, wrong id
    "rate-limited": ErrorKind.RATE_LIMITED,  # 429 or the platform's throttling code
    "server-error": ErrorKind.RETRYABLE,  # 500
    "bad-gateway": ErrorKind.RETRYABLE,  # 502
    "unavailable": ErrorKind.RETRYABLE,  # 503
}
RETRIED = frozenset({ErrorKind.RATE_LIMITED, ErrorKind.RETRYABLE})


def reference_body(platform: str, name: str) -> Any:
    """A real recorded error body from shared/reference/real-traffic (read where it is, never copied)."""
    path = real_traffic(platform) / name
    if not path.is_file():
        pytest.skip(f"reference recording {path} is not available")
    return json.loads(path.read_text())


def context(cls: type[Connector], as_of: datetime | None = None, sleeps: list[float] | None = None) -> ConnectorContext:
    return context_for(
        cls,
        as_of=as_of or datetime.now(UTC),
        deadline=Deadline(600),
        retry=RetryPolicy(max_attempts=3),
        sleep=(sleeps if sleeps is not None else []).append,
    )


def words(error: PlatformError) -> str:
    """Everything an error shows a user: its description (kind, code, detail, fix) and its detail."""
    return f"{error.describe()} {error.detail} {error.fix or ''} {error}"


class _Secrets:
    # A fixture on the class, so that every subclass in any test module has it.
    @pytest.fixture
    def secret_registered(self) -> Iterator[str]:
        register_secret(SECRET)
        yield SECRET
        forget_secrets()


class ErrorContract(_Secrets):
    """Classification, retry and secrecy through the connector's own `classify_error`."""

    # Situations this platform cannot be in (say why in the subclass).
    not_applicable: ClassVar[frozenset[str]] = frozenset()

    def make_connector(self) -> Connector:
        raise NotImplementedError

    def platform_error(self, situation: str, secret: str) -> BaseException:
        """The exception the connector's client raises when the platform answers `situation` as it does,
        with `secret` where a platform may echo it (the request URL, the message)."""
        raise NotImplementedError

    def malformed_error(self) -> BaseException:
        """What the client raises on a body it cannot read (truncated JSON, an HTML error page)."""
        raise NotImplementedError

    def _situation(self, situation: str) -> str:
        if situation in self.not_applicable:
            pytest.skip(f"{situation} does not exist on this platform")
        return situation

    @pytest.mark.parametrize("situation", sorted(SITUATIONS))
    def test_each_situation_is_classified(self, situation: str, secret_registered: str) -> None:
        error = self.make_connector().classify_error(self.platform_error(self._situation(situation), secret_registered))
        assert error.kind == SITUATIONS[situation]

    @pytest.mark.parametrize("situation", sorted(SITUATIONS))
    def test_what_can_succeed_later_is_retried_and_nothing_else(self, situation: str, secret_registered: str) -> None:
        connector = self.make_connector()
        failure = self.platform_error(self._situation(situation), secret_registered)
        calls: list[int] = []
        sleeps: list[float] = []

        def flaky() -> str:
            calls.append(1)
            if len(calls) == 1:
                raise failure
            return "answer"

        def run() -> str:
            return call_with_retry(
                flaky,
                connector.classify_error,
                endpoint="contract",
                deadline=Deadline(3600),
                policy=RetryPolicy(max_attempts=3),
                sleep=sleeps.append,
            )

        if SITUATIONS[situation] in RETRIED:
            assert run() == "answer"
            assert len(calls) == 2 and len(sleeps) == 1
        else:
            with pytest.raises(PlatformError):
                run()
            assert len(calls) == 1, f"{situation} must not be retried"

    def test_an_unreadable_body_is_malformed_not_a_crash(self) -> None:
        assert self.make_connector().classify_error(self.malformed_error()).kind == ErrorKind.MALFORMED

    @pytest.mark.parametrize("situation", sorted(SITUATIONS))
    def test_no_secret_in_an_error(self, situation: str, secret_registered: str) -> None:
        error = self.make_connector().classify_error(self.platform_error(self._situation(situation), secret_registered))
        shown = words(error)
        assert secret_registered not in shown
        assert secret_registered[6:18] not in shown  # nor a piece of it


class PullContract(_Secrets):
    """A whole pull against a local server (tests/fakeplatform.py): paging, failures, bodies."""

    collection: ClassVar[str] = "posts"  # the paged listing the contract drives
    listing_path: ClassVar[str]  # its path on the server

    def account(self, server_url: str) -> RegisteredAccount:
        raise NotImplementedError

    def script_rest(self, server: FakePlatform) -> None:
        """Answer everything but the listing (a profile, empty sub-listings)."""
        raise NotImplementedError

    def page(self, ids: list[int], number: int, pages: int) -> Answer:
        """Page `number` of `pages` of the listing, holding items with these ids, as the platform pages."""
        raise NotImplementedError

    def error_answer(self, status: int, secret: str) -> Answer:
        """The platform's error answer for this HTTP status, its message echoing `secret`."""
        raise NotImplementedError

    def ids(self, snapshot: AccountSnapshot) -> list[int]:
        """The ids of the listing's items the snapshot holds."""
        raise NotImplementedError

    def make_connector(self, as_of: datetime, sleeps: list[float]) -> Connector:
        raise NotImplementedError

    @pytest.fixture
    def server(self) -> Iterator[FakePlatform]:
        with FakePlatform() as server:
            self.script_rest(server)
            yield server

    def pull(self, server: FakePlatform) -> tuple[AccountSnapshot, list[float]]:
        sleeps: list[float] = []
        connector = self.make_connector(datetime.now(UTC), sleeps)
        return connector.pull(self.account(server.url), {}), sleeps

    def test_pagination_reaches_the_last_page(self, server: FakePlatform) -> None:
        chunks = [[1, 2], [3, 4], [5]]
        server.script(self.listing_path, *(self.page(c, n, len(chunks)) for n, c in enumerate(chunks, 1)))
        snapshot, _ = self.pull(server)
        assert self.ids(snapshot) == [1, 2, 3, 4, 5]
        assert snapshot.collections[self.collection].state == CollectionState.COMPLETE
        assert server.hits(self.listing_path) == 3

    @pytest.mark.parametrize(
        ("status", "kind", "state"),
        [
            (401, ErrorKind.AUTH, CollectionState.FAILED),
            (403, ErrorKind.PERMISSION, CollectionState.UNAVAILABLE),
            (404, ErrorKind.NOT_FOUND, CollectionState.FAILED),
        ],
    )
    def test_a_refusal_is_recorded_on_its_collection_once(
        self, server: FakePlatform, secret_registered: str, status: int, kind: ErrorKind, state: CollectionState
    ) -> None:
        server.script(self.listing_path, self.error_answer(status, secret_registered))
        snapshot, _ = self.pull(server)
        result = snapshot.collections[self.collection]
        assert (result.state, result.error) == (state, kind)
        assert server.hits(self.listing_path) == 1  # never retried
        assert secret_registered not in snapshot.model_dump_json()

    @pytest.mark.parametrize("status", [429, 500, 502, 503])
    def test_throttling_and_server_faults_are_retried(
        self, server: FakePlatform, secret_registered: str, status: int
    ) -> None:
        server.script(self.listing_path, self.error_answer(status, secret_registered), self.page([1], 1, 1))
        snapshot, sleeps = self.pull(server)
        assert self.ids(snapshot) == [1]
        assert snapshot.collections[self.collection].state == CollectionState.COMPLETE
        assert server.hits(self.listing_path) == 2 and len(sleeps) == 1

    def test_a_fault_that_never_clears_fails_the_collection_after_the_retries(
        self, server: FakePlatform, secret_registered: str
    ) -> None:
        server.script(self.listing_path, self.error_answer(503, secret_registered))
        snapshot, _ = self.pull(server)
        result = snapshot.collections[self.collection]
        assert (result.state, result.error) == (CollectionState.FAILED, ErrorKind.RETRYABLE)
        assert server.hits(self.listing_path) == 3  # RetryPolicy(max_attempts=3)
        assert secret_registered not in (result.reason or "")

    @pytest.mark.parametrize(
        "body", ['[{"id": 1, "title": {"rende', "<html><body>Bad gateway</body></html>", {"unexpected": "shape"}]
    )
    def test_a_malformed_body_is_malformed_not_a_crash(self, server: FakePlatform, body: Any) -> None:
        answer = Answer(200, body, {"Content-Type": "application/json; charset=UTF-8"})
        server.script(self.listing_path, answer)
        snapshot, _ = self.pull(server)
        result = snapshot.collections[self.collection]
        assert (result.state, result.error) == (CollectionState.FAILED, ErrorKind.MALFORMED)
        assert server.hits(self.listing_path) == 1


class DeclarationContract:
    """What a connector declares for the core (connectors/base.py, docs/connectors.md) is coherent: its
    settings and policy section load with their defaults, every old policy key names a field of its
    section, its credential variables are secrets of its settings, its profile link takes the handle,
    and its package never imports the core. Set `connector` in the subclass."""

    connector: ClassVar[type[Connector]]

    def test_its_settings_and_options_load_with_their_defaults(self, monkeypatch: pytest.MonkeyPatch) -> None:
        for variable in self.connector.credential_variables:
            monkeypatch.delenv(variable, raising=False)
        assert issubclass(self.connector.settings_model, ConnectorSettings)
        assert issubclass(self.connector.options_model, ConnectorOptions)
        self.connector.settings_model()
        options = self.connector.options_model()
        assert self.connector.options_model.model_validate(options.model_dump()) == options
        with pytest.raises(ValidationError):  # a misspelt option is an input error, never ignored
            self.connector.options_model.model_validate({"no_such_option": 1})

    def test_old_policy_keys_name_fields_of_its_section(self) -> None:
        fields = set(self.connector.options_model.model_fields)
        assert set(self.connector.legacy_policy_keys.values()) <= fields

    def test_credential_variables_are_secrets_of_its_settings(self) -> None:
        secrets = {
            str(info.validation_alias)
            for info in self.connector.settings_model.model_fields.values()
            if info.annotation is not None and SecretStr in getattr(info.annotation, "__args__", (info.annotation,))
        }
        assert set(self.connector.credential_variables) <= secrets

    def test_its_profile_link_takes_the_handle(self) -> None:
        registry = ConnectorRegistry([self.connector])
        if self.connector.profile_url is None:
            assert registry.profile_link(self.connector.name, "someone") is None
            return
        link = registry.profile_link(self.connector.name, "@someone")
        assert link is not None and "someone" in link and "@@" not in link
        for host in self.connector.profile_hosts:
            assert registry.platform_of_host(host) == self.connector.name
            assert registry.platform_of_host(f"www.{host}") == self.connector.name

    def test_its_package_never_imports_the_core(self) -> None:
        module = sys.modules[self.connector.__module__]
        folder = Path(module.__file__ or "").parent
        files = [Path(module.__file__ or "")] if folder.name == "connectors" else sorted(folder.rglob("*.py"))
        for path in files:
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names.append(node.module)
                assert not [n for n in names if n.split(".")[0] == "auditor"], f"{path} imports the core"
