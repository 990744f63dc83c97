from __future__ import annotations

from models.snapshot import Identity
from tests.auditor.rules.world import World

RULE = "staff-student-interaction"


def _pair(world: World) -> tuple[Identity, Identity]:
    return world.known("E2"), world.known("300100003", role="student")


def test_outside_any_activity_is_high_with_both_identities(world: World) -> None:
    staff, student = _pair(world)
    interaction = world.interaction(staff, student, "See you Saturday at the mall?")

    [result] = world.run(RULE)

    assert result.severity is None  # the rule's high default
    assert result.confidence == "certain"
    assert result.subject == f"{interaction.url}|{staff.key}|{student.key}"
    assert result.evidence["staff"]["person_id"] == "E2"
    assert result.evidence["student"]["person_id"] == "300100003"
    assert result.evidence["student"]["match_method"] == "declared-handle"
    assert result.evidence["interaction"]["kind"] == "reply"
    assert result.evidence["excerpt"] == "See you Saturday at the mall?"
    assert "sponsors no registered activity" in result.evidence["why_not_covered"]


def test_student_to_staff_direction_is_the_same_finding(world: World) -> None:
    staff, student = _pair(world)
    world.interaction(student, staff, "@teacher can you help", kind="mention")

    [result] = world.run(RULE)
    assert result.evidence["staff"]["person_id"] == "E2"


def test_account_registered_for_the_sponsors_activity(world: World) -> None:
    staff, student = _pair(world)
    world.activity("robotics", ["E2"], accounts=["hhs-main"])
    world.interaction(staff, student, "great build today")

    assert world.run(RULE) == []


def test_account_activity_field_also_registers_it(world: World) -> None:
    staff, student = _pair(world)
    world.activity("robotics", ["E2"])
    world.account_is(activity="robotics")
    world.interaction(staff, student, "great build today")

    assert world.run(RULE) == []


def test_activity_sponsored_by_someone_else_does_not_cover(world: World) -> None:
    staff, student = _pair(world)
    world.activity("drama", ["E3"], accounts=["hhs-main"], hashtags=["#HHSDrama"])
    world.interaction(staff, student, "loved it #HHSDrama")

    [result] = world.run(RULE)
    assert "sponsors no registered activity" in result.evidence["why_not_covered"]


def test_hashtag_in_text_declared_tags_or_thread_covers(world: World) -> None:
    staff, student = _pair(world)
    world.activity("robotics", ["E2"], hashtags=["#HHSRobotics"])
    world.interaction(staff, student, "nice work #hhsrobotics")
    world.interaction(staff, student, "nice work", hashtags=["HHSRobotics"])
    world.post("Competition day! #HHSRobotics", "t1")
    world.interaction(staff, student, "proud of you", thread_id="t1")

    assert world.run(RULE) == []


def test_keyword_covers_but_only_as_a_whole_word(world: World) -> None:
    staff, student = _pair(world)
    world.activity("robotics", ["E2"], keywords=["FIRST Tech", "robotics"])
    world.interaction(staff, student, "see you at first tech practice")
    assert world.run(RULE) == []

    world.interaction(staff, student, "my nanorobotics hobby")
    [result] = world.run(RULE)
    assert "robotics" in result.evidence["why_not_covered"]
    assert "hashtags or keywords" in result.evidence["why_not_covered"]


def test_fuzzy_match_is_medium_and_likely(world: World) -> None:
    staff = world.fuzzy("E2")
    student = world.known("300100003", role="student")
    world.interaction(staff, student, "hey")

    [result] = world.run(RULE)
    assert result.severity == "medium"
    assert result.confidence == "likely"
    assert result.evidence["staff"]["match_method"] == "fuzzy-name"


def test_not_staff_and_student(world: World) -> None:
    staff, student = _pair(world)
    other_student = world.known("300100004", role="student")
    world.interaction(student, other_student, "hey")
    world.interaction(staff, world.known("E5"), "meeting?")
    world.interaction(staff, world.stranger("unknown_kid"), "hi")
    world.interaction(student, None, "comment on the page", kind="comment")

    assert world.run(RULE) == []


def test_excerpt_is_truncated_and_masked(world: World) -> None:
    staff, student = _pair(world)
    world.interaction(staff, student, "call me at 780-555-0142 " + "x" * 300)

    [result] = world.run(RULE)
    excerpt = result.evidence["excerpt"]
    assert len(excerpt) <= 140
    assert "780-555-0142" not in excerpt and "[phone number masked]" in excerpt
