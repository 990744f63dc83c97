"""Requests of a full run and of a nightly run after 1 % follower churn, against the lower bound.

    python -m bench.collection_bench [--accounts 300] [--followers 600000] [--churn 0.01] [--replied 0.75]

The real pipeline (`auditor.run.execute_run`: batched lookup, the X connector, the store, rules,
reports) runs against a fake X on 127.0.0.1 (`bench/fake_x.py`) serving a generated division: one
account in ten is protected (a class or club account, read with its owner's token), the rest public.
The lower bound is what an oracle needs with the same endpoints, knowing the platform's state but
not the future: one lookup per 100 accounts, ⌈followers / 1000⌉ follower pages, one timeline and one
mentions page per account (more past 100), and one recent search per 13 conversations of the
window someone has replied to, packed across accounts (the window's mentions show which: the first
reply in a conversation answers the account, and X makes it name the account). For the nightly run:
follower pages for the accounts listed in full that night (their day in the reconciliation cycle)
and for protected accounts that gained followers (public accounts' followers wait for their full
listing, policy connectors.twitter.public_follower_lists), a timeline page for accounts that posted, a mentions page
for each protected account and one shared search per 25 or so public ones, and one recent search per
13 conversations someone has replied to (only they can hold a reply that does not name the account;
see docs/connectors-twitter.md).
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.engine import Engine

from auditor.inputs import Division
from auditor.policy import Policy
from auditor.privacy import hmac_key, keyed_identity
from auditor.run import execute_run
from auditor.settings import Settings
from auditor.spend import estimate_run, minimum_seconds
from auditor.store import latest_participants
from bench.fake_x import FakeAccount, FakeX, FakeXServer, route_x_to
from bench.identity_bench import cpu_model, peak_rss_mb, verdict
from connectors.base import ConnectorSettings, Estimate
from connectors.registry import ConnectorRegistry
from connectors.twitter import TwitterConnector, mentions
from connectors.twitter.auth import USER_TOKEN
from connectors.twitter.connector import (
    CURSOR_FOLLOWERS,
    CURSOR_FULL,
    EP_FOLLOWERS,
    EP_MENTIONS,
    EP_SEARCH,
    EP_TWEETS,
    EP_USERS,
    FOLLOWERS_PAGE,
    LOOKUP_BATCH,
    reconciliation_due,
)
from models.db import init_db, make_engine, session
from models.snapshot import Identity
from models.tables import RegisteredAccount

AS_OF = datetime(2026, 11, 15, 6, 0, tzinfo=UTC)
LOOKBACK_DAYS = 30
LOOKBACK = timedelta(days=LOOKBACK_DAYS)
CONVERSATIONS_PER_QUERY = 13  # conversation_id terms that fit X's 512-character query
PROTECTED_EVERY = 10  # one account in ten is protected
TARGET_FULL_RATIO = 1.1
TARGET_NIGHTLY_SHARE = 0.10
ENDPOINTS = [EP_USERS, EP_FOLLOWERS, EP_TWEETS, EP_MENTIONS, EP_SEARCH]


def follower_counts(accounts: int, total: int, exponent: float = 0.6) -> list[int]:
    """A few large accounts (the division, big schools) and many small ones (clubs, classes)."""
    weights = [1 / (rank + 1) ** exponent for rank in range(accounts)]
    scale = total / sum(weights)
    return [max(20, round(w * scale)) for w in weights]


def build_world(accounts: int, followers: int, seed: int, replied: float = 0.75) -> FakeX:
    """Public accounts share `followers` like a Zipf law; one account in ten is a protected class or club
    account whose members follow it (20-60 followers, on top)."""
    world = FakeX(seed)
    rng = world.rng
    protected = {i for i in range(accounts) if i % PROTECTED_EVERY == PROTECTED_EVERY - 1}
    public_counts = iter(follower_counts(accounts - len(protected), followers))
    for index in range(accounts):
        count = rng.randint(20, 60) if index in protected else next(public_counts)
        account = world.add_account(index, count)
        account.protected = index in protected
        for _ in range(rng.randint(10, 40)):  # posts in the 30-day window, a few replies each
            at = AS_OF - timedelta(hours=rng.uniform(1, 24 * LOOKBACK_DAYS - 1))
            world.post(account, at, rng.randint(1, 3) if rng.random() < replied else 0)
        for _ in range(rng.randint(0, 10)):
            world.mention(account, AS_OF - timedelta(hours=rng.uniform(1, 24 * LOOKBACK_DAYS - 1)))
        account.posts.sort(key=lambda t: -t.id)
        account.mentions.sort(key=lambda t: -t.id)
    return world


def a_day_passes(world: FakeX, churn: float, now: datetime) -> Counter[str]:
    """1 % churn among followers; a fifth of accounts post, a tenth are mentioned, replies come in."""
    changes = world.churn(churn)
    rng = world.rng
    for account in world.accounts.values():
        if rng.random() < 0.2:
            world.post(account, now - timedelta(hours=6), replies=rng.randint(0, 2))
            changes["accounts that posted"] += 1
        if rng.random() < 0.1:
            world.mention(account, now - timedelta(hours=3))
            changes["new mentions"] += 1
        if account.posts and rng.random() < 0.2:
            world.reply(account, account.posts[min(len(account.posts) - 1, 3)], now - timedelta(hours=2))
            changes["new replies"] += 1
    return changes


def registry(world: FakeX) -> list[RegisteredAccount]:
    return [
        RegisteredAccount(
            key=f"acct-{index:04d}",
            platform="twitter",
            connector="twitter",
            handle=f"@{account.username}",
            platform_id=account.id,
            school=f"School {index % 60}",
            purpose="School news",
            kind="individual",
            audience="closed" if account.protected else "public",
        )
        for index, account in enumerate(world.accounts.values())
    ]


def owner_tokens(accounts: list[RegisteredAccount], world: FakeX) -> dict[str, str]:
    """The protected accounts' own user tokens, as ITS configures them (placeholders: the fake X
    does not check tokens)."""
    return {
        ConnectorSettings.account_variable(a.key, USER_TOKEN): f"bench-owner-token-{a.key}"
        for a in accounts
        if world.accounts[a.platform_id or ""].protected
    }


def in_window(tweets: list, now: datetime) -> int:  # type: ignore[type-arg]
    start = now - timedelta(days=LOOKBACK_DAYS)
    return sum(1 for t in tweets if t.created_at >= start)


def conversation_searches(conversations: int) -> int:
    return math.ceil(conversations / CONVERSATIONS_PER_QUERY)


def lower_bound_full(world: FakeX, now: datetime) -> Counter[str]:
    bound: Counter[str] = Counter()
    accounts: list[FakeAccount] = list(world.accounts.values())
    bound[EP_USERS] = math.ceil(len(accounts) / LOOKUP_BATCH)
    for account in accounts:
        bound[EP_FOLLOWERS] += max(1, math.ceil(len(account.followers) / FOLLOWERS_PAGE))
        bound[EP_TWEETS] += max(1, math.ceil(in_window(account.posts, now) / 100))
        bound[EP_MENTIONS] += max(1, math.ceil(in_window(account.mentions, now) / 100))
    bound[EP_SEARCH] = conversation_searches(answered_conversations(world, now))
    return bound


def answered_conversations(world: FakeX, now: datetime) -> int:
    """Conversations of the window someone has replied to: the only ones that can hold a reply the
    account's mentions do not show (the mentions read over the window show which they are)."""
    start = now - LOOKBACK
    return sum(1 for a in world.accounts.values() for t in a.posts if t.created_at >= start and world.replies.get(t.id))


