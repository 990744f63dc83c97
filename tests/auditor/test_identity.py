"""Identity resolution: declared ids and handles decide; display names only ever suggest."""

from __future__ import annotations

import random

import emoji
import pytest
from rapidfuzz import fuzz

import auditor.identity as identity_module
from auditor.directory import Directory, Match, MatchMethod
from auditor.identity import IdentityResolver, normalise_name
from auditor.policy import MatchingPolicy
from models.snapshot import Identity
from models.tables import Person, PersonIdentity

POLICY = MatchingPolicy()  # accept >= 92, candidate >= 80, two tokens, five letters


def person(person_id: str, first: str, last: str, preferred: str | None = None, role: str = "staff") -> Person:
    return Person(person_id=person_id, role=role, first_name=first, last_name=last, preferred_name=preferred)


PEOPLE = [
    person("E1001", "Margaret", "Chen", role="administrator"),
    person("E1002", "David", "Okafor", preferred="Dave"),
    person("E1003", "Sarah", "Lindqvist"),
    person("E1004", "Michael", "Whitford"),
    person("E1005", "Robert", "Jones", preferred="Skip"),
    person("E1006", "José", "Núñez"),
    person("E1007", "Katherine", "O'Brien"),
    person("300100001", "Ava", "Kowalski", role="student"),
    person("300100004", "Emma", "Martin", role="student"),
    person("300100009", "Emma", "Martin", role="student"),  # a namesake: two students, one name
    person("300100010", "Al", "Li", role="student"),
]
DECLARED = [
    PersonIdentity(person_id="E1002", platform="twitter", value="mr_okafor"),
    PersonIdentity(person_id="E1002", platform="facebook", value="61550000000002"),
    PersonIdentity(person_id="300100001", platform="twitter", value="1500000000000000001"),
]


@pytest.fixture(scope="module")
def resolver() -> IdentityResolver:
    directory = Directory(people={p.person_id: p for p in PEOPLE}, identities=DECLARED)
    return IdentityResolver(directory, POLICY)


def named(display_name: str, platform: str = "twitter", serial: int = 1) -> Identity:
    return Identity(platform=platform, id=f"900{serial}", handle=f"someone{serial}", display_name=display_name)


# --- exact ------------------------------------------------------------------------------------


def test_a_declared_platform_id_decides_with_certainty(resolver: IdentityResolver) -> None:
    match = resolver.match(Identity(platform="facebook", id="61550000000002", display_name="Page Admin"))
    assert (match.person_id, match.method, match.score) == ("E1002", MatchMethod.DECLARED_ID, 100.0)
    assert match.certain


@pytest.mark.parametrize("handle", ["mr_okafor", "@mr_okafor", "@MR_Okafor", " Mr_OKAFOR "])
def test_a_declared_handle_matches_whatever_its_case_or_at_sign(resolver: IdentityResolver, handle: str) -> None:
    match = resolver.match(Identity(platform="twitter", id="777", handle=handle, display_name="Totally Different"))
    assert (match.person_id, match.method) == ("E1002", MatchMethod.DECLARED_HANDLE)
    assert match.certain


def test_a_declared_id_beats_a_display_name_naming_someone_else(resolver: IdentityResolver) -> None:
    match = resolver.match(Identity(platform="twitter", id="1500000000000000001", display_name="Margaret Chen"))
    assert (match.person_id, match.method) == ("300100001", MatchMethod.DECLARED_ID)


def test_declarations_are_per_platform(resolver: IdentityResolver) -> None:
    """The Facebook id of E1002 on YouTube is just a string: no exact match there."""
    match = resolver.match(Identity(platform="youtube", id="61550000000002", display_name="Channel"))
    assert match.person_id is None
    assert match.method is MatchMethod.NONE


