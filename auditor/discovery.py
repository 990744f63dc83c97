"""Discovery of unregistered school accounts, from data the audit already has, plus optional lookups.

Candidates are accounts mentioned, tagged, replied to or linked from registered accounts' posts and
profiles, and accounts that interact with registered accounts. Where a platform allows it, the run
looks their profiles up (a batched user lookup) or searches by school name (opt-in, where a
connector offers it): see `auditor.collect.discover`. Which links are profiles, and how a
profile's link is written, is what the installed connectors declare (`ConnectorRegistry`). Each is
scored for looking like a school account: its name, handle or profile description resembles a
school, the Division or a registered activity, or uses school words; a description that reads like a
person's own account lowers the score. Registered accounts, people the directory declares (a
person's own account is not a school account) and the registry's `ignore:` list are never
candidates.

Two guards against names alone: a word the school's and the Division's names share counts once (for
the first name that has it), and an account only seen commenting on a platform where nobody can look
its profile up (`no_lookup`) cannot reach the threshold on its name: anyone may name a fan channel
after the Division.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from rapidfuzz import fuzz
from unidecode import unidecode

from auditor.directory import Directory, normalise_handle
from auditor.policy import Policy
from connectors.registry import ConnectorRegistry
from models.snapshot import AccountSnapshot, Identity, Profile

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.]{1,49})")

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Activity, RegisteredAccount

NOT_PROFILES = {"status", "groups", "watch", "video", "hashtag", "search", "share", "intent", "i", "home", "posts"}

# A description with these words reads like a person's own account (a parent, a fan), not a school's.
PERSONAL_WORDS = ("mom", "dad", "mum", "mother", "father", "grandma", "grandpa", "wife", "husband", "personal")
PERSONAL_PHRASES = ("views are my own", "opinions are my own", "views my own", "opinions my own", "parent of")
HOW_NAMED = ("mentioned", "linked", "replied-to")  # a registered account itself points at the candidate


@dataclass
class Sighting:
    account: str  # the registered account where the candidate was seen, or "<platform> search"
    how: str  # mentioned | linked | replied-to | interacted | search
    url: str | None = None


@dataclass
class Candidate:
    identity: Identity
    sightings: list[Sighting] = field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    school: str | None = None
    profile: Profile | None = None  # what a lookup or search found (name, description, protected)
    missing: str | None = None  # the platform says the account does not exist or is suspended
    no_lookup: str | None = None  # why the platform offers no profile lookup (set by the run), if it does not
    link: str | None = None  # its profile's link as its platform writes one (from the connector registry)

    @property
    def named_by_registered(self) -> bool:
        return any(s.how in HOW_NAMED for s in self.sightings)

    @property
    def key(self) -> str:
        return f"{self.identity.platform}:{normalise_handle(self.identity.handle or self.identity.id or '')}"

    @property
    def url(self) -> str | None:
        return self.identity.url or self.link


def gather_candidates(
    account: RegisteredAccount, snapshot: AccountSnapshot, connectors: ConnectorRegistry | None = None
) -> list[Candidate]:
    """Every account this snapshot mentions, links, replies to or hears from (unfiltered)."""
    registry = connectors if connectors is not None else ConnectorRegistry.installed()
    links = registry.profile_link_pattern()
    found: dict[str, Candidate] = {}
    own = _own_identity_keys(account, snapshot)

    def see(identity: Identity, how: str, url: str | None) -> None:
        if not (identity.handle or identity.id) or _identity_keys(identity) & own:
            return
        link = registry.profile_link(identity.platform, identity.handle) if identity.handle else None
        candidate = Candidate(identity, link=link)
        candidate = found.setdefault(candidate.key, candidate)
        if identity.display_name and not candidate.identity.display_name:
            candidate.identity = identity
        if not any(s.account == account.key and s.how == how for s in candidate.sightings):
            candidate.sightings.append(Sighting(account.key, how, url))

    texts = [(p.text, p.url) for p in snapshot.posts if _is_own(p.author, own)]
    if snapshot.profile and snapshot.profile.description:
        texts.append((snapshot.profile.description, snapshot.profile.url))
    for text, url in texts:
        for identity, how in _identities_in_text(text, snapshot.platform, links, registry):
            see(identity, how, url)
    for interaction in snapshot.interactions:
        if _is_own(interaction.actor, own):
            if interaction.target is not None:
                see(interaction.target, "replied-to" if interaction.kind == "reply" else "mentioned", interaction.url)
            for identity, how in _identities_in_text(interaction.text, snapshot.platform, links, registry):
                see(identity, how, interaction.url)
        else:
            see(interaction.actor, "interacted", interaction.url)
    return list(found.values())


def _identities_in_text(
    text: str, platform: str, links: re.Pattern[str] | None, registry: ConnectorRegistry
) -> Iterable[tuple[Identity, str]]:
    stripped = text or ""
    if links is not None:
        for match in links.finditer(text or ""):
            site, name, channel = match.group(1).lower(), match.group(2), match.group(3)
            target_platform = registry.platform_of_host(site) or site
            if channel:
                yield Identity(platform=target_platform, id=channel), "linked"
            elif name.lower().lstrip("@") not in NOT_PROFILES:
                yield Identity(platform=target_platform, handle=name.lstrip("@")), "linked"
        stripped = links.sub(" ", stripped)
    for match in MENTION.finditer(stripped):
        yield Identity(platform=platform, handle=match.group(1).rstrip(".")), "mentioned"


def _identity_keys(identity: Identity | None) -> set[tuple[str, str]]:
    if identity is None:
        return set()
    keys = set()
    if identity.id:
        keys.add((identity.platform, identity.id.lower()))
    if identity.handle:
        keys.add((identity.platform, normalise_handle(identity.handle)))
    return keys


def _own_identity_keys(account: RegisteredAccount, snapshot: AccountSnapshot) -> set[tuple[str, str]]:
    keys = {(account.platform, v.lower().lstrip("@")) for v in (account.handle, account.platform_id) if v}
    if snapshot.profile:
        keys |= {(account.platform, v.lower().lstrip("@")) for v in (snapshot.profile.id, snapshot.profile.handle) if v}
    return keys


def _is_own(identity: Identity | None, own: set[tuple[str, str]]) -> bool:
    return identity is None or bool(_identity_keys(identity) & own)


# --- filtering and scoring ------------------------------------------------------------------


def known_identity_keys(accounts: list[RegisteredAccount], directory: Directory) -> set[tuple[str, str]]:
    """Registered accounts and people's declared identities: never candidates."""
    keys = {(a.platform, v.lower().lstrip("@")) for a in accounts for v in (a.handle, a.platform_id) if v}
    keys |= {(i.platform, i.value.lower()) for i in directory.identities}
    keys |= {(a.platform, a.its_admin.lower().lstrip("@")) for a in accounts if a.its_admin}
    return keys


