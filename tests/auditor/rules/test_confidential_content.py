from __future__ import annotations

import pytest

from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "confidential-content"


@pytest.mark.parametrize(
    ("text", "secret", "kind"),
    [
        ("Robotics laptop login: password: Gears2026!", "Gears2026!", "password or credential"),
        ("wifi pwd=hhs-guest-77 for visitors", "hhs-guest-77", "password or credential"),
        ("The password is Robots26 for the shared drive", "Robots26", "password or credential"),
        ("Congrats to student 300100004 on the award", "300100004", "student number"),
        ("Questions? Text Ms. L at (780) 555-0199", "(780) 555-0199", "phone number"),
        ("Call 780.555.0123 tonight", "780.555.0123", "phone number"),
        ("Call +1 780-555-0123 tonight", "780-555-0123", "phone number"),
        ("Drop-off at 4711 Birch Crescent after 5", "4711 Birch Crescent", "home address"),
        ("Pick-up at 10234 105 Street NW", "10234 105 Street NW", "home address"),
        ("Email Ava at ava.k.2009@gmail.com", "ava.k.2009@gmail.com", "e-mail address"),
    ],
)
def test_each_kind_is_found_and_masked(world: World, text: str, secret: str, kind: str) -> None:
    post = world.post(text, "p9")

    [result] = world.run(RULE)

    assert result.subject == "post:p9"
    assert kind in result.evidence["kinds"]
    assert secret not in result.evidence["excerpt"]
    assert f"[{kind} masked]" in result.evidence["excerpt"]
    assert secret not in result.message
    assert result.evidence["url"] == post.url


@pytest.mark.parametrize(
    "text",
    [
        "Reset your password regularly!",
        "The password is required to log in",
        "Join 20 students on the way to the game",
        "Class of 2026: 180 graduates",
        "Grade 9 robotics meets in room 104",
    ],
)
def test_ordinary_posts_pass(world: World, text: str) -> None:
    world.post(text)
    assert world.run(RULE) == []


def test_several_kinds_in_one_post(world: World) -> None:
    world.post("Student 300100004 lives at 12 Elm Street, phone 780-555-0101")

    [result] = world.run(RULE)
    assert set(result.evidence["kinds"]) == {"student number", "home address", "phone number"}
    assert not any(value in result.evidence["excerpt"] for value in ("300100004", "12 Elm Street", "0101"))


def test_the_accounts_own_replies_count_but_others_comments_do_not(world: World) -> None:
    me = world.identity("hillsidehigh", platform_id=ACCOUNT_ID)
    parent = world.stranger("a_parent")
    world.interaction(me, parent, "DM us, or call 780-555-0100", kind="reply", url="https://example.test/c1")
    world.interaction(parent, None, "my number is 780-555-0177", kind="comment")
    world.post("a visitor's post: 780-555-0188", "v1", author=parent)

    [result] = world.run(RULE)
    assert result.subject == "reply:https://example.test/c1"
    assert result.evidence["content"] == "reply"


def test_student_number_pattern_from_policy(world: World) -> None:
    world.policy.student_number_pattern = r"\bS\d{6}\b"
    world.post("Well done S123456")

    [result] = world.run(RULE)
    assert result.evidence["kinds"] == ["student number"]


def test_excerpt_of_a_long_post_shows_the_masked_part(world: World) -> None:
    world.post("Update. " + "Lots of news this week. " * 30 + "Lost phone? Call 780-555-0142. " + "More. " * 80)

    [result] = world.run(RULE)

    excerpt = result.evidence["excerpt"]
    assert len(excerpt) <= 280
    assert "[phone number masked]" in excerpt
    assert excerpt.startswith("…") and excerpt.endswith("…")


def test_division_email_domains_are_not_personal() -> None:
    from auditor.rules._pii import detectors, find_and_mask

    found = detectors(r"\b\d{9}\b", ["phrd.ab.ca"])
    masked, kinds = find_and_mask("Questions: office@hillside.phrd.ab.ca or ava.k@gmail.com", found)
    assert kinds == ["e-mail address"]
    assert "office@hillside.phrd.ab.ca" in masked and "ava.k@gmail.com" not in masked
