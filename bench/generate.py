"""Synthetic school divisions for benchmarks, labelled with ground truth.

Everything is fictional and reproducible from a seed: a directory of people (with preferred names,
departures, declared platform handles and ids, and namesakes), registered accounts, and account
snapshots whose participants, posts and interactions are platform identities with realistic
display-name noise (nicknames, accents, emoji, typos, "Last, First", honorifics, decorations) and
outsiders, some of whom share a full name with a directory person without being in the school.

Building blocks, each usable on its own:

- `make_people(n, rng)` -> list[Person]
- `declare_identities(people, rng, platform)` -> list[PersonIdentity]
- `make_directory(n, seed)` -> SyntheticDirectory (people, identities, `.directory()` for auditor)
- `make_accounts(n, directory, rng)` -> list[RegisteredAccount]
- `IdentityFactory(directory, rng).sample()` -> LabelledIdentity (identity + true person id)
- `make_snapshot(account, factory, participants=..., posts=..., interactions=...)` -> AccountSnapshot
- `make_division(...)` -> Division, whose `snapshots()` yields one snapshot at a time (bounded memory)
"""

from __future__ import annotations

import itertools
import random
import string
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from unidecode import unidecode

from auditor.directory import Directory
from models.snapshot import (
    AccountSnapshot,
    AdminRole,
    Capability,
    CollectionState,
    CollectionStatus,
    Identity,
    Interaction,
    Post,
    Profile,
)
from models.tables import Person, PersonIdentity, RegisteredAccount


def _words(text: str) -> list[str]:
    return text.split()


# --- name pools -----------------------------------------------------------------------------
# Ordered roughly by frequency; sampling weights fall off like a Zipf law, so common names
# ("Michael Smith") recur and the directory holds namesakes the way a real roster does.

FIRST_NAMES = _words("""
Michael James John Robert David William Daniel Matthew Joseph Christopher Emma Olivia Ava Sophia
Isabella Mia Charlotte Amelia Harper Evelyn Liam Noah Ethan Lucas Benjamin Alexander Samuel Jacob
Thomas Andrew Nicholas Jonathan Anthony Elizabeth Katherine Margaret Jennifer Jessica Sarah Emily
Hannah Abigail Madison Chloé Zoë Renée José Andrés Inés François Hélène Noémie Søren Björn Léa
Maël Amélie Jérôme Élodie Zoé Mateo Santiago Sebastián Valentina Camila Lucía Sofía Ximena Diego
Gabriel Isaac Owen Wyatt Jack Luke Henry Levi Julian Grayson Leo Jayden Aiden Carter Dylan Caleb
Ryan Nathan Isaiah Charles Eli Aaron Connor Adrian Hunter Jordan Ian Evan Colton Austin Jaxon
Ella Scarlett Grace Lily Aria Chloe Layla Riley Zoey Nora Ellie Hazel Aurora Violet Stella Lucy
Paisley Audrey Brooklyn Claire Skylar Anna Naomi Ruby Alice Sadie Kennedy Piper Quinn Maya Priya
Arjun Rohan Ananya Aditi Vikram Wei Mei Jun Hiroshi Yuki Haruto Sakura Minh Linh Thanh Oluwaseun
Chidi Amara Kwame Ama Fatima Aisha Omar Yusuf Ibrahim Layla Zainab Hamza Ayesha Mohammed Ali
Patricia Susan Deborah Rebecca Victoria Pamela Sandra Cynthia Amanda Richard Edward Gregory
Jeffrey Timothy Kenneth Ronald Donald Raymond Douglas Philip Walter Lawrence Frederick Gerald
Zachary Joshua Stephen Barbara Valerie Nicole Allison Theodore Vincent Francis Anne Mary Dakota
Tanvir Siobhan Niamh Aoife Ciarán Seamus Bronwyn Tariq Nadia Dmitri Anastasia Katya Olek Piotr
""")