def is_ignored(candidate: Candidate, ignored: list[dict[str, Any]]) -> dict[str, Any] | None:
    for entry in ignored:
        platform = str(entry.get("platform", "")).lower()
        value = normalise_handle(str(entry.get("handle") or entry.get("platform_id") or ""))
        if platform == candidate.identity.platform and value in {v for _, v in _identity_keys(candidate.identity)}:
            return entry
    return None


def words(text: str) -> list[str]:
    """'HillsideHawks_FB' -> ['hillside', 'hawks', 'fb']."""
    text = unidecode(text or "")
    text = re.sub(r"(?<=[a-z])(?=[A-Z])", " ", text)
    return [w for w in re.split(r"[^a-z0-9]+", text.lower()) if w]


class SchoolLikeness:
    """Scores how much an identity looks like an account of a school, the Division or an activity."""

    def __init__(self, schools: Iterable[str], policy: Policy, activities: Iterable[Activity]) -> None:
        self.school_words = {w for phrase in policy.school_words for w in words(phrase)}
        generic = self.school_words | {"of", "the", "and", "st"}  # never a school's distinctive word
        self.names: list[tuple[str, str, set[str], str]] = []  # (label, school, distinctive words, initials)
        for school in sorted(set(schools)):
            self._add(school, school, generic)
        if policy.division:
            self._add(policy.division, "Division", generic)
        self.activities = [(a.name, a.school or "Division", " ".join(words(a.name))) for a in activities]

    def _add(self, label: str, school: str, generic: set[str]) -> None:
        tokens = words(label)
        distinctive = {t for t in tokens if t not in generic and len(t) >= 4}
        initials = "".join(t[0] for t in tokens) if len(tokens) >= 2 else ""
        self.names.append((label, school, distinctive, initials))

    def score(self, candidate: Candidate, threshold: float = 100.0) -> None:
        """Name and description count alike (each school or activity once, each distinctive word once),
        with the evidence in words. `threshold`: what a name alone may not reach (see `unconfirmed`)."""
        identity, profile = candidate.identity, candidate.profile
        name = " ".join(filter(None, [identity.handle, identity.display_name, profile.name if profile else None]))
        described = words(profile.description or "") if profile else []
        score, reasons = 0.0, []
        named = words(name)
        credited: set[str] = set()  # distinctive words already counted for an earlier school or the Division
        for label, school, distinctive, initials in self.names:
            fresh = distinctive - credited  # "Prairie Hills High School" in "Prairie Hills Division": once
            # Strongest evidence first: the school's own word in the name, then in the description.
            found = (
                _distinctive_hit(named, fresh, "name contains")
                or _distinctive_hit(described, fresh, "description mentions", within_words=False)
                or _initials_hit(named, initials)
            )
            if found:
                points, reason, hit = found
                credited |= hit
                score += points
                reasons.append(f"{reason} ({label})")
                candidate.school = candidate.school or school
        for source, tokens in (("name", named), ("description", described)):
            activity = self._activity_hit(tokens, source)
            if activity:
                points, reason, school = activity
                score += points
                reasons.append(reason)
                candidate.school = candidate.school or school
                break
        school_words = sorted({t for t in named + described if t in self.school_words})
        if school_words:
            score += min(30, 15 * len(school_words))
            reasons.append(f"school words: {', '.join(school_words)}")
        if score and candidate.named_by_registered:
            score += 10
            reasons.append("mentioned or linked by a registered school account")
        personal = personal_markers(profile.description if profile else None)
        if score and personal:
            score -= 30
            reasons.append(f"description reads like a person's own account ({', '.join(personal)}): lowered")
        if profile and profile.closed:
            reasons.append("protected: the platform shows its posts only to approved followers")
        ceiling = max(0.0, threshold - 1.0)
        if score > ceiling and unconfirmed(candidate):
            score = ceiling
            reasons.append(
                f"seen only commenting, and {candidate.identity.platform} shows no profile to confirm it "
                f"({candidate.no_lookup}): its name alone stays below the threshold"
            )
        candidate.score = max(0.0, min(100.0, score))
        candidate.reasons = reasons

    def _activity_hit(self, tokens: list[str], source: str) -> tuple[float, str, str] | None:
        text = " ".join(tokens)
        for name, school, normalised in self.activities:
            if source == "description":
                # A description is long: the activity's whole name must appear in it.
                similarity = 100.0 if f" {normalised} " in f" {text} " else 0.0
            else:
                similarity = fuzz.token_set_ratio(normalised, text)
            if similarity >= 80:
                verb = "name resembles" if source == "name" else "description mentions"
                return 30, f"{verb} the activity {name} ({similarity:.0f}%)", school
        return None


