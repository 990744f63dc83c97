"""The YouTube quota benchmark at a size a test can afford: the real connector against the fake Data API."""

from __future__ import annotations

import re

import pytest

from bench import youtube_bench


def test_full_and_nightly_runs_spend_the_floors_units(capsys: pytest.CaptureFixture[str]) -> None:
    youtube_bench.main(["--channels", "8", "--seed", "3"])
    out = capsys.readouterr().out

    # One channels.list for the eight channels (was one each), and at night no channel-wide re-read of
    # every thread: videos.list for the counts, then only the videos whose count moved.
    full, nightly = out.split("nightly run after")
    assert re.search(r"channels\.list\s+1\s+1", full) and re.search(r"channels\.list\s+1\s+1", nightly)
    assert re.search(r"videos\.list\s+8\s+8", nightly)
    assert re.search(r"youtube full run units <= 1\.1 x floor: [\d,]+ / [\d,]+ = 1\.\d{3}  PASS", out)
    assert re.search(r"youtube nightly run units <= 1\.1 x floor: [\d,]+ / [\d,]+ = 1\.\d{3}  PASS", out)
