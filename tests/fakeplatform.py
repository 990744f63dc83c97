"""A fake platform on 127.0.0.1 and a tiny connector that talks to it, for fault tests.

vcrpy replays recorded answers but cannot time out or reset a connection; this server can. Each
path has a script of answers consumed in order (the last one repeats): a status, headers and a
body, or a fault (`reset`: the socket is closed without an answer; `hang`: no answer before the
client's timeout). The connector is an ordinary `Connector` subclass, registered in-test by
injecting a `ConnectorRegistry`, so that the whole run pipeline (inputs, isolation, store,
reconciliation, report) sees it like a platform connector.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlparse

import pytest
import requests
from pydantic import Field, SecretStr

from connectors.base import Connector, ConnectorSettings, CredentialCheck, CredentialState
from connectors.resilience import PlatformError, classify_failure
from models.snapshot import AccountSnapshot, Capability, ErrorKind, Identity, Post, Profile
from models.tables import RegisteredAccount

CANARY_TOKEN = "fkp-canary-3c9a71d2e8f04b6a9d1c"  # the fake platform's token: must never be seen
FAKE_TOKEN_VARIABLE = "FAKEPLAT_TOKEN"


@dataclass
class Answer:
    status: int = 200
    body: Any = None  # dict/list -> JSON; str/bytes -> sent as is
    headers: dict[str, str] = field(default_factory=dict)
    fault: str | None = None  # reset | hang


def ok(body: Any, **headers: str) -> Answer:
    return Answer(200, body, dict(headers))


def error(status: int, body: Any = None, **headers: str) -> Answer:
    return Answer(status, body if body is not None else {"error": {"message": f"HTTP {status}"}}, dict(headers))


RESET = Answer(fault="reset")
HANG = Answer(fault="hang")


class FakePlatform:
    """Scripted answers per path; every request is remembered (path, query, headers)."""

    def __init__(self) -> None:
        self.scripts: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, dict[str, list[str]], dict[str, str]]] = []
        self.hang_seconds = 3.0
        self.delay = 0.0  # seconds every answer takes (to make concurrent requests overlap)
        self.in_flight = 0
        self.max_in_flight = 0
        # Per credential (the Authorization header): at most `rate_limit[0]` requests in each fixed window
        # of `rate_limit[1]` whole seconds, like X's windows; more are answered 429 with the reset time.
        self.rate_limit: tuple[int, int] | None = None
        self.windows: dict[tuple[str, int], int] = {}
        self.throttled = 0
        self.answered = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, path: str, *answers: Answer) -> None:
        self.scripts[path] = list(answers)

    def hits(self, path: str) -> int:
        return sum(1 for p, _q, _h in self.requests if p == path)

    def _next(self, path: str) -> Answer:
        with self._lock:
            answers = self.scripts.get(path)
            if not answers:
                return error(404, {"error": {"message": f"no such path {path}", "code": 803}})
            return answers.pop(0) if len(answers) > 1 else answers[0]

    def _over_limit(self, credential: str) -> Answer | None:
        with self._lock:
            self.answered += 1
            if self.rate_limit is None:
                return None
            requests_allowed, seconds = self.rate_limit
            window = int(time.time() // seconds)
            used = self.windows[(credential, window)] = self.windows.get((credential, window), 0) + 1
            if used <= requests_allowed:
                return None
            self.throttled += 1
        reset = str((window + 1) * seconds)
        return error(
            429,
            {"title": "Too Many Requests", "detail": "Too Many Requests", "type": "about:blank"},
            **{"x-rate-limit-limit": str(requests_allowed), "x-rate-limit-remaining": "0", "x-rate-limit-reset": reset},
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        platform = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
                pass

            def do_GET(self) -> None:
                with platform._lock:
                    platform.in_flight += 1
                    platform.max_in_flight = max(platform.max_in_flight, platform.in_flight)
                self.counted = True
                try:
                    self._answer()
                finally:
                    self._answered()

            def _answered(self) -> None:
                """Out of flight before the client can hear the answer: a sequential client's next
                request must never overlap this one because this thread was descheduled (CPU load)."""
                with platform._lock:
                    if self.counted:
                        platform.in_flight -= 1
                        self.counted = False

            def _answer(self) -> None:
                parsed = urlparse(self.path)
                with platform._lock:
                    platform.requests.append((parsed.path, parse_qs(parsed.query), dict(self.headers)))
                answer = platform._over_limit(self.headers.get("Authorization", "")) or platform._next(parsed.path)
                time.sleep(platform.delay)
                if answer.fault == "reset":
                    self._answered()
                    # SO_LINGER 0: close sends RST, the client sees "connection reset by peer".
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    self.connection.close()
                    return
                if answer.fault == "hang":
                    time.sleep(platform.hang_seconds)
                    return
                body = answer.body
                data = (
                    body
                    if isinstance(body, bytes)
                    else body.encode()
                    if isinstance(body, str)
                    else json.dumps(body).encode()
                )
                self.send_response(answer.status)
                content_type = "application/json" if not isinstance(body, str | bytes) else "text/html"
                self.send_header("Content-Type", answer.headers.pop("Content-Type", content_type))
                for name, value in answer.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self._answered()
                self.end_headers()
                self.wfile.write(data)

        return Handler

    def __enter__(self) -> FakePlatform:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


# --- the connector ------------------------------------------------------------------------------


class FakePlatformSettings(ConnectorSettings):
    # The platform's one credential (read per account through `account_secret`, as a page token is);
    # a secret of the settings, so the workers pace requests per credential, as a real connector's.
    token: SecretStr | None = Field(None, validation_alias="ACCOUNT_FAKEPLAT_TOKEN")


class FakePlatformConnector(Connector):
    """Profile, followers (cursor-paginated) and posts of an account on the fake platform."""

    name = "fakeplat"
    settings_model = FakePlatformSettings
    capabilities = frozenset({Capability.PROFILE, Capability.PARTICIPANTS, Capability.POSTS})
    base_url: ClassVar[str] = "http://127.0.0.1:9"
    timeout: ClassVar[float] = 1.0

    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        builder = self.new_builder(account)
        snapshot = builder.snapshot
        with builder.collect(Capability.PROFILE):
            hint = self.context.prefetched  # a batched lookup's profile (BatchingFakeConnector), if any
            if isinstance(hint, Profile):
                snapshot.profile = hint
            else:
                body = self.call(builder, "users.show", self._get, f"/users/{account.handle}")
                user = _field(body, "data", dict)
                snapshot.profile = Profile(id=str(user["id"]), handle=user.get("username"), name=user.get("name"))
        if not snapshot.usable(Capability.PROFILE) or snapshot.profile is None:
            status = snapshot.collections[Capability.PROFILE.value]
            for capability in (Capability.PARTICIPANTS, Capability.POSTS):
                snapshot.collections[capability.value] = status
            return snapshot
        user_id = snapshot.profile.id
        with builder.collect(Capability.PARTICIPANTS):
            page: str | None = ""
            while page is not None:
                body = self.call(builder, "followers", self._get, f"/users/{user_id}/followers", cursor=page or None)
                for item in _field(body, "data", list):
                    snapshot.participants.append(
                        Identity(
                            platform=self.name,
                            id=str(item["id"]),
                            handle=item.get("username"),
                            display_name=item.get("name"),
                        )
                    )
                page = (body.get("meta") or {}).get("next_token")
        with builder.collect(Capability.POSTS):
            body = self.call(builder, "posts", self._get, f"/users/{user_id}/posts")
            for item in _field(body, "data", list):
                snapshot.posts.append(Post(id=str(item["id"]), text=str(item.get("text", ""))))
        return snapshot

    def _get(self, path: str, **params: str | None) -> dict[str, Any]:
        token = self.context.settings.account_secret("fakeplat", "token")
        query = {k: v for k, v in params.items() if v is not None}
        # The token also travels in the query, like Graph's access_token: error texts hold URLs.
        query["access_token"] = token.get_secret_value() if token else ""
        response = requests.get(
            self.base_url + path,
            params=query,
            headers={"Authorization": f"Bearer {query['access_token']}", "Cookie": f"session={CANARY_TOKEN}"},
            timeout=self.timeout,
        )
        response.raise_for_status()
        body = response.json()
        if not isinstance(body, dict):
            raise ValueError("response is not a JSON object")
        if "error" in body:  # HTTP 200 with an error body, like Graph batch answers
            raise FakeApiError(response.status_code, body["error"], response.headers)
        return body

    def classify_error(self, error: BaseException) -> PlatformError:
        return classify(error)

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        token = self.context.settings.account_secret("fakeplat", "token")
        if token is None:
            return [CredentialCheck(self.name, "ACCOUNT_FAKEPLAT_TOKEN", CredentialState.MISSING, "not set")]
        try:
            body = self._get("/debug_token")
        except Exception as exc:
            failure = self.classify_error(exc)
            return [CredentialCheck(self.name, "ACCOUNT_FAKEPLAT_TOKEN", CredentialState.FAILED, failure.describe())]
        data = body.get("data") or {}
        expires = datetime.fromtimestamp(data["expires_at"], UTC) if data.get("expires_at") else None
        return [
            CredentialCheck(
                self.name,
                "ACCOUNT_FAKEPLAT_TOKEN",
                CredentialState.OK,
                "token is valid",
                expires_at=expires,
                scopes=list(data.get("scopes") or []),
            )
        ]


class FakeApiError(Exception):
    def __init__(self, status: int, error: Any, headers: Any) -> None:
        self.status = status
        self.error = error if isinstance(error, dict) else {"message": str(error)}
        self.headers = headers
        super().__init__(str(self.error.get("message")))


def _field(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if not isinstance(value, kind):
        raise ValueError(f"field {name!r} missing or not a {kind.__name__}")
    return value


def _retry_at(headers: Any) -> datetime | None:
    reset = headers.get("x-rate-limit-reset") if headers is not None else None
    if reset and str(reset).isdigit():
        return datetime.fromtimestamp(int(reset), UTC)
    after = headers.get("retry-after") if headers is not None else None
    if after and str(after).isdigit():
        return datetime.fromtimestamp(time.time() + int(after), UTC)
    return None


def classify(error: BaseException) -> PlatformError:
    """The fake platform's classification, shaped like the real connectors' (X and Graph): its own
    answers here, network errors, timeouts and anything unknown by the shared layer."""
    return classify_failure(error, _fake_answer)


def _fake_answer(error: BaseException) -> PlatformError | None:
    if isinstance(error, FakeApiError):
        code = error.error.get("code")
        kind = ErrorKind.AUTH if code == 190 else ErrorKind.RETRYABLE if code in (1, 2) else ErrorKind.BAD_REQUEST
        return PlatformError(kind, str(error.error.get("message", "error")), status=error.status, code=str(code))
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return _classify_status(error.response)
    if isinstance(error, ValueError | KeyError | TypeError):
        return PlatformError(ErrorKind.MALFORMED, f"unexpected response: {type(error).__name__}: {error}")
    return None


def _classify_status(response: requests.Response) -> PlatformError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = {}
    problem = str(body.get("type", "")) if isinstance(body, dict) else ""
    words = f"HTTP {status}" + (f" {problem}" if problem else "")
    if status == 429 and problem == "usage-capped":
        return PlatformError(ErrorKind.QUOTA, words, status=status, code=problem)
    if status == 429:
        return PlatformError(ErrorKind.RATE_LIMITED, words, status=status, retry_at=_retry_at(response.headers))
    if status >= 500:
        return PlatformError(ErrorKind.RETRYABLE, words, status=status)
    kinds = {401: ErrorKind.AUTH, 403: ErrorKind.PERMISSION, 404: ErrorKind.NOT_FOUND}
    return PlatformError(kinds.get(status, ErrorKind.BAD_REQUEST), words, status=status)


# --- fixtures' building blocks --------------------------------------------------------------------


@contextmanager
def fake_connector_installed(monkeypatch: pytest.MonkeyPatch, server: FakePlatform) -> Iterator[None]:
    """Make `fakeplat` an installed connector for inputs and runs, pointed at `server`."""
    from tests.contexts import install_connectors

    install_connectors(monkeypatch, FakePlatformConnector)
    monkeypatch.setattr(FakePlatformConnector, "base_url", server.url)
    yield


def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Replace the resilience layer's sleep by a recorder: fault tests never wait for real."""
    import connectors.base

    slept: list[float] = []
    monkeypatch.setattr(connectors.base, "_default_sleep", slept.append)
    return slept


