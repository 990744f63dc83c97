"""Decide for every platform identity whether it is a directory person.

Exact first: a platform id or handle the directory declares for a person decides (score 100).
Otherwise the display name is normalised (case, accents, emoji, punctuation, "Last, First",
honorifics, middle initials, nicknames) and compared with rapidfuzz against directory names.

Comparing every name with the whole roster costs participants x roster, so the roster is
*blocked*: every name is indexed under a few keys made of one whole token plus the first or last
two letters of another token. A name with one typo in one token still shares a key with the
right person (the other token is intact, and one edit leaves either the first or the last two
letters of the damaged token alone), so only a handful of candidates are ever scored.

A name-only match is a probability, never a proof (about one outsider in ten shares a full name
with someone in a 50,000-person roster): it is reported as `FUZZY_NAME` with its score, and when
two directory people share the best score, nobody is picked. Nor is a person who declares a
different account on the identity's platform (unless the policy says otherwise): their account is
known, and a second one under their exact name is more often a namesake's than theirs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from rapidfuzz import fuzz
from unidecode import unidecode

from auditor.directory import Directory, Match, MatchMethod
from auditor.policy import MatchingPolicy
from models.snapshot import Identity

# Nickname -> canonical given name. Both sides of a comparison are canonicalised, so "Mike Smith"
# and "Michael Smith" normalise to the same string. Short forms that are also common names of
# their own (Jack, Jamie, Drew, Nathan, Leo) are left alone: merging two real names would turn
# distinct people into namesakes. Ambiguous short forms (Chris, Alex, Sam) map to the commonest
# long form; a wrong guess only lowers a score.
_NICKNAME_GROUPS: dict[str, tuple[str, ...]] = {
    "michael": ("mike", "mikey", "mick", "mickey"),
    "david": ("dave", "davey", "davy"),
    "james": ("jim", "jimmy", "jimmie"),
    "thomas": ("tom", "tommy", "thom"),
    "robert": ("bob", "bobby", "rob", "robbie", "robby", "bert"),
    "katherine": ("kate", "katie", "kathy", "kath", "kat", "catherine", "kathryn", "katharine"),
    "elizabeth": ("liz", "lizzie", "lizzy", "beth", "betty", "betsy", "eliza", "elisabeth"),
    "william": ("bill", "billy", "will", "willy", "willie"),
    "daniel": ("dan", "danny"),
    "christopher": ("chris", "topher"),
    "matthew": ("matt", "matty"),
    "nicholas": ("nick", "nicky", "nicolas"),
    "alexander": ("alex", "xander"),
    "samuel": ("sam", "sammy"),
    "benjamin": ("ben", "benny", "benji"),
    "joseph": ("joe", "joey"),
    "anthony": ("tony", "antony"),
    "stephen": ("steve", "stevie", "steven"),
    "andrew": ("andy",),
    "jennifer": ("jen", "jenn", "jenny", "jennie"),
    "jessica": ("jess", "jessie"),
    "susan": ("sue", "susie", "suzy"),
    "margaret": ("maggie", "meg", "peggy", "marge", "margie"),
    "patrick": ("pat", "paddy"),
    "patricia": ("patty", "patsy", "trish", "tricia"),
    "richard": ("rick", "ricky", "rich", "richie", "dick"),
    "edward": ("ed", "eddie", "eddy", "ted", "teddy", "ned"),
    "charles": ("charlie", "chuck", "chas"),
    "john": ("johnny",),
    "gregory": ("greg",),
    "jeffrey": ("jeff", "geoffrey", "geoff"),
    "joshua": ("josh",),
    "nathaniel": ("nate",),
    "timothy": ("tim", "timmy"),
    "victoria": ("vicky", "vicki", "tori"),
    "abigail": ("abby", "abbie"),
    "rebecca": ("becky", "becca"),
    "deborah": ("debbie", "deb", "debra"),
    "cynthia": ("cindy",),
    "amanda": ("mandy",),
    "pamela": ("pam",),
    "sandra": ("sandy",),
    "jacob": ("jake",),
    "zachary": ("zach", "zack", "zac"),
    "kenneth": ("ken", "kenny"),
    "lawrence": ("larry", "laurence"),
    "ronald": ("ron", "ronnie"),
    "donald": ("don", "donny", "donnie"),
    "gabriel": ("gabe",),
    "isabella": ("izzy", "bella"),
    "frederick": ("fred", "freddie", "freddy"),
    "gerald": ("gerry", "jerry"),
    "theodore": ("theo",),
    "madison": ("maddie", "maddy"),
    "allison": ("ally", "allie", "alison"),
    "jonathan": ("jonny", "jon"),
    "raymond": ("ray",),
    "douglas": ("doug",),
    "philip": ("phil", "phillip"),
    "vincent": ("vince", "vinny"),
    "walter": ("walt", "wally"),
    "barbara": ("barb", "babs"),
    "valerie": ("val",),
    "nicole": ("nikki", "niki"),
    "anne": ("ann", "annie"),
    "sarah": ("sara", "sally"),
    "francis": ("frank",),
}
NICKNAMES: dict[str, str] = {
    nickname: canonical for canonical, nicknames in _NICKNAME_GROUPS.items() for nickname in nicknames
}

# Tokens that are never part of a person's name: titles, suffixes, degrees.
HONORIFICS = frozenset(
    {
        "mr", "mrs", "ms", "miss", "mx", "dr", "coach", "prof", "professor", "sir", "madam",
        "mme", "mlle", "rev", "fr", "principal", "teacher", "jr", "sr", "ii", "iii", "iv",
        "phd", "med", "bed", "msc", "bsc", "ma", "ba", "rn",
    }
)  # fmt: skip

# Emoji, pictographs, dingbats, flags, skin tones, joiners and variation selectors. A compiled
# character class is several times faster than `emoji.replace_emoji`, and covers symbols (star,
# heart suit) that unidecode would otherwise spell out as words.
_EMOJI = re.compile(
    "[#*0-9]\ufe0f?\u20e3|"  # keycaps: the ASCII base would survive as a bullet or a digit
    "[\u00a9\u00ae\u203c\u2049\u2122\u2139\u24c2\u2190-\u21ff\u2300-\u23ff\u25a0-\u27bf\u2900-\u297f\u2b00-\u2bff"
    "\u200d\u20e3\ufe0e\ufe0f\u3030\u303d\u3297\u3299\U0001f000-\U0001faff\U000e0020-\U000e007f]+"
)
_BRACKETED = re.compile(r"\([^)]*\)|\[[^\]]*\]|\{[^}]*\}")  # "(she/her)", "[HHS]"
# Non-ASCII text is transliterated first, so bullets arrive as "*", dashes as "-", quotes as "'".
_SEGMENT_SEPARATOR = re.compile(r"\s+-+\s+|\s/\s|[|*~:]")  # "Jane Doe | HHS Drama", "Jane Doe - Coach"
_APOSTROPHE = re.compile(r"['`]")  # O'Brien -> obrien, not "o brien"
_NOT_LETTER = re.compile(r"[^a-z]+")
_MAX_TOKENS = 4  # a display name longer than this is a sentence, not a name: keep the head
_CACHE_LIMIT = 200_000
DECLARES_ANOTHER_ACCOUNT = (
    "name matches a person who declares a different account on this platform: probably a namesake, not matched"
)

if TYPE_CHECKING:  # the tables are types here: the rules load without the database stack
    from models.tables import Person


@dataclass(frozen=True)
class NormalisedName:
    tokens: tuple[str, ...]  # canonical tokens in reading order (first name first)

    @property
    def key(self) -> str:
        """Order-free comparison string: rapidfuzz `ratio` on it equals `token_sort_ratio`."""
        return " ".join(sorted(self.tokens))

    @property
    def letters(self) -> int:
        return sum(len(token) for token in self.tokens)


def normalise_name(raw: str) -> NormalisedName:
    """Reduce a display or directory name to canonical tokens."""
    text = raw
    if not text.isascii():  # fast path: most names need neither emoji nor transliteration work
        text = unidecode(_EMOJI.sub(" ", text))
    text = _BRACKETED.sub(" ", text.lower())
    best: tuple[str, ...] = ()
    for segment in _SEGMENT_SEPARATOR.split(text):
        tokens = _segment_tokens(segment)
        if len(tokens) >= 2:  # the first segment that looks like a full name wins
            return NormalisedName(tokens)
        if len(tokens) > len(best):
            best = tokens
    return NormalisedName(best)


def _segment_tokens(segment: str) -> tuple[str, ...]:
    segment = _last_first_to_first_last(_APOSTROPHE.sub("", segment))
    words = _NOT_LETTER.sub(" ", segment).split()
    # Single letters are initials ("Michael J. Fox"); honorifics are never names.
    kept = [NICKNAMES.get(word, word) for word in words if len(word) > 1 and word not in HONORIFICS]
    return tuple(kept[:_MAX_TOKENS])


def _last_first_to_first_last(text: str) -> str:
    """'Smith, John A.' -> 'John A. Smith'; 'John Smith, PhD' -> 'PhD John Smith' (PhD is dropped)."""
    if "," not in text:
        return text
    parts = [part.strip() for part in text.split(",") if part.strip()]
    return " ".join(parts[1:] + parts[:1])


# A directory repeats its given names and surnames (150,000 people, a few thousand names): each is
# normalised once. NormalisedName is frozen, so sharing one is safe.
_directory_part = lru_cache(maxsize=1 << 16)(normalise_name)


def person_names(person: Person) -> set[NormalisedName]:
    """Every normalised way the directory knows this person: legal, preferred, first given name only."""
    names: set[NormalisedName] = set()
    last = _directory_part(person.last_name).tokens
    for given in {person.first_name, person.preferred_name or ""}:
        given_tokens = _directory_part(given).tokens
        if given_tokens and last:
            names.add(NormalisedName(given_tokens + last))
            names.add(NormalisedName(given_tokens[:1] + last))  # "Mary Ann Lee" is often "Mary Lee"
        if given_tokens and len(last) > 1:  # "Ana Garcia-Lopez" often signs "Ana Garcia"
            names.update(NormalisedName((*given_tokens[:1], part)) for part in last)
    return {name for name in names if len(name.tokens) >= 2}


def blocking_keys(tokens: Sequence[str]) -> set[str]:
    """Keys = one whole token + the first or last two letters of another token.

    Any two names sharing two intact tokens share every key; a name with one edit in one token
    still shares the keys built on the intact token plus the untouched end of the damaged one.
    """
    keys: set[str] = set()
    for i, whole in enumerate(tokens):
        for j, other in enumerate(tokens):
            if i != j:
                keys.add(f"{whole}<{other[:2]}")
                keys.add(f"{whole}>{other[-2:]}")
    return keys


@dataclass(frozen=True, slots=True)  # slots: up to _CACHE_LIMIT of them are cached during a run
class _NameVerdict:
    """The outcome of matching one normalised name; shared by every identity bearing it."""

    person_id: str | None
    score: float
    candidate_id: str | None = None
    candidate_score: float | None = None
    note: str | None = None


class IdentityResolver:
    """Matches identities to directory people. Build once per run: the indexes are the cost."""

    def __init__(self, directory: Directory, policy: MatchingPolicy) -> None:
        self.directory = directory
        self.policy = policy
        self._name_keys: list[str] = []  # comparison string of each indexed name
        self._name_person: list[str] = []  # person id of each indexed name
        self._blocks: dict[str, list[int]] = {}
        self._exact: dict[str, list[str]] = {}  # comparison string -> people known by exactly that name
        self._verdicts: dict[str, _NameVerdict] = {}  # display name -> verdict, across calls
        # (person id, platform) of every declared identity: a name match to them is a namesake's, by default
        self._declares_on = {(declared.person_id, declared.platform) for declared in directory.identities}
        for person in directory.people.values():
            self._index_person(person)

    def _index_person(self, person: Person) -> None:
        for name in person_names(person):
            position = len(self._name_keys)
            self._name_keys.append(name.key)
            self._name_person.append(person.person_id)
            people = self._exact.setdefault(name.key, [])
            if person.person_id not in people:
                people.append(person.person_id)
            for block in blocking_keys(name.tokens):
                self._blocks.setdefault(block, []).append(position)

    def resolve(self, identities: Iterable[Identity]) -> dict[str, Match]:
        return {identity.key: self.match(identity) for identity in identities}

    def match(self, identity: Identity) -> Match:
        declared = self._declared_match(identity)
        if declared is not None:
            return declared
        verdict = self._verdict_for(identity.display_name or "")
        if verdict.person_id is not None and self._declares_another(verdict.person_id, identity.platform):
            return Match(
                identity=identity,
                person_id=None,
                method=MatchMethod.NONE,
                score=verdict.score,
                candidate_id=verdict.person_id,
                candidate_score=verdict.score,
                note=DECLARES_ANOTHER_ACCOUNT,
            )
        return Match(
            identity=identity,
            person_id=verdict.person_id,
            method=MatchMethod.FUZZY_NAME if verdict.person_id else MatchMethod.NONE,
            score=verdict.score,
            candidate_id=verdict.candidate_id,
            candidate_score=verdict.candidate_score,
            note=verdict.note,
        )

    def _declared_match(self, identity: Identity) -> Match | None:
        declarable = ((MatchMethod.DECLARED_ID, identity.id), (MatchMethod.DECLARED_HANDLE, identity.handle))
        for method, value in declarable:
            person_id = self.directory.declared_person(identity.platform, value)
            if person_id is not None:
                return Match(identity=identity, person_id=person_id, method=method, score=100.0)
        return None

    def _declares_another(self, person_id: str, platform: str) -> bool:
        """The person declares an account on this platform, and it is not this one (that matched exactly)."""
        return not self.policy.match_names_of_declared_people and (person_id, platform) in self._declares_on

    def _verdict_for(self, display_name: str) -> _NameVerdict:
        verdict = self._verdicts.get(display_name)
        if verdict is None:
            if len(self._verdicts) >= _CACHE_LIMIT:
                self._verdicts.clear()
            verdict = self._verdicts[display_name] = self._judge(normalise_name(display_name))
        return verdict

    def _judge(self, name: NormalisedName) -> _NameVerdict:
        if not name.tokens:
            return _NameVerdict(None, 0.0, note="no display name to match")
        if len(name.tokens) < self.policy.min_name_tokens or name.letters < self.policy.min_name_length:
            return _NameVerdict(None, 0.0, note="name too short to match")
        exact = self._exact.get(name.key)
        if exact:  # score 100 cannot be beaten, and every namesake has this very string
            return self._decide(exact, 100.0)
        scores = self._score_candidates(name)
        if not scores:
            return _NameVerdict(None, 0.0)
        best_score = max(scores.values())
        best = [person_id for person_id, score in scores.items() if score == best_score]
        return self._decide(best, best_score)

    def _score_candidates(self, name: NormalisedName) -> dict[str, float]:
        """Best score per person among the names sharing a block with this one."""
        positions: set[int] = set()
        for block in blocking_keys(name.tokens):
            positions.update(self._blocks.get(block, ()))
        query = name.key
        cutoff = self.policy.fuzzy_candidate
        scores: dict[str, float] = {}
        for position in positions:
            score = fuzz.ratio(query, self._name_keys[position], score_cutoff=cutoff)
            person_id = self._name_person[position]
            if score and score > scores.get(person_id, 0.0):
                scores[person_id] = score
        return scores

    def _decide(self, best: list[str], score: float) -> _NameVerdict:
        """Pick the single best person, unless several share the best score."""
        accepted = score >= self.policy.fuzzy_accept
        if len(best) > 1:  # the name cannot say which one, so it says nobody
            what = "namesakes in directory" if accepted else "directory people equally close"
            return _NameVerdict(None, score, candidate_score=score, note=f"{len(best)} {what}")
        if accepted:
            return _NameVerdict(best[0], score)
        return _NameVerdict(None, score, candidate_id=best[0], candidate_score=score)