LAST_NAMES = _words("""
Smith Johnson Williams Brown Jones Miller Davis Wilson Anderson Taylor Thomas Moore Martin Jackson
Thompson White Harris Clark Lewis Robinson Walker Young Allen King Wright Scott Hill Green Adams
Baker Nelson Carter Mitchell Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart
Morris Murphy Cook Rogers Morgan Cooper Peterson Reed Bailey Bell Kelly Howard Ward Cox Richardson
Wood Watson Brooks Bennett Gray Hughes Price Sanders Myers Long Ross Foster García Rodríguez
Martínez Hernández López González Pérez Sánchez Ramírez Torres Flores Rivera Gómez Díaz Núñez
Muñoz Jiménez Álvarez Romero Gutiérrez Côté Gagné Tremblay Lefèvre Bélanger Lévesque Bouchard
Gauthier Roy Fortin Leblanc Pelletier Bergeron Müller Schröder Großmann Øster Nguyen Tran Le Pham
Hoang Vu Dang Bui Kim Lee Park Choi Chen Wang Li Zhang Liu Yang Huang Zhao Wu Zhou Singh Patel
Sharma Gupta Kumar Khan Ahmed Ali Hussain Okafor Adeyemi Mensah Osei Boateng Nakamura Tanaka
Suzuki Sato Watanabe O'Brien O'Connor O'Neill McDonald MacLeod McKenzie Fitzgerald Kowalski Nowak
Wiśniewski Kowalczyk Lindqvist Johansson Andersson Nilsson Larsen Hansen Jensen Petrov Ivanov
Smirnov Popescu Horvath Novak Rossi Russo Ferrari Esposito Bianchi Romano Kaur Gill Dhillon
Whitford Lindgren Ashworth Blackwood Hargreaves Thornton Pemberton Whitaker Holloway Fairbanks
""")

# Synthetic names (random syllables) widen the pools to a realistic number of distinct names, so
# that about one person in ten shares a full name with someone else, as in a real roster.
_ONSETS = _words("b br c ch d dr f g gr h j k kr l m n p r s sh st t tr v w z")
_VOWELS = _words("a e i o u a e i o ai ea")
_CODAS = ["", "", "n", "r", "l", "s", "k", "m", "nd", "rt"]
_SURNAME_TAILS = _words("son ski ez ova berg ton ley ford man ini escu ovic er en ard well")
_GIVEN_TAILS = _words("a ie on yn ah el o an ia ette us")
_SCHOOL_WORDS = _words("Ash Bel Bran Cal Dal Eld Fen Gar Hal Kes Lan Mar Nor Pen Ral Sel Tal Val Wes Yar")

# The generator's own nickname list: wider than the resolver's table on purpose, so the
# benchmark also measures the nicknames the resolver does not know.
GENERATOR_NICKNAMES: dict[str, list[str]] = {
    "Michael": ["Mike", "Mikey"], "James": ["Jim", "Jimmy", "Jamie"], "John": ["Johnny", "Jack"],
    "Robert": ["Bob", "Rob", "Bobby", "Robbie"], "David": ["Dave", "Davey"],
    "William": ["Bill", "Will", "Billy"],
    "Daniel": ["Dan", "Danny"], "Matthew": ["Matt"], "Joseph": ["Joe", "Joey"], "Christopher": ["Chris"],
    "Thomas": ["Tom", "Tommy"], "Andrew": ["Andy", "Drew"], "Nicholas": ["Nick"], "Anthony": ["Tony"],
    "Elizabeth": ["Liz", "Beth", "Lizzie", "Betsy"], "Katherine": ["Kate", "Katie", "Kathy"],
    "Margaret": ["Maggie", "Meg", "Peggy"], "Jennifer": ["Jen", "Jenny"], "Jessica": ["Jess"],
    "Abigail": ["Abby"], "Benjamin": ["Ben"], "Alexander": ["Alex", "Xander"], "Samuel": ["Sam"],
    "Jacob": ["Jake"], "Zachary": ["Zach"], "Joshua": ["Josh"], "Stephen": ["Steve"],
    "Timothy": ["Tim"], "Patricia": ["Patty", "Trish"], "Richard": ["Rick", "Rich"], "Edward": ["Ed", "Ted"],
    "Gregory": ["Greg"], "Jeffrey": ["Jeff"], "Kenneth": ["Ken"], "Ronald": ["Ron"], "Donald": ["Don"],
    "Rebecca": ["Becky"], "Victoria": ["Vicky", "Tori"], "Deborah": ["Debbie"], "Pamela": ["Pam"],
    "Theodore": ["Theo", "Teddy"], "Isabella": ["Bella", "Izzy"], "Valentina": ["Vale"],
    "Alexandra": ["Sasha"], "Anastasia": ["Nastya"], "Sebastián": ["Seba"], "Frederick": ["Fred"],
}  # fmt: skip