def users(*people: tuple[str, str, str]) -> list[dict[str, str]]:
    return [{"id": pid, "username": handle, "name": name} for pid, handle, name in people]


def standard_script(server: FakePlatform, followers: list[dict[str, str]] | None = None) -> None:
    """A healthy account: profile, one page of followers, two posts."""
    server.script("/users/fake_school", ok({"data": {"id": "9001", "username": "fake_school", "name": "Fake School"}}))
    server.script(
        "/users/9001/followers",
        ok(
            {
                "data": followers
                if followers is not None
                else users(
                    ("5001", "river_parent", "Dana Rivers"),
                    ("5002", "stranger_77", "Outside Person"),
                ),
                "meta": {"result_count": 2},
            }
        ),
    )
    server.script(
        "/users/9001/posts",
        ok({"data": [{"id": "p1", "text": "Welcome back"}, {"id": "p2", "text": "Game day"}]}),
    )


def write_division(root: Path, *, with_fake: bool = True, extra_policy: str = "") -> Path:
    """A small division: one manual account (a CSV export) and, optionally, one fake-platform account."""
    division = root / "division"
    (division / "registry").mkdir(parents=True)
    (division / "directory").mkdir()
    (division / "exports").mkdir()
    (division / "directory" / "staff.csv").write_text(
        "person_id,role,school,first_name,last_name,status,handles,departure_date\n"
        "E1,staff,Test School,Sam,Teacher,active,fakeplat:fake_school,\n"
        "E2,staff,Test School,Alex,Principal,active,,\n",
        encoding="utf-8",
    )
    (division / "exports" / "club.csv").write_text(
        "record,kind,id,handle,name,target_id,target_handle,target_name,post_id,thread_id,created_at,text,url,hashtags\n"
        "admin,admin,77,sam_t,Sam Teacher,,,,,,,,,\n"
        "participant,,78,pat_outsider,Pat Outsider,,,,,,,,,\n",
        encoding="utf-8",
    )
    accounts = [
        "  - key: club-manual\n    platform: facebook\n    connector: manual\n    export: ../exports/club.csv\n"
        "    handle: ClubGroup\n    school: Test School\n    purpose: Club news\n    kind: joint\n"
        "    audience: closed\n    holders: [E1, E2]\n    admins: [E1, E2]\n"
    ]
    if with_fake:
        accounts.append(
            "  - key: fake-school\n    platform: fakeplat\n    handle: fake_school\n    school: Test School\n"
            "    purpose: School news\n    kind: joint\n    audience: public\n    holders: [E1, E2]\n"
            "    admins: [E1, E2]\n"
        )
    (division / "registry" / "accounts.yaml").write_text("accounts:\n" + "".join(accounts), encoding="utf-8")
    (division / "policy.yaml").write_text(
        "division: Test Division\napproved_platforms: [twitter, facebook, fakeplat]\n" + extra_policy,
        encoding="utf-8",
    )
    return division