def lower_bound_nightly(
    world: FakeX, now: datetime, joined: dict[str, int], posted: set[str], relisted: set[str]
) -> Counter[str]:
    bound: Counter[str] = Counter()
    accounts = list(world.accounts.values())
    bound[EP_USERS] = math.ceil(len(accounts) / LOOKUP_BATCH)
    public: list[mentions.Searchable] = []
    for account in accounts:
        if account.id in relisted:  # the policy's full reconciliation falls on this night
            bound[EP_FOLLOWERS] += max(1, math.ceil(len(account.followers) / FOLLOWERS_PAGE))
        elif account.protected and joined.get(account.id):
            bound[EP_FOLLOWERS] += math.ceil(joined[account.id] / FOLLOWERS_PAGE)
        bound[EP_TWEETS] += account.id in posted
        if account.protected:
            bound[EP_MENTIONS] += 1  # nothing tells whether an account was mentioned without asking
        else:
            public.append(mentions.Searchable(account.id, account.username, account.id, now))
    bound[EP_SEARCH] = len(mentions.batches(public)) + conversation_searches(answered_conversations(world, now))
    return bound


def reconciled_tonight(accounts: list[RegisteredAccount], policy: Policy, listed: datetime, now: datetime) -> set[str]:
    """Platform ids of the accounts whose full follower listing the policy schedules for `now`."""
    cursor = {CURSOR_FULL: listed.isoformat(), CURSOR_FOLLOWERS: "0"}
    return {
        a.platform_id or ""
        for a in accounts
        if reconciliation_due(a.key, cursor, now, policy.full_reconcile_days, full=False)
    }


