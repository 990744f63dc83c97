from __future__ import annotations

from datetime import date

from auditor.identity import IdentityResolver
from models.snapshot import Capability, CollectionState, Identity, Profile
from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "non-school-participant"


def _closed(world: World) -> None:
    world.account_is(platform="twitter", audience="closed")
    world.snap.profile = Profile(id=ACCOUNT_ID, handle="hillsidehigh", closed=True)


def test_closed_account_flags_each_outsider_with_how_matching_was_tried(world: World) -> None:
    _closed(world)
    world.participant(world.known("300100001", role="student"))
    world.participant(world.known("E1"))
    parent = world.known("P1", role="parent")
    world.participant(parent)
    stranger = world.stranger("random_fan", candidate="300100009", score=84.0)
    world.participant(stranger)

    results = {r.subject: r for r in world.run(RULE)}

    assert set(results) == {parent.key, stranger.key}
    assert results[parent.key].evidence["reason"] == "directory role parent is not part of the school body"
    assert results[stranger.key].evidence["match_method"] == "none"
    assert results[stranger.key].evidence["best_candidate"] == "300100009"
    assert results[stranger.key].evidence["best_candidate_score"] == 84.0
    assert all(r.severity is None for r in results.values())  # the rule's high default


def test_parents_count_when_the_policy_adds_them(world: World) -> None:
    _closed(world)
    world.policy.school_body_roles = ["student", "staff", "administrator", "trustee", "parent"]
    world.participant(world.known("P1", role="parent"))

    assert world.run(RULE) == []


def test_departed_staff_member_is_no_longer_school_body(world: World) -> None:
    _closed(world)
    world.participant(world.known("E4", departed=date(2026, 6, 30)))

    [result] = world.run(RULE)
    assert result.evidence["reason"] == "has left the Division"


def test_fuzzy_matched_participant_counts_as_matched(world: World) -> None:
    _closed(world)
    world.participant(world.fuzzy("300100001", role="student"))
    assert world.run(RULE) == []

    world.participant(world.fuzzy("P1", role="parent"))
    [result] = world.run(RULE)
    assert result.confidence == "likely"
    assert result.evidence["match_method"] == "fuzzy-name"


def test_public_account_gives_one_info_count_without_names(world: World) -> None:
    world.account_is(platform="twitter", audience="public")
    world.participant(world.known("300100001", role="student"))
    world.participant(world.fuzzy("300100002", role="student"))
    for n in range(3):
        world.participant(world.stranger(f"outsider_{n}"))

    [result] = world.run(RULE)

    assert result.subject == "summary"
    assert result.severity == "info"
    assert result.evidence["outside_school_body"] == 3
    assert result.evidence["participants_checked"] == 5
    assert result.evidence["matched_by_name_only"] == 1
    assert "outsider" not in repr(result.evidence) + result.message


def test_public_account_with_only_school_body_has_no_finding(world: World) -> None:
    world.participant(world.known("300100001", role="student"))
    assert world.run(RULE) == []


def test_observed_audience_wins_and_mismatch_is_noted(world: World) -> None:
    world.account_is(platform="twitter", audience="public")
    world.snap.profile = Profile(id=ACCOUNT_ID, closed=True)  # the account is protected
    outsider = world.stranger("outsider")
    world.participant(outsider)

    [result] = world.run(RULE)

    assert result.subject == outsider.key
    assert result.evidence["audience_note"] == "registered as public but the platform shows it closed"


def test_declared_audience_when_the_platform_does_not_say(world: World) -> None:
    world.account_is(platform="twitter", audience="closed")
    world.participant(world.stranger("outsider"))

    [result] = world.run(RULE)
    assert result.evidence["audience_observed"] is None


def test_commenters_are_participants_on_facebook_but_not_the_page_or_its(world: World) -> None:
    world.account_is(platform="facebook", audience="closed")
    world.without(Capability.PARTICIPANTS)
    commenter = world.stranger("commenter")
    page = world.identity("hillsidehigh", platform_id=ACCOUNT_ID)
    world.interaction(commenter, None, "nice", kind="comment")
    world.interaction(page, commenter, "thanks", kind="reply")
    world.interaction(world.its(), None, "hello", kind="comment")

    subjects = [r.subject for r in world.run(RULE)]

    assert commenter.key in subjects
    assert page.key not in subjects and world.its().key not in subjects


