"""The interface every platform implements, and the registry that finds them (entry points).

A connector is one module: a `Connector` subclass naming its platform and capabilities and
implementing `pull`. It calls the platform only through `self.call(...)` (the shared resilience
layer, which also counts requests), and records each collection's outcome with
`builder.collect(...)`. It never retries, sleeps, or formats an exception itself.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from dotenv import dotenv_values
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from connectors.resilience import Deadline, PlatformError, RetryPolicy, call_with_retry
from connectors.scrub import register_secret, scrub
from models.snapshot import (
    AccountSnapshot,
    Capability,
    CollectionState,
    CollectionStatus,
    ErrorKind,
    Identity,
    Profile,
)

if TYPE_CHECKING:
    from models.tables import RegisteredAccount

log = logging.getLogger("auditor.connectors")

T = TypeVar("T")
# What parsing a response of the wrong shape raises (pydantic's ValidationError is a ValueError).
RESPONSE_SHAPE_ERRORS = (KeyError, IndexError, TypeError, ValueError, AttributeError)
ENTRY_POINT_GROUP = "auditor.connectors"
SettingsT = TypeVar("SettingsT", bound="ConnectorSettings")
OptionsT = TypeVar("OptionsT", bound="ConnectorOptions")


class ConnectorSettings(BaseSettings):
    """A connector's own environment settings (environment variables or `.env`, never the database).

    A connector subclasses it with fields aliased to its variables (`validation_alias="X_BEARER_TOKEN"`);
    every SecretStr field is registered with the scrubber on load, so no log or report can show it.
    """

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    # Replay recorded traffic instead of calling the platform (demo, tests): read by recording helpers.
    cassette_dir: Path | None = Field(None, validation_alias="AUDITOR_CASSETTE_DIR")
    # A division's secrets file when workers serve several divisions: then the only source (below).
    _secrets_file: Path | None = PrivateAttr(default=None)

    def model_post_init(self, __context: object) -> None:
        for value in self.__dict__.values():
            if isinstance(value, SecretStr):
                register_secret(value.get_secret_value())

    @classmethod
    def from_secrets_file(cls: type[SettingsT], path: Path) -> SettingsT:
        """The settings of one division's credentials (workers serving several divisions): read from its
        secrets file only, never from the process's environment or `.env`, which may hold another's."""
        settings = _file_only(cls)(_env_file=path)
        settings._secrets_file = path
        return settings

    def account_secret(self, account_key: str, name: str) -> SecretStr | None:
        """A per-account credential: `ACCOUNT_<KEY>_<NAME>`, e.g. ACCOUNT_HS_CLUB_X_ACCESS_TOKEN.

        Used where one token cannot serve every account (an account owner's own user token, one
        token per page, a channel owner's refresh token).
        """
        variable = self.account_variable(account_key, name)
        value = os.environ.get(variable) if self._secrets_file is None else None
        if value is None:
            env_file = self._secrets_file or Path(".env")
            if env_file.exists():
                value = dotenv_values(env_file).get(variable)
        if not value:
            return None
        register_secret(value)
        return SecretStr(value)

    @staticmethod
    def account_variable(account_key: str, name: str) -> str:
        return "ACCOUNT_" + re.sub(r"[^A-Za-z0-9]", "_", account_key).upper() + "_" + name.upper()


@functools.cache
def _file_only(cls: type[SettingsT]) -> type[SettingsT]:
    """`cls` reading its fields from the dotenv file it is given only (pydantic-settings' sources)."""

    def sources(
        owner: type[BaseSettings],
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, dotenv_settings)

    return type(
        cls.__name__, (cls,), {"settings_customise_sources": classmethod(sources), "__module__": cls.__module__}
    )


class ConnectorOptions(BaseModel):
    """A connector's section of policy.yaml (`connectors: {<name>: {...}}`); defaults are AP 80-06's."""

    model_config = ConfigDict(extra="forbid")


@dataclass(frozen=True)
class RunLimits:
    """The core policy values a connector may read (nothing else of the division's policy)."""

    lookback_days: int = 30
    full_reconcile_days: int = 30
    following_page_cap: int = 5  # policy personal_connections_page_cap
    discovery_max_lookups: int = 200
    export_max_bytes: int = 50_000_000
    export_read_seconds: float = 30.0

    def window_start(self, as_of: datetime) -> datetime:
        """The start of the look-back window: what is older is outside the audit (policy lookback_days)."""
        return as_of - timedelta(days=self.lookback_days)


class UnitBudget:
    """Quota units a run may spend on a platform that meters them (YouTube's daily project quota).

    One budget is shared by every account of a run (thread-safe). `Connector.call(..., units=n)`
    takes the units before each attempt; when they would exceed the limit it raises a QUOTA
    PlatformError instead of sending the request, so a collection stops as partial *before* the
    platform's own quota runs out.
    """

    def __init__(self, limit: int, label: str = "quota units", resets_at: datetime | None = None) -> None:
        self.limit = limit
        self.label = label
        self.resets_at = resets_at
        self._spent = 0
        self._closed: str | None = None  # why no more units may be spent (the platform said quota is gone)
        self._lock = threading.Lock()

    @property
    def spent(self) -> int:
        with self._lock:
            return self._spent

    def spend(self, units: int) -> None:
        with self._lock:
            if self._closed is not None:
                raise PlatformError(ErrorKind.QUOTA, self._closed, code="budget", retry_at=self.resets_at)
            if self._spent + units > self.limit:
                raise PlatformError(
                    ErrorKind.QUOTA,
                    f"the run's budget of {self.limit} {self.label} would be exceeded "
                    f"({self._spent} spent): collection stopped before the platform's quota ran out",
                    code="budget",
                    retry_at=self.resets_at,
                )
            self._spent += units

    def close(self, reason: str) -> None:
        """The platform reported the quota exhausted: refuse every later call of this run."""
        with self._lock:
            self._closed = reason


@dataclass
class ConnectorContext:
    """What a run hands every connector."""

    as_of: datetime
    deadline: Deadline
    # THIS connector's settings (an instance of its settings_model) and policy section (its options_model).
    settings: ConnectorSettings = field(default_factory=ConnectorSettings)
    options: ConnectorOptions = field(default_factory=ConnectorOptions)
    limits: RunLimits = field(default_factory=RunLimits)
    full: bool = False  # full reconciliation: ignore cursors, list everything
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sleep: Callable[[float], None] | None = None  # tests inject a fake clock
    # Who the account's previous snapshot held, read from the store on demand (account key -> known).
    # None: nothing to compare with, so participants are listed in full.
    known_participants: Callable[[str], KnownParticipants | None] | None = None
    # What the connector's `prefetch` returned for this account (e.g. X: its profile from one batched
    # lookup of every account), or None.
    prefetched: Any = None
    # Metered quota (YouTube units) shared by the whole run; None = the connector makes its own.
    budget: UnitBudget | None = None
    # The credential's request window shared with other processes (workers); None = paced only by the
    # platform's own answers, as `auditor run` is.
    gate: RequestGate | None = None

    @property
    def window_start(self) -> datetime:
        return self.limits.window_start(self.as_of)

    def settings_as(self, model: type[SettingsT]) -> SettingsT:
        """The settings as the connector's own model (a wrong type is a wiring error, not input)."""
        if not isinstance(self.settings, model):
            raise TypeError(f"expected {model.__name__} settings, got {type(self.settings).__name__}")
        return self.settings

    def options_as(self, model: type[OptionsT]) -> OptionsT:
        if not isinstance(self.options, model):
            raise TypeError(f"expected {model.__name__} options, got {type(self.options).__name__}")
        return self.options


class KnownParticipants:
    """The participants an account's previous snapshot held: `identity in known` for an incremental
    listing. `stored_as` is how the store keeps an identity when that differs from what the platform
    returns (e.g. a keyed hash of people outside the directory), so both forms are recognised."""

    def __init__(self, keys: set[str], stored_as: Callable[[Identity], Identity] | None = None) -> None:
        self.keys = keys
        self.stored_as = stored_as

    def __contains__(self, identity: object) -> bool:
        if not isinstance(identity, Identity):
            return False
        if identity.key in self.keys:
            return True
        return self.stored_as is not None and self.stored_as(identity).key in self.keys

    def __len__(self) -> int:
        return len(self.keys)


@dataclass
class Estimate:
    """What a pull is expected to spend, predicted without calling the platform (`auditor run --dry-run`)."""

    requests: dict[str, int] = field(default_factory=dict)  # endpoint -> requests
    units: int = 0
    billable: dict[str, int] = field(default_factory=dict)  # item -> count, priced with the policy's `prices`
    basis: str = ""  # what the prediction rests on, in words

    def add(self, other: Estimate) -> None:
        for endpoint, count in other.requests.items():
            self.requests[endpoint] = self.requests.get(endpoint, 0) + count
        self.units += other.units
        for item, count in other.billable.items():
            self.billable[item] = self.billable.get(item, 0) + count


@dataclass
class FoundAccount:
    """What a platform says about an account that discovery found named in content (`lookup_accounts`)."""

    handle: str  # as asked
    profile: Profile | None  # None: the platform says it does not exist or is suspended
    problem: str | None = None  # the platform's own words when there is no profile


@dataclass
class Following:
    """Whom a personal account follows (`read_following`): as many as were read, and whether that is all."""

    identities: list[Identity]
    complete: bool
    reason: str | None = None  # why not complete, in words


class CredentialState(StrEnum):
    OK = "ok"
    WARNING = "warning"  # works, but needs attention (expires soon, a scope is missing)
    FAILED = "failed"  # the platform refused it
    MISSING = "missing"  # not configured
    NOT_CHECKED = "not-checked"  # the connector has no way to check it without a collection


@dataclass
class CredentialCheck:
    """What `auditor doctor` shows for one credential. `detail` is free of secrets."""

    connector: str
    credential: str  # the variable that holds it, e.g. X_BEARER_TOKEN, so the user knows what to fix
    state: CredentialState
    detail: str
    expires_at: datetime | None = None
    scopes: list[str] = field(default_factory=list)


class SnapshotBuilder:
    """Accumulates a snapshot and the outcome of each collection."""

    def __init__(self, account: RegisteredAccount | str, platform: str, as_of: datetime) -> None:
        key = account if isinstance(account, str) else account.key
        self.snapshot = AccountSnapshot(account_key=key, platform=platform, taken_at=as_of)

    @contextlib.contextmanager
    def collect(self, collection: Capability | str) -> Iterator[None]:
        """Run one collection; a PlatformError inside it becomes that collection's status.

        A rate limit or quota hit after this collection read some items leaves it `partial` (what
        was read is kept); before any item, it is `failed`. A response
        of an unexpected shape (missing field, wrong type) fails this collection as `malformed`
        instead of the whole account.
        """
        name = str(collection)
        self.snapshot.collections[name] = CollectionStatus(state=CollectionState.COMPLETE)
        items_before = self._items(name)
        try:
            yield
        except PlatformError as error:
            self.record_error(name, error, got_some=self._items(name) > items_before)
        except RESPONSE_SHAPE_ERRORS as exc:
            log.debug("%s %s: unexpected response shape", self.snapshot.account_key, name, exc_info=True)
            detail = f"unexpected response: {type(exc).__name__}: {exc}"
            self.record_error(name, PlatformError(ErrorKind.MALFORMED, detail[:300]))

    def _items(self, collection: str) -> int:
        """How many items the snapshot holds for this collection."""
        snapshot = self.snapshot
        sizes = {
            Capability.PROFILE.value: int(snapshot.profile is not None),
            Capability.ADMINS.value: len(snapshot.admins),
            Capability.PARTICIPANTS.value: len(snapshot.participants),
            Capability.POSTS.value: len(snapshot.posts),
            Capability.INTERACTIONS.value: len(snapshot.interactions),
        }
        return sizes.get(collection, 0)

    def record_error(self, collection: str, error: PlatformError, *, got_some: bool = False) -> None:
        current = self.snapshot.collections.get(collection)
        got_some = got_some or (current is not None and current.state == CollectionState.PARTIAL)
        if error.kind in (ErrorKind.RATE_LIMITED, ErrorKind.QUOTA) and got_some:
            state = CollectionState.PARTIAL
        elif error.kind == ErrorKind.PERMISSION:
            state = CollectionState.UNAVAILABLE
        else:
            state = CollectionState.FAILED
        self.snapshot.collections[collection] = CollectionStatus(
            state=state, reason=error.describe(), error=error.kind, retry_after=error.retry_at
        )
        log.warning("%s %s: %s", self.snapshot.account_key, collection, error.describe())

    def mark_partial(self, collection: Capability | str, reason: str) -> None:
        """Some items were collected but not all (page cap, budget, window)."""
        self.snapshot.collections[str(collection)] = CollectionStatus(
            state=CollectionState.PARTIAL, reason=scrub(reason)
        )

    def mark(self, collection: Capability | str, state: CollectionState, reason: str) -> None:
        self.snapshot.collections[str(collection)] = CollectionStatus(state=state, reason=scrub(reason))

    def count_request(self, endpoint: str, units: int = 0) -> None:
        self.snapshot.requests[endpoint] = self.snapshot.requests.get(endpoint, 0) + 1
        self.snapshot.units += units

    def bill(self, item: str, count: int) -> None:
        """`count` items the platform bills (X: users, followers, posts returned)."""
        if count:
            self.snapshot.billable[item] = self.snapshot.billable.get(item, 0) + count


class Connector(ABC):
    """Base class of every platform connector."""

    name: ClassVar[str]
    aliases: ClassVar[tuple[str, ...]] = ()
    capabilities: ClassVar[frozenset[Capability]]
    # Why a capability is missing, in words a user can act on (shown in coverage).
    limitations: ClassVar[dict[Capability, str]] = {}
    # Endpoint -> (requests, per seconds) the platform allows: the dry run says how long a run must
    # take at least (X: 15 follower requests per 15 minutes).
    rate_limits: ClassVar[dict[str, tuple[int, int]]] = {}
    # True when `pull` with a cursor returns only what is new: the run then carries the previous
    # snapshot's posts and interactions that are still inside the look-back window forward.
    incremental: ClassVar[bool] = False

    # Discovery of unregistered accounts: how many handles one `lookup_accounts` request takes, and what
    # the platform lets discovery ask, in words (docs/discovery.md, the run log).
    lookup_batch: ClassVar[int] = 100
    discovery_notes: ClassVar[str] = "no lookup or search for discovery: candidates are scored on what posts show"
    # The form the registry's `its_admin` must take on this platform, when only one form can match what the
    # platform shows: (a regular expression it must fully match, that form in words). `auditor doctor` warns.
    its_admin_form: ClassVar[tuple[str, str] | None] = None
    # Where on the platform each rule's fix is done: rule id (or `rule:subject`) -> template filled by
    # auditor.owners with the finding's values ({handle}, {account}, {person}, {its_admin}, ...).
    remediation: ClassVar[dict[str, str]] = {}

    # --- the plugin contract: what the core learns about a platform from its connector --------------
    # Its environment settings and its policy.yaml section (`connectors: {<name>: {...}}`).
    settings_model: ClassVar[type[ConnectorSettings]] = ConnectorSettings
    options_model: ClassVar[type[ConnectorOptions]] = ConnectorOptions
    # Old top-level policy keys -> field of the section: still accepted, with a deprecation warning.
    legacy_policy_keys: ClassVar[dict[str, str]] = {}
    # Billable item -> USD each; the policy's `prices` ("<name>:<item>") overrides.
    prices: ClassVar[dict[str, float]] = {}
    # AP 80-06 names the platform: in the default `approved_platforms`.
    approved_by_default: ClassVar[bool] = False
    # Links discovery recognises as a profile on this platform, and how a profile's link is written.
    profile_hosts: ClassVar[tuple[str, ...]] = ()
    profile_url: ClassVar[str | None] = None  # "https://example.com/{handle}"
    # Platforms without a connector of their own whose accounts this one reads (an export of them):
    # platform -> (profile hosts, profile url), for discovery's links.
    other_platforms: ClassVar[dict[str, tuple[tuple[str, ...], str]]] = {}
    # Links on the platform (or the other platforms above) that sell, e.g. a creator's shop: personal-use.
    shop_links: ClassVar[tuple[str, ...]] = ()
    # Whoever comments is a participant (the platform lists no members of a public page or channel).
    participants_from_interactions: ClassVar[bool] = False
    reads_export: ClassVar[bool] = False  # reads a registry `export:` file instead of an API
    records_traffic: ClassVar[bool] = True  # its HTTP is replayed from cassettes in the demo and tests
    needs_handle: ClassVar[bool] = True  # a registry entry must give its handle or platform_id
    noisy_loggers: ClassVar[tuple[str, ...]] = ()  # its SDK's loggers, quieted by the CLI
    credential_variables: ClassVar[tuple[str, ...]] = ()  # env vars holding its secrets

    @classmethod
    def normalise_handle(cls, value: str) -> str:
        """How the platform compares handles: `@Name ` and `name` are one account."""
        return value.strip().removeprefix("@").casefold()

    @classmethod
    def run_budget(cls, options: ConnectorOptions) -> UnitBudget | None:
        """A quota every account of a run shares (one budget per run), or None."""
        return None

    @classmethod
    def searches_school_names(cls, options: ConnectorOptions) -> bool:
        """Whether discovery asks this platform for accounts named like each school (`search_accounts`)."""
        return False

    def __init__(self, context: ConnectorContext) -> None:
        self.context = context

    # --- what a connector implements ------------------------------------------------------

    @abstractmethod
    def pull(self, account: RegisteredAccount, cursor: dict[str, str]) -> AccountSnapshot:
        """Collect one account. Must not raise for platform errors: record them per collection."""

    @abstractmethod
    def classify_error(self, error: BaseException) -> PlatformError:
        """Map this SDK's exception to a classified PlatformError (no secrets in `detail`)."""

    def prefetch(
        self,
        accounts: list[RegisteredAccount],
        builder: SnapshotBuilder,
        cursors: Mapping[str, Mapping[str, str]],
    ) -> dict[str, Any]:
        """Optional: one batched look-up for all of a run's accounts before their pulls (counts before
        lists), given each account's cursor (empty on a full run). Returns what each account's pull
        finds in `context.prefetched`, by account key.
        Must not raise for platform errors: a pull without a hint reads its account itself."""
        return {}

    @classmethod
    def prefetched_to_data(cls, hint: Any) -> Any:
        """One account's `prefetch` result as JSON data, for a pull in another process (the workers
        prefetch in the run's first job and each account's job reads its part back). The default
        keeps a hint that is JSON data already, as a platform's own answer is."""
        return hint

    @classmethod
    def prefetched_from_data(cls, data: Any) -> Any:
        """`prefetched_to_data`'s data as the hint the pull expects."""
        return data

    def lookup_accounts(self, handles: list[str], builder: SnapshotBuilder) -> list[FoundAccount]:
        """Optional, for discovery: the public profiles of up to `lookup_batch` handles found in content, in
        one request. Raises PlatformError when the platform refuses; the default looks nothing up."""
        return []

    # True when `read_following` is implemented: the platform's API shows whom an account follows.
    shows_following: ClassVar[bool] = False

    def read_following(self, handle: str, builder: SnapshotBuilder) -> Following:
        """Optional, for staff-student-personal-connection (opt-in): whom the account `handle` follows, at
        most the policy's `personal_connections_page_cap` pages. Raises PlatformError when refused."""
        raise NotImplementedError(f"{self.name} does not show whom an account follows")

    def estimate_following(self, accounts: int) -> Estimate:
        """The most `read_following` could spend for this many personal accounts (an upper bound)."""
        return Estimate()

    def search_accounts(self, query: str, builder: SnapshotBuilder) -> list[Profile]:
        """Optional, for discovery: accounts whose name matches `query` (a school's name), one request.
        Raises PlatformError when the platform refuses; the default searches nothing."""
        return []

    def estimate_prefetch(
        self, accounts: list[RegisteredAccount], cursors: Mapping[str, Mapping[str, str]]
    ) -> Estimate:
        """What `prefetch` would spend for these accounts."""
        return Estimate()

    def estimate_discovery(self, schools: list[str]) -> Estimate:
        """The most discovery could spend after the pulls (`lookup_accounts`, `search_accounts`): how many
        candidates content will show is not known before the run, so this is an upper bound."""
        return Estimate()

    def estimate(
        self, account: RegisteredAccount, cursor: dict[str, str], previous: AccountSnapshot | None
    ) -> Estimate:
        """Predict one pull's spend without calling the platform. The default is conservative: what
        the previous pull spent, or one request per collection (cost unknown) for a first pull."""
        if previous is not None and previous.requests:
            return Estimate(
                dict(previous.requests), previous.units, dict(previous.billable), "what the previous pull spent"
            )
        return Estimate(
            {str(c): 1 for c in sorted(self.capabilities)},
            0,
            {},
            "no previous pull: one request per collection; billable items unknown",
        )

    def check_credentials(self, accounts: list[RegisteredAccount]) -> list[CredentialCheck]:
        """Check this connector's credentials for these accounts, cheaply (e.g. X `get_me`,
        Graph `debug_token`, a Google token refresh). Optional: the default says "not checked"."""
        detail = f"the {self.name} connector has no credential check"
        return [CredentialCheck(self.name, "-", CredentialState.NOT_CHECKED, detail)]

    # --- shared machinery -------------------------------------------------------------------

    def new_builder(self, account: RegisteredAccount) -> SnapshotBuilder:
        builder = SnapshotBuilder(account, self.name, self.context.as_of)
        for capability in Capability:
            if capability not in self.capabilities:
                builder.mark(
                    capability,
                    CollectionState.NOT_SUPPORTED,
                    self.limitations.get(capability, f"{self.name} has no API for {capability.value}"),
                )
        return builder

    def call(
        self,
        builder: SnapshotBuilder,
        endpoint: str,
        fn: Callable[..., T],
        *args: Any,
        units: int = 0,
        **kwargs: Any,
    ) -> T:
        """Call the platform through the resilience layer, counting every attempt as a request.

        `units` is what one attempt costs against `context.budget` (YouTube); an attempt the budget
        cannot pay for is not sent and raises a QUOTA PlatformError.
        """

        gate = self.context.gate

        def on_attempt() -> None:
            if gate is not None:  # workers: the credential's request window, shared through PostgreSQL
                gate.before_request()
            if units and self.context.budget is not None:
                self.context.budget.spend(units)
            builder.count_request(endpoint, units)

        return call_with_retry(
            lambda: fn(*args, **kwargs),
            self.classify_error,
            endpoint=endpoint,
            deadline=self.context.deadline,
            policy=self.context.retry,
            sleep=self.context.sleep or (gate.wait if gate is not None else _default_sleep),
            on_attempt=on_attempt,
        )


class RequestGate(Protocol):
    """One credential's pacing, set by the workers (auditor.workers.pacing, through the division's
    ConnectorRegistry): holds each request until the credential's window across every worker allows
    it, and turns the resilience layer's waits (a 429's reset) into a rescheduled job."""

    def before_request(self) -> None: ...

    def wait(self, seconds: float) -> None: ...


def _default_sleep(seconds: float) -> None:
    import time

    time.sleep(seconds)