def compare_with_platform(world: FakeX, accounts: list[RegisteredAccount], engine: Engine, key: bytes) -> str:
    """How the store's follower lists differ from the platform's, account by account (the store keeps
    people outside the directory, here everyone, as keyed hashes: the platform's ids are hashed alike)."""
    missing = stale = exact = 0
    with session(engine) as db:
        for account in accounts:
            stored = latest_participants(db, account.key)
            held = {p.id for p in stored.identities} if stored else set()
            followers = world.accounts[account.platform_id or ""].followers
            truth = {keyed_identity(key, Identity(platform="twitter", id=f)).id for f in followers}
            missing += len(truth - held)
            stale += len(held - truth)
            exact += held == truth
    return (
        f"{exact}/{len(accounts)} accounts' stored follower lists equal X's; {missing:,} followers not stored yet, "
        f"{stale:,} stored who no longer follow (both found at each account's next full listing)"
    )


def environment(folder: Path) -> Settings:
    os.environ.update(
        {
            "DATABASE_URL": f"sqlite:///{folder / 'auditor.db'}",
            "AUDITOR_REPORT_DIR": str(folder / "reports"),
            "AUDITOR_LOCK_FILE": str(folder / "auditor.lock"),
            "X_BEARER_TOKEN": "bench-placeholder-token",
        }
    )
    os.environ.pop("AUDITOR_CASSETTE_DIR", None)
    return Settings()


def rate_limited_hours(made: Counter[str]) -> str:
    seconds, endpoint = minimum_seconds(TwitterConnector, Estimate(requests=dict(made)))
    return f"{seconds / 3600:.1f} h at least at X's rate limits (set by {endpoint})" if endpoint else "no wait"