def unconfirmed(candidate: Candidate) -> bool:
    """Only a name to go on: seen commenting (no registered account names it), no profile, none to be had."""
    return candidate.no_lookup is not None and candidate.profile is None and not candidate.named_by_registered


def mark_no_lookup(candidates: Iterable[Candidate], platform: str, why: str) -> None:
    """The run says this platform offers no profile lookup for discovery (why: the connector's words)."""
    for candidate in candidates:
        if candidate.identity.platform == platform:
            candidate.no_lookup = why


def _distinctive_hit(
    tokens: list[str], distinctive: set[str], what: str, *, within_words: bool = True
) -> tuple[float, str, set[str]] | None:
    """A school's distinctive word among the tokens; in a handle also inside a word (`hillsidehawks`)."""
    joined = "".join(tokens) if within_words else ""
    hit = sorted(t for t in distinctive if t in tokens or (len(t) >= 6 and t in joined))
    return (45, f"{what} {', '.join(hit)}", set(hit)) if hit else None


def _initials_hit(tokens: list[str], initials: str) -> tuple[float, str, set[str]] | None:
    if len(initials) >= 3 and any(t == initials or t.startswith(initials) for t in tokens):
        return 35, f"name uses the initials {initials.upper()}", set()
    return None


def personal_markers(description: str | None) -> list[str]:
    """The words of a description that make it read like a person's own account."""
    if not description:
        return []
    tokens = words(description)
    text = " ".join(tokens)
    found = [w for w in PERSONAL_WORDS if w in tokens]
    found += [p for p in PERSONAL_PHRASES if f" {p} " in f" {text} "]
    return found


