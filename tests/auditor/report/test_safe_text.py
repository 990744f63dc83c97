"""The one place report writers neutralise hostile text: bidi controls, huge strings, formula cells."""

from __future__ import annotations

import pytest

from auditor.report.safe_text import display_line, display_tree, show_bidi_controls, spreadsheet_cell, truncate

BIDI_CONTROLS = [chr(c) for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))]


@pytest.mark.parametrize("control", BIDI_CONTROLS)
def test_every_bidi_override_and_isolate_is_shown_as_its_code_point(control: str) -> None:
    shown = show_bidi_controls(f"@school{control}gnp.exe")
    assert shown == f"@school<U+{ord(control):04X}>gnp.exe"
    assert control not in shown


def test_right_to_left_text_itself_is_left_alone() -> None:
    hebrew = "בית ספר"  # natural right-to-left letters, no override: nothing to escape
    assert show_bidi_controls(hebrew) == hebrew


def test_truncation_keeps_the_start_and_says_how_long_the_text_was() -> None:
    assert truncate("a" * 20, 10) == "a" * 10 + "… [truncated, 20 characters]"
    assert truncate("a" * 10, 10) == "a" * 10
    assert truncate("b" * 10_485_760).endswith("… [truncated, 10,485,760 characters]")


def test_display_line_is_one_line_and_display_tree_keeps_the_shape() -> None:
    assert display_line("a\r\nb\u202ec") == "a  b<U+202E>c"
    tree = {"excerpt": "x" * 50, "n": 3, "ok": True, "list": ["\u2067y", None]}
    assert display_tree(tree, 10) == {
        "excerpt": "x" * 10 + "… [truncated, 50 characters]",
        "n": 3,
        "ok": True,
        "list": ["<U+2067>y", None],
    }


@pytest.mark.parametrize("text", ["=1+1", "+1", "-1", "@handle", "\tx", "\rx", "'quoted"])
def test_a_cell_a_spreadsheet_would_compute_gets_a_leading_quote(text: str) -> None:
    assert spreadsheet_cell(text) == "'" + text


def test_plain_cells_are_unchanged_and_none_is_empty() -> None:
    assert spreadsheet_cell("Hillside High School") == "Hillside High School"
    assert spreadsheet_cell(None) == ""