# --- fuzzy: each kind of noise ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("display_name", "expected"),
    [
        ("MARGARET CHEN", "E1001"),  # case
        ("margaret chen", "E1001"),
        ("Jose Nunez", "E1006"),  # accents dropped
        ("Jösé Nüñez", "E1006"),  # accents changed
        ("🏀 Ava Kowalski ✨🇨🇦", "300100001"),  # emoji, flag
        ("Margaret Chen 👩‍🏫", "E1001"),  # emoji with zero-width joiner
        ("Sarah.Lindqvist!!", "E1003"),  # punctuation
        ("~sarah_lindqvist~", "E1003"),
        ("Katherine OBrien", "E1007"),  # apostrophe
        ("Chen, Margaret", "E1001"),  # "Last, First"
        ("Lindqvist, Sarah A.", "E1003"),  # "Last, First Middle-initial"
        ("Michael J. Whitford", "E1004"),  # middle initial
        ("Mike Whitford", "E1004"),  # nickname
        ("Kate O'Brien", "E1007"),
        ("Dave Okafor", "E1002"),  # preferred name (also a nickname)
        ("Skip Jones", "E1005"),  # preferred name that is no nickname
        ("Robert Jones", "E1005"),  # legal name of someone with a preferred name
        ("Mr. David Okafor", "E1002"),  # honorific
        ("Coach Mike Whitford", "E1004"),
        ("Dr. Margaret Chen, PhD", "E1001"),
        ("Sarah Lindqvist (she/her)", "E1003"),  # decorations
        ("Sarah Lindqvist | HHS Drama", "E1003"),
        ("Margret Chen", "E1001"),  # one typo in the first name
        ("Margaret Chenn", "E1001"),  # one typo in the last name
        ("Margaret Khen", "E1001"),  # one typo on the first letter: blocking must survive it
        ("Sarah Lindqvsit", "E1003"),  # transposed letters
    ],
)
def test_a_noisy_display_name_is_a_likely_match_never_a_certain_one(
    resolver: IdentityResolver, display_name: str, expected: str
) -> None:
    # On YouTube nobody declares an account: a name match there is not a second account of a declared person.
    match = resolver.match(named(display_name, platform="youtube"))
    assert match.person_id == expected, match
    assert match.method is MatchMethod.FUZZY_NAME
    assert POLICY.fuzzy_accept <= match.score <= 100
    assert not match.certain


def test_the_score_of_a_fuzzy_match_is_the_rapidfuzz_score(resolver: IdentityResolver) -> None:
    match = resolver.match(named("Margaret Chenn"))
    assert match.score == pytest.approx(fuzz.token_sort_ratio("margaret chenn", "margaret chen"))
    assert match.evidence()["match_method"] == "fuzzy-name"


# --- fuzzy: refusals ----------------------------------------------------------------------------


def test_namesakes_in_the_directory_match_nobody(resolver: IdentityResolver) -> None:
    match = resolver.match(named("Emma Martin"))
    assert match.person_id is None
    assert match.candidate_id is None
    assert match.method is MatchMethod.NONE
    assert match.note == "2 namesakes in directory"


def test_namesakes_behind_noise_still_match_nobody(resolver: IdentityResolver) -> None:
    assert resolver.match(named("MARTIN, Emma 🎭")).note == "2 namesakes in directory"


def test_a_name_equally_close_to_two_people_suggests_neither(resolver: IdentityResolver) -> None:
    match = resolver.match(named("Emma Marten"))  # one letter away from both Emma Martins
    assert (match.person_id, match.candidate_id, match.method) == (None, None, MatchMethod.NONE)
    assert match.note == "2 directory people equally close"


@pytest.mark.parametrize("display_name", ["Sam", "Margaret", "Mrs. Chen", "Al Li", "ava_k_07", "M. Chen"])
def test_names_too_short_to_tell_anyone_apart_never_match(resolver: IdentityResolver, display_name: str) -> None:
    match = resolver.match(named(display_name))
    assert match.person_id is None
    assert match.candidate_id is None
    assert match.note == "name too short to match"


def test_the_short_name_policy_is_the_divisions_to_set() -> None:
    directory = Directory(people={p.person_id: p for p in PEOPLE})
    lenient = MatchingPolicy(min_name_length=4)
    assert IdentityResolver(directory, lenient).match(named("Al Li")).person_id == "300100010"


@pytest.mark.parametrize("display_name", ["Zebediah Quartermaine", "Hillside Hawks Booster Club", "Priya Raman"])
def test_unrelated_names_match_nobody_and_suggest_nobody(resolver: IdentityResolver, display_name: str) -> None:
    match = resolver.match(named(display_name))
    assert (match.person_id, match.candidate_id, match.method) == (None, None, MatchMethod.NONE)


def test_a_resemblance_below_the_accept_threshold_is_reported_as_a_candidate(
    resolver: IdentityResolver,
) -> None:
    match = resolver.match(named("Sarah Lundkvist"))
    assert match.person_id is None
    assert match.method is MatchMethod.NONE
    assert match.candidate_id == "E1003"
    assert match.candidate_score is not None
    assert POLICY.fuzzy_candidate <= match.candidate_score < POLICY.fuzzy_accept
    assert match.evidence()["best_candidate"] == "E1003"


def test_the_accept_threshold_comes_from_the_policy() -> None:
    directory = Directory(people={p.person_id: p for p in PEOPLE})
    strict = IdentityResolver(directory, MatchingPolicy(fuzzy_accept=100))
    match = strict.match(named("Margaret Chenn"))
    assert (match.person_id, match.candidate_id) == (None, "E1001")
    assert strict.match(named("Margaret Chen")).person_id == "E1001"


