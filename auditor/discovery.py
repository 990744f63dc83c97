"""Discovery of unregistered school accounts, from data the audit already has (no extra requests).

Candidates are accounts mentioned, tagged, replied to or linked from registered accounts' posts
and profiles, and accounts that interact with registered accounts. Each is scored for looking
like a school account: its name or handle resembles a school, the Division or a registered
activity, or uses school words. Registered accounts, people the directory declares (a person's
own account is not a school account) and the registry's `ignore:` list are never candidates.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz
from unidecode import unidecode

from auditor.directory import Directory, normalise_handle
from auditor.policy import Policy
from models.snapshot import AccountSnapshot, Identity
from models.tables import Activity, RegisteredAccount

MENTION = re.compile(r"(?<![\w@])@([A-Za-z0-9_][A-Za-z0-9_.]{1,49})")
PROFILE_URL = re.compile(
    r"https?://(?:www\.|m\.)?(twitter\.com|x\.com|facebook\.com|fb\.com|youtube\.com|tiktok\.com|instagram\.com)/"
    r"(@?[A-Za-z0-9_.\-]+)(?:/(UC[A-Za-z0-9_-]{22}))?",
    re.IGNORECASE,
)
URL_PLATFORM = {
    "twitter.com": "twitter",
    "x.com": "twitter",
    "facebook.com": "facebook",
    "fb.com": "facebook",
    "youtube.com": "youtube",
    "tiktok.com": "tiktok",
    "instagram.com": "instagram",
}
NOT_PROFILES = {"status", "groups", "watch", "video", "hashtag", "search", "share", "intent", "i", "home", "posts"}
PROFILE_LINK = {
    "twitter": "https://x.com/{}",
    "facebook": "https://www.facebook.com/{}",
    "youtube": "https://www.youtube.com/@{}",
    "tiktok": "https://www.tiktok.com/@{}",
    "instagram": "https://www.instagram.com/{}",
}


@dataclass
class Sighting:
    account: str  # the registered account where the candidate was seen
    how: str  # mentioned | linked | replied-to | interacted
    url: str | None = None


@dataclass
class Candidate:
    identity: Identity
    sightings: list[Sighting] = field(default_factory=list)
    score: float = 0.0
    reasons: list[str] = field(default_factory=list)
    school: str | None = None

    @property
    def key(self) -> str:
        return f"{self.identity.platform}:{normalise_handle(self.identity.handle or self.identity.id or '')}"

    @property
    def url(self) -> str | None:
        if self.identity.url:
            return self.identity.url
        template = PROFILE_LINK.get(self.identity.platform)
        return template.format(self.identity.handle.lstrip("@")) if template and self.identity.handle else None


def gather_candidates(account: RegisteredAccount, snapshot: AccountSnapshot) -> list[Candidate]:
    """Every account this snapshot mentions, links, replies to or hears from (unfiltered)."""
    found: dict[str, Candidate] = {}
    own = _own_identity_keys(account, snapshot)

    def see(identity: Identity, how: str, url: str | None) -> None:
        if not (identity.handle or identity.id) or _identity_keys(identity) & own:
            return
        candidate = Candidate(identity)
        candidate = found.setdefault(candidate.key, candidate)
        if identity.display_name and not candidate.identity.display_name:
            candidate.identity = identity
        if not any(s.account == account.key and s.how == how for s in candidate.sightings):
            candidate.sightings.append(Sighting(account.key, how, url))

    texts = [(p.text, p.url) for p in snapshot.posts if _is_own(p.author, own)]
    if snapshot.profile and snapshot.profile.description:
        texts.append((snapshot.profile.description, snapshot.profile.url))
    for text, url in texts:
        for identity, how in _identities_in_text(text, snapshot.platform):
            see(identity, how, url)
    for interaction in snapshot.interactions:
        if _is_own(interaction.actor, own):
            if interaction.target is not None:
                see(interaction.target, "replied-to" if interaction.kind == "reply" else "mentioned", interaction.url)
            for identity, how in _identities_in_text(interaction.text, snapshot.platform):
                see(identity, how, interaction.url)
        else:
            see(interaction.actor, "interacted", interaction.url)
    return list(found.values())


def _identities_in_text(text: str, platform: str) -> Iterable[tuple[Identity, str]]:
    for match in PROFILE_URL.finditer(text or ""):
        site, name, channel = match.group(1).lower(), match.group(2), match.group(3)
        target_platform = URL_PLATFORM.get(site.removeprefix("www."), site)
        if channel:
            yield Identity(platform=target_platform, id=channel), "linked"
        elif name.lower().lstrip("@") not in NOT_PROFILES:
            yield Identity(platform=target_platform, handle=name.lstrip("@")), "linked"
    stripped = PROFILE_URL.sub(" ", text or "")
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
        if platform in ("x",):
            platform = "twitter"
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
        generic = {w for phrase in policy.school_words for w in words(phrase)} | {"of", "the", "and", "st"}
        self.school_words = generic
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

    def score(self, candidate: Candidate) -> None:
        identity = candidate.identity
        tokens = words(" ".join(filter(None, [identity.handle, identity.display_name])))
        joined = "".join(tokens)
        score, reasons = 0.0, []
        for label, school, distinctive, initials in self.names:
            hit = sorted(t for t in distinctive if t in tokens or (len(t) >= 6 and t in joined))
            if hit:
                score += 45
                reasons.append(f"name contains {', '.join(hit)!s} ({label})")
                candidate.school = candidate.school or school
            elif len(initials) >= 3 and any(t == initials or t.startswith(initials) for t in tokens):
                score += 35
                reasons.append(f"name uses the initials {initials.upper()} ({label})")
                candidate.school = candidate.school or school
        text = " ".join(tokens)
        for name, school, normalised in self.activities:
            similarity = fuzz.token_set_ratio(normalised, text)
            if similarity >= 80:
                score += 30
                reasons.append(f"name resembles the activity {name} ({similarity:.0f}%)")
                candidate.school = candidate.school or school
                break
        school_words = sorted({t for t in tokens if t in self.school_words})
        if school_words:
            score += min(30, 15 * len(school_words))
            reasons.append(f"school words: {', '.join(school_words)}")
        if score and any(s.how in ("mentioned", "linked", "replied-to") for s in candidate.sightings):
            score += 10
            reasons.append("mentioned or linked by a registered school account")
        candidate.score = min(100.0, score)
        candidate.reasons = reasons


def discover(
    candidates: Iterable[Candidate],
    accounts: list[RegisteredAccount],
    directory: Directory,
    policy: Policy,
    ignored: list[dict[str, Any]],
) -> list[Candidate]:
    """Merge candidates seen from several accounts, drop known and ignored ones, score the rest."""
    known = known_identity_keys(accounts, directory)
    merged: dict[str, Candidate] = {}
    for candidate in candidates:
        if _identity_keys(candidate.identity) & known or is_ignored(candidate, ignored):
            continue
        existing = merged.setdefault(candidate.key, candidate)
        if existing is not candidate:
            existing.sightings += [s for s in candidate.sightings if s not in existing.sightings]
    schools = {a.school for a in accounts} | {p.school for p in directory.people.values() if p.school}
    likeness = SchoolLikeness(schools, policy, directory.activities.values())
    for candidate in merged.values():
        likeness.score(candidate)
    return sorted(merged.values(), key=lambda c: (-c.score, c.key))