def test_closed_account_whose_member_list_no_api_shows_is_never_a_silent_pass(world: World) -> None:
    world.account_is(platform="facebook", audience="closed")
    world.without(Capability.PARTICIPANTS, reason="Groups API removed")

    [result] = world.run(RULE)

    assert result.subject == "participants-unobservable"
    assert result.confidence == "declared"
    assert "manual connector" in result.message


def test_failed_participant_collection_is_left_to_audit_incomplete(world: World) -> None:
    _closed(world)
    world.collection(Capability.PARTICIPANTS, CollectionState.FAILED, reason="auth")

    assert world.run(RULE) == []


# --- a namesake of a student who declares her account --------------------------------------------


def test_namesake_of_a_student_following_a_closed_club_account_is_an_outsider(world: World) -> None:
    """Ava declares her X account; an X follower with her exact name is more often a namesake than Ava.

    Decided: the follower is unmatched, so on a closed account it is an outsider (a finding), `likely`
    rather than `certain` because the name does fit Ava, who is named as best candidate."""
    _closed(world)
    world.account_is(key="hhs-robotics-x", purpose="Robotics club members")
    student = world.known("300100001", role="student")
    world.people["300100001"].first_name, world.people["300100001"].last_name = "Ava", "Kowalski"
    world.participant(student)
    namesake = Identity(platform="twitter", id="1700000000000000042", handle="avak_art", display_name="Ava Kowalski")
    world.participant(namesake)
    resolver = IdentityResolver(world.context().directory, world.policy.matching)
    world.matches[namesake.key] = resolver.match(namesake)  # what the run decides for this follower

    [result] = world.run(RULE)

    assert result.subject == namesake.key
    assert result.confidence == "likely"
    assert result.evidence["reason"] == "not matched to anyone in the directory"
    assert result.evidence["best_candidate"] == "300100001"
    assert "declares a different account" in result.evidence["match_note"]


# --- public accounts: outsiders the policy accepts ---------------------------------------------


def _public_with_parent_and_public(world: World, purpose: str) -> None:
    world.account_is(platform="twitter", audience="public", purpose=purpose)
    world.participant(world.known("300100001", role="student"))
    world.participant(world.known("P1", role="parent"))
    world.participant(world.stranger("local_reader"))


def test_no_count_when_every_outsider_is_accepted_on_a_public_news_account(world: World) -> None:
    world.policy.public_accepted_roles = ["parent"]
    world.policy.public_open_purposes = ["news"]
    _public_with_parent_and_public(world, "School news and announcements")

    assert world.run(RULE) == []


def test_the_count_stays_when_an_outsider_is_not_of_an_accepted_kind(world: World) -> None:
    world.policy.public_accepted_roles = ["parent"]
    world.policy.public_open_purposes = ["news"]
    _public_with_parent_and_public(world, "Grade 11 history class")  # not open to anyone: the public is not

    [result] = world.run(RULE)

    assert (result.subject, result.severity) == ("summary", "info")
    assert (result.evidence["outside_school_body"], result.evidence["accepted_by_policy"]) == (2, 1)


def test_the_policy_can_ask_for_the_count_of_accepted_outsiders(world: World) -> None:
    world.policy.public_accepted_roles = ["parent"]
    world.policy.public_open_purposes = ["news"]
    world.policy.public_outsider_count_always = True
    _public_with_parent_and_public(world, "School news and announcements")

    [result] = world.run(RULE)

    assert (result.subject, result.severity) == ("summary", "info")
    assert (result.evidence["outside_school_body"], result.evidence["accepted_by_policy"]) == (2, 2)


def test_by_default_no_outsider_is_accepted_and_the_count_stays(world: World) -> None:
    """AP 80-06 accepts nobody outside the school body: the defaults change nothing."""
    _public_with_parent_and_public(world, "School news and announcements")

    [result] = world.run(RULE)

    assert result.subject == "summary"
    assert "accepted_by_policy" not in result.evidence
