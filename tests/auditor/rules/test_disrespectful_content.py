from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest

from auditor.policy import Policy
from auditor.rules._conduct import score_many
from tests.auditor.rules.world import ACCOUNT_ID, World

RULE = "disrespectful-content"
LABELLED = Path(__file__).parents[2] / "data" / "school_conduct_texts.csv"


def measure(policy: Policy) -> tuple[float, float, int]:
    """Precision and recall of the scorer on the labelled school-context texts."""
    with LABELLED.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    scores = score_many([r["text"] for r in rows], policy.conduct)
    tp = sum(1 for r, s in zip(rows, scores, strict=True) if s.fired and r["label"] == "1")
    fp = sum(1 for r, s in zip(rows, scores, strict=True) if s.fired and r["label"] == "0")
    fn = sum(1 for r, s in zip(rows, scores, strict=True) if not s.fired and r["label"] == "1")
    return tp / (tp + fp), tp / (tp + fn), len(rows)


def test_precision_on_the_labelled_school_texts(capsys: pytest.CaptureFixture[str]) -> None:
    precision, recall, count = measure(Policy())
    with capsys.disabled():
        print(f"\ndisrespectful-content on {count} labelled texts: precision {precision:.3f}, recall {recall:.3f}")
    assert count >= 200
    assert precision >= 0.9
    assert recall >= 0.75  # a floor, so a change that silences the rule does not pass


@pytest.mark.parametrize(
    "text",
    [
        "We killed it tonight! Proud of every Hawk",
        "Senior girls crushed them 3–0",  # noqa: RUF001 (an en dash, as scores are written)
        "Our robotics team destroyed the competition at regionals",
        "Ugly sweater day is Thursday",
        "Reminder: trash pickup for the spring clean-up is Friday",
        "Break a leg to the drama club on opening night!",
    ],
)
def test_school_and_sports_idiom_does_not_fire(world: World, text: str) -> None:
    world.post(text)
    assert world.run(RULE) == []


@pytest.mark.parametrize(
    ("text", "signal"),
    [
        ("These parents are idiots for complaining about the field trip", "lexicon: idiots"),
        ("The new teacher is completely incompetent", "lexicon: incompetent"),
        ("That fucking bus was late again", "classifier:"),
    ],
)
def test_the_accounts_disparaging_post_fires_as_likely_medium(world: World, text: str, signal: str) -> None:
    post = world.post(text, "p7")

    [result] = world.run(RULE)

    assert result.subject == "post:p7"
    assert result.confidence == "likely"
    assert result.severity is None  # the rule's medium
    assert any(s.startswith(signal) for s in result.evidence["signals"])
    assert result.evidence["url"] == post.url
    assert result.evidence["excerpt"]


def test_a_staff_reply_on_the_account_is_scored_but_a_students_is_not(world: World) -> None:
    teacher = world.known("E1", "staff")
    student = world.known("S1", "student")
    world.interaction(teacher, None, "Shut up and sit down if you don't like the rules")
    world.interaction(student, None, "this test was stupid")

    [result] = world.run(RULE)

    assert result.evidence["author"] == "E1"
    assert result.subject.startswith("reply:")


def test_the_accounts_own_reply_fires(world: World) -> None:
    world.interaction(world.identity("hillsidehigh", ACCOUNT_ID), None, "What a stupid question from a parent")
    [result] = world.run(RULE)
    assert result.evidence["author"] == "the account"


def test_students_names_and_handles_are_masked_in_the_excerpt(world: World) -> None:
    world.known("300100001", "student")  # First300100001 Last300100001, handle h_300100001
    world.post("First300100001 Last300100001 (@h_300100001) is a disgrace to the school, student 300100001")

    [result] = world.run(RULE)

    shown = result.evidence["excerpt"]
    assert "First300100001" not in shown and "Last300100001" not in shown and "h_300100001" not in shown
    assert "300100001" not in shown
    assert "[student name masked]" in shown


def test_the_policy_lexicon_and_idioms_are_editable(world: World) -> None:
    world.post("The Eastview Eagles are chumps")
    assert world.run(RULE) == []
    world.policy = Policy(conduct={"lexicon": ["chumps"]})
    [result] = world.run(RULE)
    assert result.evidence["signals"] == ["lexicon: chumps"]
    world.policy = Policy(conduct={"lexicon": ["chumps"], "idioms": [r"\beagles are chumps\b"]})
    assert world.run(RULE) == []


def test_the_model_ships_in_the_package_and_loads_without_network() -> None:
    # A fresh interpreter whose sockets refuse to connect: loading and scoring must still work.
    code = (
        "import socket\n"
        "def refuse(*a, **k):\n    raise OSError('network used')\n"
        "socket.socket.connect = refuse\nsocket.create_connection = refuse\n"
        "from profanity_check import predict_prob\n"
        "print(float(predict_prob(['you are a stupid idiot'])[0]) > 0.9)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "True"