_ACCENTABLE = {"a": "á", "e": "é", "i": "í", "o": "ö", "u": "ü", "n": "ñ", "c": "ç"}
_EMOJI = ["🏀", "⚽", "🎭", "✨", "🇨🇦", "📚", "🎶", "💙", "🏒", "🌻"]
_HONORIFICS = ["Mr.", "Mrs.", "Ms.", "Dr.", "Coach"]
_DECORATIONS = ["| {school} Drama", "(she/her)", "(he/him)", "- Teacher", "• Go Hawks!", "[{school}]"]
_ORGANISATIONS = ["Hawks Booster Club", "Riverbend PAC", "City Youth Soccer", "Local News 7", "Pizza Palace"]

ROLES_WEIGHTED = [("student", 80), ("staff", 11), ("administrator", 1), ("trustee", 0.1), ("parent", 7.9)]


def _zipf_weights(count: int, exponent: float) -> list[float]:
    return [1.0 / (rank + 1) ** exponent for rank in range(count)]


def _syllable(rng: random.Random) -> str:
    return rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)


def _synthetic_names(
    real: Sequence[str], size: int, tails: Sequence[str], seed: int, two_syllables: float
) -> list[str]:
    """`real` names first (the common ones), then invented ones up to `size`."""
    rng = random.Random(seed)
    pool = dict.fromkeys(real)
    while len(pool) < size:
        stem = _syllable(rng) + (_syllable(rng) if rng.random() < two_syllables else "")
        pool.setdefault((stem + rng.choice(tails)).capitalize())
    return list(pool)


def surname_pool(size: int = 20_000) -> list[str]:
    return _synthetic_names(LAST_NAMES, size, _SURNAME_TAILS, seed=8006, two_syllables=0.6)


def given_name_pool(size: int = 1_500) -> list[str]:
    return _synthetic_names(FIRST_NAMES, size, _GIVEN_TAILS, seed=8007, two_syllables=0.2)


@dataclass
class NameSampler:
    """Draws (first, last) names with Zipf-like frequencies."""

    rng: random.Random
    first: Sequence[str] = field(default_factory=given_name_pool)
    last: Sequence[str] = field(default_factory=surname_pool)

    def __post_init__(self) -> None:
        self._first_cum = list(itertools.accumulate(_zipf_weights(len(self.first), 0.7)))
        self._last_cum = list(itertools.accumulate(_zipf_weights(len(self.last), 0.75)))

    def name(self) -> tuple[str, str]:
        first = self.rng.choices(self.first, cum_weights=self._first_cum)[0]
        last = self.rng.choices(self.last, cum_weights=self._last_cum)[0]
        return first, last


# --- directory ------------------------------------------------------------------------------


def school_names(count: int) -> list[str]:
    kinds = ["Elementary School", "Middle School", "High School"]
    return [f"{_SCHOOL_WORDS[i % len(_SCHOOL_WORDS)]}ton {kinds[i % 3]} {i // 60 or ''}".strip() for i in range(count)]


def _person_id(role: str, serial: int) -> str:
    if role == "student":
        return f"{300_000_000 + serial}"  # 9 digits, like a student number
    return f"{'E' if role in ('staff', 'administrator') else 'P'}{serial:07d}"


