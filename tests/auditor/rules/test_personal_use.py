from __future__ import annotations

import pytest

from auditor.policy import Policy
from tests.auditor.rules.world import World

RULE = "personal-use"


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("Please help my family with medical bills https://www.gofundme.com/f/help-the-okafors", "fundraiser link"),
        ("My wife's candle shop is open! https://www.etsy.com/shop/CozyCandles", "shop link"),
        ("Proud to announce I'm running for city council this fall", "campaign phrase"),
        ("Re-elect Dave Okafor for trustee on October 20", "campaign phrase"),
        ("Use my code HAWKS10 for 10% off protein powder", "promotion phrase"),
        ("Check out my new book on classroom management, link in bio", "promotion phrase"),
    ],
)
def test_personal_signals_in_the_accounts_posts_fire(world: World, text: str, signal: str) -> None:
    post = world.post(text, "p3")

    [result] = world.run(RULE)

    assert result.subject == "post:p3"
    assert result.confidence == "likely"
    assert result.severity is None  # the rule's low
    assert any(s.startswith(signal) for s in result.evidence["signals"])
    assert result.evidence["url"] == post.url
    assert result.evidence["excerpt"]


@pytest.mark.parametrize(
    "text",
    [
        "Vote for your student council reps in homeroom tomorrow",
        "Students will elect class reps on Friday",
        "Our grade 12s visited city hall to learn how council works",
        "The library has new books! Come check them out",
        "Hot chocolate sale at recess for the grad fund",
        "Great shot on goal by our striker",
        "Read the newsletter at https://hillside.example.ca/news",
    ],
)
def test_school_business_does_not_fire(world: World, text: str) -> None:
    world.post(text)
    assert world.run(RULE) == []


def test_a_fundraiser_tied_to_the_accounts_activity_does_not_fire(world: World) -> None:
    world.account_is(activity="robotics")
    world.activity("robotics", ["E1"], hashtags=["#HHSRobotics"], keywords=["robotics team"])
    world.post("Help send the robotics team to worlds! https://www.gofundme.com/f/hhs-robotics", "p1")
    world.post("Road trip fund #hhsrobotics https://gofundme.com/f/x", "p2")
    assert world.run(RULE) == []


def test_a_fundraiser_naming_another_activity_still_fires(world: World) -> None:
    world.account_is(activity="robotics")
    world.activity("robotics", ["E1"], hashtags=["#HHSRobotics"])
    world.activity("drama", ["E2"], hashtags=["#HHSDrama"])
    world.post("Help my cousin's band #HHSDrama https://www.gofundme.com/f/band")
    assert len(world.run(RULE)) == 1


def test_allowed_domains_in_the_policy_never_fire(world: World) -> None:
    world.post("Grad fund: https://www.gofundme.com/f/hhs-grad-2027")
    assert len(world.run(RULE)) == 1
    world.policy = Policy(personal_use={"allowed_domains": ["gofundme.com"]})
    assert world.run(RULE) == []


def test_only_the_accounts_own_posts_count(world: World) -> None:
    parent = world.stranger("some_parent")
    world.post("Vote for me for mayor!", "p1", author=parent)
    world.interaction(parent, None, "Use my code SAVE20 at my store")
    assert world.run(RULE) == []
