"""Rule helpers that find confidential values in text (credentials, e-mail addresses, phone numbers,
home addresses, student numbers) and mask them, so that a report never repeats them.

The underscore keeps the loader from importing this module as a rule.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True)
class Detector:
    kind: str  # what the reader is told was found
    pattern: re.Pattern[str]
    group: int = 0  # the part to mask (0 = the whole match)


_STREET_TYPES = (
    "Street|St|Avenue|Ave|Road|Rd|Drive|Dr|Boulevard|Blvd|Crescent|Cres|Court|Ct|Lane|Ln|Way|"
    "Place|Pl|Close|Trail|Terrace|Circle|Bay|Gate|Heights|Highway|Hwy|Parkway|Square|Sq"
)

CREDENTIAL = Detector(
    "password or credential",
    re.compile(
        r"(?i)\b(?:password|passwd|pwd|passcode|pin|login|username|user\s?name)\b\s*"
        r"(?:[:=]\s*|\bis\s+(?=\S*[\d!@#$%^&*]))"  # "password: x", "pwd=x", "password is Robots26"
        r"(?!(?:password|passwd|pwd|passcode|pin)\b)(\S+)"  # "login: password: x" masks x
    ),
    group=1,
)
EMAIL = Detector("e-mail address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"))
PHONE = Detector(
    "phone number",
    re.compile(r"(?<![\w-])(?:\+?1[\s.-]?)?(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}\b"),
)
HOME_ADDRESS = Detector(
    "home address",
    # A street number, one to four capitalised or numbered words, then a street type: "12 Elm Street",
    # "10234 105 Street NW". Case-sensitive so "20 students on the way" is not an address.
    re.compile(
        r"\b\d{1,6}\s+(?:(?:[A-Z][\w'.-]*|\d+(?:st|nd|rd|th)?)\s+){1,4}"
        rf"(?:{_STREET_TYPES})\b\.?(?:\s+(?:NW|NE|SW|SE))?"
    ),
)


def detectors(student_number_pattern: str, division_email_domains: Iterable[str] = ()) -> list[Detector]:
    """Order matters: credentials first so "password: 300100001" is reported as a credential."""
    student_number = Detector("student number", re.compile(student_number_pattern))
    return [CREDENTIAL, _email_detector(division_email_domains), PHONE, HOME_ADDRESS, student_number]


def _email_detector(division_domains: Iterable[str]) -> Detector:
    """Addresses at the Division's own domains (a school office) are not personal information."""
    domains = [re.escape(d.strip().lstrip("@").lower()) for d in division_domains if d.strip()]
    if not domains:
        return EMAIL
    own = "|".join(domains)
    return Detector(EMAIL.kind, re.compile(rf"(?i)\b[\w.+-]+@(?!(?:[\w-]+\.)*(?:{own})\b)[\w-]+(?:\.[\w-]+)+\b"))


def find_and_mask(text: str, found: list[Detector]) -> tuple[str, list[str]]:
    """Replace every sensitive value with a label; return the masked text and the kinds found."""
    kinds: list[str] = []
    masked = text
    for detector in found:
        masked, count = _mask_one(masked, detector)
        if count and detector.kind not in kinds:
            kinds.append(detector.kind)
    return masked, kinds


MASK_OPEN = "["
MASKED = " masked]"


def _mask_one(text: str, detector: Detector) -> tuple[str, int]:
    count = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal count
        count += 1
        start, end = match.start(detector.group) - match.start(), match.end(detector.group) - match.start()
        whole = match.group(0)
        return whole[:start] + f"{MASK_OPEN}{detector.kind}{MASKED}" + whole[end:]

    return detector.pattern.sub(replace, text), count


def mask(text: str, student_number_pattern: str) -> str:
    """Text safe to put in a report: every confidential value replaced by a label."""
    return find_and_mask(text, detectors(student_number_pattern))[0]