def show(title: str, made: Counter[str], bound: Counter[str]) -> None:
    print(f"\n{title}")
    print(f"  {'endpoint':<32} {'made':>8} {'lower bound':>12}")
    for endpoint in ENDPOINTS:
        print(f"  {endpoint:<32} {made[endpoint]:>8,} {bound[endpoint]:>12,}")
    others = sum(v for k, v in made.items() if k not in ENDPOINTS)
    if others:
        print(f"  {'other endpoints':<32} {others:>8,} {0:>12}")
    print(f"  {'total':<32} {sum(made.values()):>8,} {sum(bound.values()):>12,}")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--accounts", type=int, default=300)
    parser.add_argument("--followers", type=int, default=600_000, help="followers of all accounts together")
    parser.add_argument("--churn", type=float, default=0.01)
    parser.add_argument(
        "--replied",
        type=float,
        default=0.75,
        help="share of posts with replies (1-3 each); nightly reply searches follow it",
    )
    parser.add_argument("--seed", type=int, default=8)
    args = parser.parse_args(argv)
    print(f"machine: {cpu_model()}, nproc={os.cpu_count()}")

    started = time.perf_counter()
    world = build_world(args.accounts, args.followers, args.seed, args.replied)
    policy = Policy(
        connectors={"twitter": {"page_cap": 200}}, lookback_days=LOOKBACK_DAYS, approved_platforms=["twitter"]
    )
    total_followers = sum(len(a.followers) for a in world.accounts.values())
    print(
        f"generated {len(world.accounts)} accounts, {total_followers:,} followers "
        f"(largest {max(len(a.followers) for a in world.accounts.values()):,}) in {time.perf_counter() - started:.1f} s"
    )
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp, FakeXServer(world) as server:
        undo = route_x_to(server.base_url)
        try:
            settings = environment(Path(tmp))
            os.environ.update(owner_tokens(registry(world), world))
            engine = make_engine(settings.database_url)
            init_db(engine)
            division = Division(Path(tmp), registry(world), [], [], [], policy)
            connectors = ConnectorRegistry.installed()

            full_bound = lower_bound_full(world, AS_OF)
            predicted_full = estimate_run(
                division.accounts, connectors, settings, policy, AS_OF, True, engine, discovering=True
            )
            started = time.perf_counter()
            full = execute_run(division, settings, full=True, as_of=AS_OF, engine=engine)
            full_seconds = time.perf_counter() - started
            full_made = Counter(server.requests)
            server.reset()
            after_full = compare_with_platform(world, division.accounts, engine, hmac_key(settings))

            nightly_at = AS_OF + timedelta(days=1)
            before = {a.id: set(a.followers) for a in world.accounts.values()}
            posts_before = {a.id: len(a.posts) for a in world.accounts.values()}
            changes = a_day_passes(world, args.churn, nightly_at)
            joined = {a.id: len(set(a.followers) - before[a.id]) for a in world.accounts.values()}
            posted = {a.id for a in world.accounts.values() if len(a.posts) != posts_before[a.id]}
            relisted = reconciled_tonight(division.accounts, policy, AS_OF, nightly_at)
            nightly_bound = lower_bound_nightly(world, nightly_at, joined, posted, relisted)
            changes["accounts re-listed in full (their day in the cycle)"] = len(relisted)
            predicted = estimate_run(
                division.accounts, connectors, settings, policy, nightly_at, False, engine, discovering=True
            )
            started = time.perf_counter()
            nightly = execute_run(division, settings, full=False, as_of=nightly_at, engine=engine)
            nightly_seconds = time.perf_counter() - started
            nightly_made = Counter(server.requests)
            nightly_searches = Counter("replies" if "conversation_id:" in q else "mentions" for q in server.searches)
            after_nightly = compare_with_platform(world, division.accounts, engine, hmac_key(settings))
            # `auditor run --full` the next night: every list is read again, departures included.
            execute_run(division, settings, full=True, as_of=nightly_at + timedelta(days=1), engine=engine)
            after_reconciliation = compare_with_platform(world, division.accounts, engine, hmac_key(settings))
        finally:
            undo()

    show(f"full run ({full_seconds:.0f} s, store, rules and reports included)", full_made, full_bound)
    print(f"  predicted by --dry-run before the run: {sum(predicted_full.by_platform['twitter'].requests.values()):,}")
    print(f"  estimated cost: ${full.spend['estimated_cost']:,.2f}  billed items: {full.spend['billable']['twitter']}")
    print(f"  with real X: {rate_limited_hours(full_made)}")
    print(f"  store after the run: {after_full}")
    print(f"\nchurn: {dict(changes)}")
    show(f"nightly run after {args.churn:.0%} churn ({nightly_seconds:.0f} s)", nightly_made, nightly_bound)
    print(f"  predicted by --dry-run before the run: {sum(predicted.by_platform['twitter'].requests.values()):,}")
    print(
        f"  estimated cost: ${nightly.spend['estimated_cost']:,.2f}  billed items: "
        f"{nightly.spend['billable'].get('twitter', {})}"
    )
    print(f"  recent searches: {nightly_searches['mentions']} for mentions, {nightly_searches['replies']} for replies")
    print(f"  with real X: {rate_limited_hours(nightly_made)}")
    print(f"  store after the run: {after_nightly}")
    print(f"\nfull reconciliation (`auditor run --full`) the next night: {after_reconciliation}")
    print(f"peak RSS of the benchmark process: {peak_rss_mb():.0f} MB")

    full_total, full_lb = sum(full_made.values()), sum(full_bound.values())
    nightly_total = sum(nightly_made.values())
    follower_share = nightly_made[EP_FOLLOWERS] / max(1, full_made[EP_FOLLOWERS])
    print("\ntargets")
    print(
        f"  full run requests <= {TARGET_FULL_RATIO} x lower bound: {full_total:,} / {full_lb:,} = "
        f"{full_total / full_lb:.3f}  {verdict(full_total <= TARGET_FULL_RATIO * full_lb)}"
    )
    print(
        f"  nightly requests <= {TARGET_NIGHTLY_SHARE:.0%} of the full run: {nightly_total:,} / {full_total:,} = "
        f"{nightly_total / full_total:.1%}  {verdict(nightly_total <= TARGET_NIGHTLY_SHARE * full_total)}"
    )
    print(
        f"  (follower pages alone: {nightly_made[EP_FOLLOWERS]:,} / {full_made[EP_FOLLOWERS]:,} = "
        f"{follower_share:.1%}  "
        f"{verdict(follower_share <= TARGET_NIGHTLY_SHARE)}; nightly lower bound "
        f"{sum(nightly_bound.values()):,} = {sum(nightly_bound.values()) / full_total:.1%} of the full run)"
    )


if __name__ == "__main__":
    main()