def run_environment(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    """Store, reports and lock under `root`; the fake platform's token is the canary."""
    monkeypatch.chdir(root)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{root / 'var' / 'auditor.db'}")
    monkeypatch.setenv("AUDITOR_REPORT_DIR", str(root / "reports"))
    monkeypatch.setenv("AUDITOR_LOCK_FILE", str(root / "var" / "auditor.lock"))
    monkeypatch.delenv("AUDITOR_CASSETTE_DIR", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(root / "config"))  # the HMAC key's default home, not the user's
    monkeypatch.setenv("ACCOUNT_FAKEPLAT_TOKEN", CANARY_TOKEN)


ProgressLog = Callable[[str, str], None]


OUTSIDER_RULE = "test-outsider-participant"


@contextmanager
def outsider_rule() -> Iterator[None]:
    """A test rule: one finding per participant the directory does not know (the real rules may
    not be installed yet; fault tests need findings whose fate they can follow across runs)."""
    from auditor.rules.base import REGISTRY, RuleContext, RuleResult, rule
    from models.tables import Severity

    def check(context: RuleContext) -> Iterator[RuleResult]:
        snapshot = context.snapshot
        if snapshot is None or not snapshot.usable(Capability.PARTICIPANTS):
            return
        for person in snapshot.participants:
            match = context.match(person.key)
            if match is None or match.person_id is None:
                yield RuleResult(
                    subject=person.key,
                    message=f"{person.label()} is not in the directory",
                    evidence={"identity": person.label()},
                )

    rule(
        id=OUTSIDER_RULE,
        title="Participant outside the directory (test)",
        section="test",
        severity=Severity.MEDIUM,
        remediation="none",
    )(check)
    try:
        yield
    finally:
        REGISTRY.pop(OUTSIDER_RULE, None)


@contextmanager
def serving_fake_x(world: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """`bench.fake_x.FakeX` served on 127.0.0.1 with tweepy routed to it, and a run's environment in
    `tmp_path` (store, reports, lock, a placeholder bearer token): yields the server."""
    from bench.fake_x import FakeXServer, route_x_to

    for name, value in {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'auditor.db'}",
        "AUDITOR_REPORT_DIR": str(tmp_path / "reports"),
        "AUDITOR_LOCK_FILE": str(tmp_path / "auditor.lock"),
        "X_BEARER_TOKEN": "test-placeholder-token",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AUDITOR_CASSETTE_DIR", raising=False)
    with FakeXServer(world, max_requests=500) as server:
        undo = route_x_to(server.base_url)
        try:
            yield server
        finally:
            undo()
