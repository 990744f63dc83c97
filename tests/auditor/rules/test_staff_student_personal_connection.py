from __future__ import annotations

from auditor.directory import Directory
from auditor.personal_accounts import PersonalFollowing
from auditor.policy import Policy
from auditor.rules.base import DivisionContext, DivisionResult, load_rules, principal_only_rules
from models.snapshot import CollectionState, Identity
from models.tables import Person, PersonIdentity
from tests.auditor.rules.world import AS_OF

RULE = "staff-student-personal-connection"


def person(person_id: str, role: str) -> Person:
    return Person(person_id=person_id, role=role, school="Hillside High School", first_name="A", last_name="B")


def run(entries: list[PersonalFollowing], switch: bool = True) -> list[DivisionResult]:
    people = [person("E1", "staff"), person("S1", "student"), person("P1", "parent")]
    declared = [
        PersonIdentity(person_id="E1", platform="twitter", value="e1_home"),
        PersonIdentity(person_id="S1", platform="twitter", value="s1_student"),
        PersonIdentity(person_id="P1", platform="twitter", value="p1_parent"),
    ]
    directory = Directory({p.person_id: p for p in people}, declared, personal=frozenset({("twitter", "e1_home")}))
    context = DivisionContext(
        accounts=[],
        directory=directory,
        policy=Policy(personal_connections=switch),
        as_of=AS_OF,
        candidates=[],
        ignored=[],
        connections=entries,
    )
    results = list(load_rules()[RULE].check(context))
    assert all(isinstance(r, DivisionResult) for r in results)
    return results  # type: ignore[return-value]


def x(handle: str, platform_id: str = "1") -> Identity:
    return Identity(platform="twitter", id=platform_id, handle=handle)


def following(*who: Identity, state: CollectionState = CollectionState.COMPLETE) -> PersonalFollowing:
    return PersonalFollowing("E1", "twitter", "e1_home", state, list(who), reason="why")


def test_following_a_students_declared_handle_fires_for_the_staff_members_school() -> None:
    [result] = run([following(x("S1_Student"), x("p1_parent", "2"), x("someone_else", "3"))])

    assert result.subject == "follows|S1"
    assert result.account is not None and result.account.school == "Hillside High School"
    assert result.account.key == "personal:twitter:e1_home"
    assert result.evidence == {"staff": "E1", "student": "S1", "relation": "follows"}
    assert "A B" not in result.message  # no names of minors, only directory ids


def test_nothing_when_the_switch_is_off_or_no_student_is_followed() -> None:
    assert run([following(x("s1_student"))], switch=False) == []
    assert run([following(x("p1_parent"), x("stranger", "9"))]) == []


def test_an_unreadable_list_is_said_never_taken_for_no_students() -> None:
    [result] = run([following(state=CollectionState.UNAVAILABLE)])
    assert result.subject == "following-unreadable"
    assert result.evidence["reason"] == "why"


def test_a_partial_list_reports_what_it_found_and_that_it_is_partial() -> None:
    results = run([following(x("s1_student"), state=CollectionState.PARTIAL)])
    assert {r.subject for r in results} == {"follows|S1", "following-partial"}


def test_the_rule_is_opt_in_and_for_principals_only() -> None:
    meta = load_rules()[RULE].meta
    assert meta.opt_in == "personal_connections" and meta.scope == "division"
    assert principal_only_rules() == {RULE}
    assert Policy().personal_connections is False


def test_auditor_rules_lists_it_as_off_until_the_policy_switch_is_on() -> None:
    from auditor.rules.base import rule_entries

    by_id = {e["id"]: e for e in rule_entries()}
    assert {"disrespectful-content", "personal-use", RULE} <= set(by_id)
    assert by_id[RULE]["enabled"] is False and by_id["personal-use"]["enabled"] is True
    assert {e["id"]: e for e in rule_entries(Policy(personal_connections=True))}[RULE]["enabled"] is True
