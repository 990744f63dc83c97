"""Scoring a text for offensive or disparaging language (disrespectful-content).

Two signals, either of which fires: alt-profanity-check's probability (a linear model over word
n-grams that ships inside the package: nothing is downloaded at run time) at or above the policy's
threshold, and a whole-word hit of the policy's lexicon. School and sports idiom ("we killed it
tonight", "crushed them 3-0") is cut out of the text before either looks at it.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import TYPE_CHECKING, Any

from auditor.policy import ConductPolicy

if TYPE_CHECKING:
    from models.tables import Person  # annotations only: `auditor rules` needs no tables

URL = re.compile(r"https?://\S+|www\.\S+")
MENTION = re.compile(r"@\w+")


@dataclass(frozen=True)
class Score:
    probability: float  # the classifier's, on the text with idioms removed
    terms: tuple[str, ...]  # lexicon hits
    fired: bool

    def signals(self, threshold: float) -> list[str]:
        found = [f"lexicon: {term}" for term in self.terms]
        if self.probability >= threshold:
            found.append(f"classifier: {self.probability:.2f} (threshold {threshold:.2f})")
        return found


@cache
def load_classifier() -> Any:
    """Loaded once, on first use: importing it unpickles the model (about a second)."""
    from profanity_check import predict_prob

    return predict_prob


@lru_cache(maxsize=8)
def _compiled(idioms: tuple[str, ...], lexicon: tuple[str, ...]) -> tuple[re.Pattern[str] | None, re.Pattern[str]]:
    idiom = re.compile("|".join(f"(?:{i})" for i in idioms), re.I) if idioms else None
    terms = sorted((t.strip() for t in lexicon if t.strip()), key=len, reverse=True)
    words = "|".join(r"\s+".join(map(re.escape, t.split())) for t in terms) or r"(?!x)x"
    return idiom, re.compile(rf"(?<![\w'-])({words})(?![\w'-])", re.I)


def cleaned(text: str, policy: ConductPolicy) -> str:
    """The text a score is taken on: links, @handles and idioms removed."""
    idiom, _ = _compiled(tuple(policy.idioms), tuple(policy.lexicon))
    flat = MENTION.sub(" ", URL.sub(" ", text))
    return idiom.sub(" ", flat) if idiom is not None else flat


def score(text: str, policy: ConductPolicy) -> Score:
    return score_many([text], policy)[0]


def score_many(texts: list[str], policy: ConductPolicy) -> list[Score]:
    """One classifier call for all texts (it is vectorised; one call per post would be slow)."""
    if not texts:
        return []
    _, lexicon = _compiled(tuple(policy.idioms), tuple(policy.lexicon))
    bare = [cleaned(t, policy) for t in texts]
    probabilities = [float(p) for p in load_classifier()(bare)]
    scores = []
    for text, probability in zip(bare, probabilities, strict=True):
        terms = tuple(dict.fromkeys(m.group(1).lower() for m in lexicon.finditer(text)))
        scores.append(Score(probability, terms, bool(terms) or probability >= policy.threshold))
    return scores


STUDENT_NAME = "[student name masked]"


def mask_names(text: str, students: list[Person], handles: list[str]) -> str:
    """Students are minors: their names and declared handles never reach a report."""
    names = {n for p in students for n in (p.first_name, p.last_name, p.preferred_name) if n and len(n) > 1}
    masked = text
    if handles:
        pattern = "|".join(re.escape(h.lstrip("@")) for h in sorted(handles, key=len, reverse=True))
        masked = re.sub(rf"@?(?<![\w])(?:{pattern})(?!\w)", STUDENT_NAME, masked, flags=re.I)
    if names:
        pattern = "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))
        masked = re.sub(rf"(?<![\w])(?:{pattern})(?![\w])", STUDENT_NAME, masked, flags=re.I)
    return masked
