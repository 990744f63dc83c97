"""Platform text made safe to show: the one place every report writer (HTML, CSV, Markdown, e-mail
and chat text) neutralises what a hostile name, handle or post could do to its reader.

- Bidirectional override and isolate characters are shown as `<U+202E>`: left in, a handle could
  display as another account's (`\u202esh_edisllih@` reads "@hillside_hs").
- Very long strings are cut with a visible marker that gives the original length: a 10 MB post must
  not make a 10 MB report, nor an e-mail nobody can open.
- Spreadsheet cells that a spreadsheet would read as a formula get a leading `'` (OWASP CSV injection).

report.json is left as it is: it is the canonical data the other files are rendered from.
"""

from __future__ import annotations

import re
from typing import Any

# Characters that reorder the text around them: LRE, RLE, PDF, LRO, RLO and LRI, RLI, FSI, PDI.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Spreadsheets read a cell starting with one of these as a formula; `'` is included so that a cell
# that really starts with a quote keeps it (strip exactly one leading `'` to get the text back).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "'")

TEXT_LIMIT = 10_000  # one string in report.html or report.csv (Excel cells stop at 32,767)
LINE_LIMIT = 300  # one name or reason on a line of summary.md, an e-mail or a chat message
VALUE_LIMIT = 1_000  # one string inside the evidence JSON of a CSV cell, so the cell stays whole JSON


def show_bidi_controls(text: str) -> str:
    """Each bidi control as visible text (`<U+202E>`), so it cannot reorder what is shown."""
    return _BIDI_CONTROLS.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def truncate(text: str, limit: int = TEXT_LIMIT) -> str:
    """`text` cut to `limit` characters, followed by a marker giving the original length."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… [truncated, {len(text):,} characters]"


def display_text(value: Any, limit: int = TEXT_LIMIT) -> str:
    """Any value as text safe to show: truncated first (the marker counts the original), then
    its bidi controls made visible."""
    return show_bidi_controls(truncate(str(value), limit))


def display_line(value: Any, limit: int = LINE_LIMIT) -> str:
    """Same, on one line: for names in Markdown, e-mail and chat text."""
    return display_text(value, limit).replace("\r", " ").replace("\n", " ")


def display_tree(value: Any, limit: int = TEXT_LIMIT) -> Any:
    """A copy of a JSON-like value with every string (not the keys, which the code chose) made safe to show."""
    if isinstance(value, str):
        return display_text(value, limit)
    if isinstance(value, dict):
        return {key: display_tree(item, limit) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [display_tree(item, limit) for item in value]
    return value


def spreadsheet_cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text: safe to display, and never read as a formula."""
    if value is None:
        return ""
    text = display_text(value)
    return f"'{text}" if text.startswith(FORMULA_TRIGGERS) else text