class Discovery:
    """One run's discovery: what it knows (registered accounts, declared identities, the ignore list,
    what a school looks like) is worked out once; candidates are merged in as the run finds them
    (gathered from posts, then returned by searches) and scored again after each lookup."""

    def __init__(
        self, accounts: list[RegisteredAccount], directory: Directory, policy: Policy, ignored: list[dict[str, Any]]
    ) -> None:
        self.policy = policy
        self.ignored = ignored
        self.known = known_identity_keys(accounts, directory)
        schools = {a.school for a in accounts} | {p.school for p in directory.people.values() if p.school}
        self.likeness = SchoolLikeness(schools, policy, directory.activities.values())
        self.merged: dict[str, Candidate] = {}

    def add(self, candidates: Iterable[Candidate]) -> None:
        """Merge candidates seen from several accounts; known and ignored ones are dropped."""
        merged = self.merged
        for candidate in candidates:
            if _identity_keys(candidate.identity) & self.known or is_ignored(candidate, self.ignored):
                continue
            existing = merged.setdefault(candidate.key, candidate)
            if existing is not candidate:
                existing.sightings += [s for s in candidate.sightings if s not in existing.sightings]
                existing.profile = existing.profile or candidate.profile
                existing.missing = existing.missing or candidate.missing
                existing.no_lookup = existing.no_lookup or candidate.no_lookup

    def scored(self) -> list[Candidate]:
        """Every candidate scored on what is known of it now, most school-like first."""
        # Nothing to register: the platform says the account does not exist (a typo) or is suspended.
        self.merged = {key: c for key, c in self.merged.items() if c.missing is None}
        for candidate in self.merged.values():
            self.likeness.score(candidate, self.policy.discovery_threshold)
        return sorted(self.merged.values(), key=lambda c: (-c.score, c.key))


def discover(
    candidates: Iterable[Candidate],
    accounts: list[RegisteredAccount],
    directory: Directory,
    policy: Policy,
    ignored: list[dict[str, Any]],
) -> list[Candidate]:
    """Merge candidates seen from several accounts, drop known and ignored ones, score the rest."""
    discovery = Discovery(accounts, directory, policy, ignored)
    discovery.add(candidates)
    return discovery.scored()


# --- lookups and searches (the run asks the connectors; these only choose and apply) -----------


def to_look_up(scored: Iterable[Candidate], policy: Policy) -> dict[str, list[Candidate]]:
    """Per platform, the candidates worth a profile lookup, most school-like first: those a registered
    account names itself, and those whose name alone scores at least the floor. A person who merely
    replies, with an ordinary name, is never looked up (nor billed)."""
    chosen: dict[str, list[Candidate]] = {}
    for candidate in sorted(scored, key=lambda c: (-c.score, c.key)):
        if not candidate.identity.handle or candidate.profile is not None:
            continue
        if candidate.named_by_registered or candidate.score >= policy.discovery_lookup_floor:
            group = chosen.setdefault(candidate.identity.platform, [])
            if len(group) < policy.discovery_max_lookups:
                group.append(candidate)
    return chosen


def apply_lookup(candidates: Iterable[Candidate], platform: str, found: Iterable[Any]) -> int:
    """Attach what a lookup returned (connectors.base.FoundAccount) to every candidate of that handle.
    Returns how many candidates were updated."""
    by_handle = {normalise_handle(f.handle): f for f in found}
    updated = 0
    for candidate in candidates:
        if candidate.identity.platform != platform or not candidate.identity.handle:
            continue
        result = by_handle.get(normalise_handle(candidate.identity.handle))
        if result is None:
            continue
        updated += 1
        if result.profile is None:
            candidate.missing = result.problem or "not found"
            continue
        candidate.profile = result.profile
        candidate.identity = candidate.identity.model_copy(
            update={
                "id": candidate.identity.id or result.profile.id,
                "display_name": candidate.identity.display_name or result.profile.name,
                "url": candidate.identity.url or result.profile.url,
            }
        )
    return updated


def search_candidates(platform: str, query: str, profiles: Iterable[Profile]) -> list[Candidate]:
    """Accounts a platform's search by a school's name returned, as candidates with their profiles."""
    return [
        Candidate(
            Identity(platform=platform, id=p.id, handle=p.handle, display_name=p.name, url=p.url),
            [Sighting(f"{platform} search: {query}", "search", None)],
            profile=p,
        )
        for p in profiles
        if p.id or p.handle
    ]