def test_an_identity_without_any_name_still_gets_a_decision(resolver: IdentityResolver) -> None:
    match = resolver.match(Identity(platform="twitter", id="4242"))
    assert (match.person_id, match.method, match.note) == (None, MatchMethod.NONE, "no display name to match")


# --- batches ------------------------------------------------------------------------------------


def test_resolve_gives_every_identity_a_match_keyed_by_identity_key() -> None:
    identities = [
        Identity(platform="twitter", handle="@MR_OKAFOR"),
        named("Chen, Margaret", serial=2),
        named("Chen, Margaret", serial=3),  # the same name on another account: same verdict
        named("Emma Martin", serial=4),
        named("", serial=5),
    ]
    directory = Directory(people={p.person_id: p for p in PEOPLE}, identities=DECLARED)
    matches = IdentityResolver(directory, POLICY).resolve(identities)
    assert set(matches) == {identity.key for identity in identities}
    assert all(isinstance(match, Match) for match in matches.values())
    assert [matches[i.key].person_id for i in identities] == ["E1002", "E1001", "E1001", None, None]
    assert [matches[i.key].identity for i in identities] == identities


def test_fuzzy_matches_are_never_certain_across_a_noisy_crowd(resolver: IdentityResolver) -> None:
    names = [f"{p.first_name} {p.last_name}" for p in PEOPLE] + ["Chen, Margaret", "Mike Whitford"]
    matches = resolver.resolve(named(name, serial=i) for i, name in enumerate(names))
    fuzzy = [m for m in matches.values() if m.method is MatchMethod.FUZZY_NAME]
    assert len(fuzzy) >= len(PEOPLE) - 3  # everyone but the namesakes and the too-short name
    assert not any(match.certain for match in fuzzy)


def test_any_emoji_around_a_name_is_ignored() -> None:
    plain = normalise_name("Ava Kowalski")
    for symbol in emoji.EMOJI_DATA:
        assert normalise_name(f"{symbol}Ava {symbol} Kowalski{symbol}") == plain, repr(symbol)


def test_only_the_roster_block_around_a_name_is_scored(monkeypatch: pytest.MonkeyPatch) -> None:
    """Blocking: a typo'd name is compared with a handful of names, not the whole roster."""
    rng = random.Random(8)
    syllables = ["ka", "lo", "mi", "ren", "do", "sa", "vi", "tor", "ne", "bu", "ga", "fi"]

    def word() -> str:
        return "".join(rng.choice(syllables) for _ in range(3)).capitalize()

    roster = [person(f"P{i}", word(), word()) for i in range(5_000)] + [person("E1001", "Margaret", "Chen")]
    resolver = IdentityResolver(Directory(people={p.person_id: p for p in roster}), POLICY)
    calls: list[str] = []
    real_ratio = identity_module.fuzz.ratio

    def counting_ratio(a: str, b: str, score_cutoff: float | None = None) -> float:
        calls.append(b)
        return real_ratio(a, b, score_cutoff=score_cutoff)

    monkeypatch.setattr(identity_module.fuzz, "ratio", counting_ratio)
    assert resolver.match(named("Margaret Khen")).person_id == "E1001"
    assert 0 < len(calls) < 50


# --- a second account under the name of someone who declares one --------------------------------


def test_a_name_match_to_someone_who_declares_another_account_there_is_a_namesake(resolver: IdentityResolver) -> None:
    """Ava declares her X account; an X account with her exact name is more often a namesake's."""
    match = resolver.match(named("Ava Kowalski", platform="twitter", serial=41))

    assert match.person_id is None
    assert match.method is MatchMethod.NONE
    assert (match.candidate_id, match.candidate_score) == ("300100001", 100.0)
    assert match.note is not None and "declares a different account on this platform" in match.note
    assert match.evidence()["best_candidate"] == "300100001"


def test_a_declaration_on_another_platform_does_not_lower_a_name_match(resolver: IdentityResolver) -> None:
    """Ava declares nothing on Facebook: there her name matches her, as likely as any name."""
    match = resolver.match(named("Ava Kowalski", platform="facebook", serial=42))

    assert (match.person_id, match.method) == ("300100001", MatchMethod.FUZZY_NAME)


def test_the_policy_can_accept_names_of_people_who_declare_an_account() -> None:
    directory = Directory(people={p.person_id: p for p in PEOPLE}, identities=DECLARED)
    trusting = IdentityResolver(directory, MatchingPolicy(match_names_of_declared_people=True))

    match = trusting.match(named("Ava Kowalski", platform="twitter", serial=43))

    assert (match.person_id, match.method) == ("300100001", MatchMethod.FUZZY_NAME)
    assert not match.certain