def make_people(count: int, rng: random.Random, schools: Sequence[str] | None = None) -> list[Person]:
    """`count` directory people: mostly students, then staff, parents, a few trustees; ~3 % departed."""
    schools = list(schools or school_names(max(1, count // 600)))
    sampler = NameSampler(rng)
    roles, weights = zip(*ROLES_WEIGHTED, strict=True)
    people = []
    for serial in range(count):
        role = rng.choices(roles, weights=weights)[0]
        first, last = sampler.name()
        departed = rng.random() < 0.03
        people.append(
            Person(
                person_id=_person_id(role, serial),
                role=role,
                school=rng.choice(schools) if role != "trustee" else None,
                first_name=first,
                last_name=last,
                preferred_name=_preferred_name(first, rng),
                status="departed" if departed else "active",
                departure_date=date(2026, 6, 30) if departed else None,
            )
        )
    return people


def _preferred_name(first: str, rng: random.Random) -> str | None:
    roll = rng.random()
    if roll < 0.10 and first in GENERATOR_NICKNAMES:
        return rng.choice(GENERATOR_NICKNAMES[first])
    if roll < 0.12:  # a preferred name unrelated to the legal one
        return rng.choice(["Skye", "River", "Bear", "Kai", "Jo", "Max", "Sunny"])
    return None


def handle_for(person: Person, rng: random.Random) -> str:
    base = unidecode(f"{person.first_name[:1]}{person.last_name}").lower()
    base = "".join(ch for ch in base if ch.isalnum())
    return f"{base}_{rng.randint(0, 9999):04d}"


def declare_identities(
    people: Sequence[Person], rng: random.Random, platform: str = "twitter", share: float = 0.3
) -> list[PersonIdentity]:
    """The directory declares a handle (and, for a third of them, the numeric id) for `share` of people."""
    declared = []
    for serial, person in enumerate(people):
        if rng.random() >= share:
            continue
        declared.append(PersonIdentity(person_id=person.person_id, platform=platform, value=handle_for(person, rng)))
        if rng.random() < 1 / 3:
            declared.append(PersonIdentity(person_id=person.person_id, platform=platform, value=platform_id(serial)))
    return declared


def platform_id(serial: int, offset: int = 1_500_000_000_000_000_000) -> str:
    return str(offset + serial)


@dataclass
class SyntheticDirectory:
    people: list[Person]
    identities: list[PersonIdentity]
    platform: str = "twitter"

    def directory(self) -> Directory:
        return Directory(people={p.person_id: p for p in self.people}, identities=list(self.identities))

    def declared_by_person(self) -> dict[str, list[PersonIdentity]]:
        by_person: dict[str, list[PersonIdentity]] = {}
        for declared in self.identities:
            by_person.setdefault(declared.person_id, []).append(declared)
        return by_person


def make_directory(count: int = 50_000, seed: int = 8, platform: str = "twitter") -> SyntheticDirectory:
    rng = random.Random(seed)
    people = make_people(count, rng)
    return SyntheticDirectory(people, declare_identities(people, rng, platform), platform)


# --- display-name noise ---------------------------------------------------------------------


def add_typo(word: str, rng: random.Random) -> str:
    """One edit: substitution, insertion, deletion or transposition, never on the first letter."""
    if len(word) < 4:
        return word
    position = rng.randrange(1, len(word) - 1)
    edit = rng.choice(["substitute", "insert", "delete", "transpose"])
    if edit == "transpose" and word[position - 1] != word[position]:
        return word[: position - 1] + word[position] + word[position - 1] + word[position + 1 :]
    if edit == "substitute":
        letter = rng.choice([ch for ch in string.ascii_lowercase if ch != word[position]])
        return word[:position] + letter + word[position + 1 :]
    if edit == "insert":
        return word[:position] + rng.choice(string.ascii_lowercase) + word[position:]
    return word[:position] + word[position + 1 :]


def toggle_accents(word: str, rng: random.Random) -> str:
    """Strip the accents of an accented word; accent one letter of a plain one."""
    if not word.isascii():
        return unidecode(word)
    spots = [i for i, ch in enumerate(word) if ch in _ACCENTABLE]
    if not spots:
        return word
    i = rng.choice(spots)
    return word[:i] + _ACCENTABLE[word[i]] + word[i + 1 :]


def _given(person: Person, rng: random.Random, kind: str) -> str:
    if kind == "preferred" and person.preferred_name:
        return person.preferred_name
    if kind in ("nickname", "preferred") and person.first_name in GENERATOR_NICKNAMES:
        return rng.choice(GENERATOR_NICKNAMES[person.first_name])
    return person.first_name


NOISE_KINDS = (
    "clean", "case", "accents", "emoji", "punctuation", "last-first", "nickname", "preferred",
    "honorific", "middle-initial", "typo", "decorated",
)  # fmt: skip


def noisy_name(first: str, last: str, kind: str, rng: random.Random) -> str:
    """One display name for (first, last) carrying one kind of noise."""
    if kind == "case":
        return rng.choice([str.upper, str.lower])(f"{first} {last}")
    if kind == "accents":
        return f"{toggle_accents(first, rng)} {toggle_accents(last, rng)}"
    if kind == "emoji":
        return f"{first} {last} {rng.choice(_EMOJI)}" if rng.random() < 0.7 else f"{rng.choice(_EMOJI)}{first} {last}"
    if kind == "punctuation":
        return rng.choice([f"{first}.{last}", f"{first} {last}!!", f"~{first}_{last}~", f"{first} {last}."])
    if kind == "last-first":
        return f"{last}, {first}"
    if kind == "honorific":
        return f"{rng.choice(_HONORIFICS)} {first} {last}"
    if kind == "middle-initial":
        return f"{first} {rng.choice(string.ascii_uppercase)}. {last}"
    if kind == "typo":
        return f"{add_typo(first, rng)} {last}" if rng.random() < 0.4 else f"{first} {add_typo(last, rng)}"
    if kind == "decorated":
        return f"{first} {last} {rng.choice(_DECORATIONS).format(school='HHS')}"
    return f"{first} {last}"


def _plain(first: str, last: str) -> tuple[str, str]:
    """What makes two names the same name for the generator: letters, ignoring case and accents."""
    return unidecode(first).lower(), unidecode(last).lower()


# --- labelled identities --------------------------------------------------------------------


@dataclass(frozen=True)
class LabelledIdentity:
    identity: Identity
    person_id: str | None  # ground truth: who this really is (None: not in the directory)
    kind: str  # declared | directory | unrecognisable | namesake-outsider | outsider | junk
    noise: str = "clean"


@dataclass(frozen=True)
class IdentityMix:
    """Shares of each kind of identity among participants (the rest are junk/organisations)."""

    declared: float = 0.15  # the directory declares this account's id or handle
    directory: float = 0.50  # a directory person under a noisy display name
    unrecognisable: float = 0.05  # a directory person under a pseudonym or a first name only
    outsider: float = 0.28  # not in the directory; `namesake_share` of them share a directory name
    namesake_share: float = 0.10  # "about one outsider in ten shares a full name" (issue 8)


class IdentityFactory:
    """Draws labelled platform identities from a synthetic directory."""

    def __init__(self, synthetic: SyntheticDirectory, rng: random.Random, mix: IdentityMix | None = None) -> None:
        self.synthetic = synthetic
        self.rng = rng
        self.mix = mix or IdentityMix()
        self.platform = synthetic.platform
        self._people = synthetic.people
        declared = synthetic.declared_by_person()
        self._by_id = {p.person_id: p for p in self._people}
        self._declared_pool = [(self._by_id[pid], values) for pid, values in declared.items()]
        self._declared_by_person = declared
        self._directory_names = {
            _plain(given, p.last_name) for p in self._people for given in (p.first_name, p.preferred_name) if given
        }
        self._outsider_names = NameSampler(rng)
        self._serial = itertools.count(10_000_000)
        mix_ = self.mix
        self._kinds = ["declared", "directory", "unrecognisable", "outsider", "junk"]
        shares = [mix_.declared, mix_.directory, mix_.unrecognisable, mix_.outsider]
        self._weights = [*shares, max(0.0, 1.0 - sum(shares))]

    def _new_identity(self, display_name: str, handle: str | None = None) -> Identity:
        serial = next(self._serial)
        return Identity(
            platform=self.platform,
            id=platform_id(serial, offset=1_600_000_000_000_000_000),
            handle=handle or f"user{serial}",
            display_name=display_name,
        )

    def person(self, person_id: str) -> Person:
        return self._by_id[person_id]

    def sample(self) -> LabelledIdentity:
        kind = self.rng.choices(self._kinds, weights=self._weights)[0]
        return getattr(self, f"_{kind}")()  # type: ignore[no-any-return]

    def samples(self, count: int) -> list[LabelledIdentity]:
        return [self.sample() for _ in range(count)]

    def person_identity(self, person: Person, noise: str | None = None) -> LabelledIdentity:
        """A known person under a noisy display name (no declared handle or id)."""
        noise = noise or self.rng.choice(NOISE_KINDS)
        first = _given(person, self.rng, noise)
        display = noisy_name(first, person.last_name, noise, self.rng)
        if self.rng.random() < 0.2:  # some names carry two kinds of noise
            display = noisy_name(display, "", "emoji", self.rng).strip() if noise != "emoji" else display.upper()
        return LabelledIdentity(self._new_identity(display), person.person_id, "directory", noise)

    def identity_of(self, person: Person) -> LabelledIdentity:
        """This person's account: the declared one when the directory has it, else a noisy name."""
        declared = self._declared_by_person.get(person.person_id)
        if declared:
            return self._declared_identity(person, declared)
        return self.person_identity(person)

    def _declared(self) -> LabelledIdentity:
        person, declared = self.rng.choice(self._declared_pool)
        return self._declared_identity(person, declared)

    def _declared_identity(self, person: Person, declared: Sequence[PersonIdentity]) -> LabelledIdentity:
        chosen = self.rng.choice(declared)
        by_id = chosen.value.isdigit()
        handle = chosen.value if not by_id else f"user{next(self._serial)}"
        if not by_id and self.rng.random() < 0.5:
            handle = "@" + handle.upper()  # connectors may hand over "@Handle": still the same account
        display = noisy_name(_given(person, self.rng, "nickname"), person.last_name, "emoji", self.rng)
        identity = Identity(
            platform=self.platform,
            id=chosen.value if by_id else platform_id(next(self._serial), offset=1_700_000_000_000_000_000),
            handle=handle,
            display_name=display,
        )
        return LabelledIdentity(identity, person.person_id, "declared", "declared-id" if by_id else "declared-handle")

    def _directory(self) -> LabelledIdentity:
        return self.person_identity(self.rng.choice(self._people))

    def _unrecognisable(self) -> LabelledIdentity:
        person = self.rng.choice(self._people)
        display = self.rng.choice([person.first_name, f"{person.first_name} {self.rng.choice(_EMOJI)}", "xX_gamer_Xx"])
        return LabelledIdentity(self._new_identity(display), person.person_id, "unrecognisable", "pseudonym")

    def _outsider(self) -> LabelledIdentity:
        if self.rng.random() < self.mix.namesake_share:
            twin = self.rng.choice(self._people)  # same name, different human
            noise = self.rng.choice(NOISE_KINDS)
            display = noisy_name(twin.first_name, twin.last_name, noise, self.rng)
            return LabelledIdentity(self._new_identity(display), None, "namesake-outsider", noise)
        while True:
            first, last = self._outsider_names.name()
            if _plain(first, last) not in self._directory_names:
                break
        noise = self.rng.choice(NOISE_KINDS)
        display = noisy_name(first, last, noise, self.rng)
        return LabelledIdentity(self._new_identity(display), None, "outsider", noise)

    def _junk(self) -> LabelledIdentity:
        display = self.rng.choice([*_ORGANISATIONS, "Sam", "🏀🏀🏀", "J", "", "Mrs. Smith"])
        return LabelledIdentity(self._new_identity(display), None, "junk", "junk")


# --- accounts and snapshots -----------------------------------------------------------------


def make_accounts(
    count: int, synthetic: SyntheticDirectory, rng: random.Random, platform: str = "twitter"
) -> list[RegisteredAccount]:
    """Registered accounts, each held by directory staff; a fifth are closed (protected) accounts."""
    staff = [p for p in synthetic.people if p.role in ("staff", "administrator") and p.status == "active"]
    accounts = []
    for serial in range(count):
        holders = rng.sample(staff, k=min(len(staff), rng.choice([1, 2, 2, 3])))
        school = holders[0].school or "Division Office"
        accounts.append(
            RegisteredAccount(
                key=f"acct-{serial:04d}",
                platform=platform,
                connector=platform,
                handle=f"school_account_{serial:04d}",
                platform_id=platform_id(serial, offset=1_800_000_000_000_000_000),
                school=school,
                purpose="School news and activities",
                kind="joint" if len(holders) > 1 else "individual",
                audience="closed" if rng.random() < 0.2 else "public",
                holders=[h.person_id for h in holders],
                declared_admins=[h.person_id for h in holders],
                reviewed_by=holders[0].person_id,
                reviewed_on=date(2026, 9, 1),
                password_reset_on=date(2025, 1, 1) + timedelta(days=rng.randrange(0, 690)),
            )
        )
    return accounts


def make_snapshot(
    account: RegisteredAccount,
    factory: IdentityFactory,
    *,
    participants: int = 2000,
    posts: int = 50,
    interactions: int = 200,
    taken_at: datetime | None = None,
    truth: dict[str, str | None] | None = None,
) -> AccountSnapshot:
    """One complete snapshot: the holders as admins (sometimes with an extra, unregistered admin),
    participants and interaction actors drawn from `factory`.

    Pass a dict as `truth` to collect the ground truth: Identity.key -> person id (None: outsider).
    """
    rng = factory.rng
    taken_at = taken_at or datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
    labels = [factory.sample() for _ in range(participants)]
    admins = [factory.identity_of(factory.person(holder)) for holder in account.holders]
    if rng.random() < 0.1:  # an admin nobody registered
        admins.append(factory.sample())
    if truth is not None:
        truth.update((label.identity.key, label.person_id) for label in labels + admins)
    post_list = _posts(account, posts, taken_at)
    people = [label.identity for label in labels]
    complete = CollectionStatus(state=CollectionState.COMPLETE)
    return AccountSnapshot(
        account_key=account.key,
        platform=account.platform,
        taken_at=taken_at,
        profile=Profile(id=account.platform_id, handle=account.handle, closed=account.audience == "closed"),
        admins=[AdminRole(identity=label.identity) for label in admins],
        participants=people,
        posts=post_list,
        interactions=_interactions(people or [admins[0].identity], post_list, interactions, rng, taken_at),
        collections={str(c): complete for c in Capability},
    )


def _posts(account: RegisteredAccount, count: int, taken_at: datetime) -> list[Post]:
    me = Identity(platform=account.platform, id=account.platform_id, handle=account.handle)
    return [
        Post(
            id=f"{account.key}-p{i}",
            created_at=taken_at - timedelta(hours=i),
            text=f"School update {i}",
            author=me,
        )
        for i in range(count)
    ]


def _interactions(
    pool: Sequence[Identity], posts: Sequence[Post], count: int, rng: random.Random, taken_at: datetime
) -> list[Interaction]:
    return [
        Interaction(
            kind=rng.choice(["reply", "mention", "quote"]),
            actor=rng.choice(pool),
            target=rng.choice(pool) if rng.random() < 0.5 else None,
            post_id=rng.choice(posts).id if posts else None,
            created_at=taken_at - timedelta(minutes=rng.randrange(0, 40_000)),
            text="Great game tonight!",
        )
        for _ in range(count)
    ]


@dataclass
class Division:
    synthetic: SyntheticDirectory
    accounts: list[RegisteredAccount]
    factory: IdentityFactory
    participants_per_account: int
    posts_per_account: int
    interactions_per_account: int

    def snapshots(self, truth: dict[str, str | None] | None = None) -> Iterator[AccountSnapshot]:
        """One snapshot at a time, so a 600,000-participant division never sits in memory at once."""
        for account in self.accounts:
            yield make_snapshot(
                account,
                self.factory,
                participants=self.participants_per_account,
                posts=self.posts_per_account,
                interactions=self.interactions_per_account,
                truth=truth,
            )


def make_division(
    *,
    seed: int = 8,
    people: int = 50_000,
    accounts: int = 300,
    participants_per_account: int = 2000,
    posts_per_account: int = 50,
    interactions_per_account: int = 200,
    population: int | None = None,
    mix: IdentityMix | None = None,
) -> Division:
    """A division whose snapshots are generated on demand.

    `population`: draw participants from a fixed crowd of that many identities, so the same
    people follow several accounts (as students follow their school's teams and clubs); by
    default every participant is a fresh identity.
    """
    synthetic = make_directory(people, seed)
    rng = random.Random(seed + 1)
    factory: IdentityFactory = IdentityFactory(synthetic, rng, mix)
    if population:
        factory = CrowdFactory(factory, population)
    return Division(
        synthetic=synthetic,
        accounts=make_accounts(accounts, synthetic, rng),
        factory=factory,
        participants_per_account=participants_per_account,
        posts_per_account=posts_per_account,
        interactions_per_account=interactions_per_account,
    )


class CrowdFactory(IdentityFactory):
    """Samples from a fixed crowd of labelled identities instead of inventing new ones."""

    def __init__(self, base: IdentityFactory, crowd_size: int) -> None:
        vars(self).update(vars(base))  # same directory, rng and id serials: no id is issued twice
        self.crowd = base.samples(crowd_size)

    def sample(self) -> LabelledIdentity:
        return self.rng.choice(self.crowd)
