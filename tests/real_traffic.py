"""Where the shared reference recordings are: `shared/reference/real-traffic/<platform>` beside the
checkout, or beside a folder of worktrees (the nearest ancestor that holds it). Tests read them as
recorded and never copy them into the repository."""

from __future__ import annotations

from pathlib import Path

_RECORDINGS = Path("shared") / "reference" / "real-traffic"


def real_traffic(platform: str) -> Path:
    """The folder of `platform`'s real recordings; a path that does not exist (the tests using it then
    skip, naming it) when no ancestor holds the reference set."""
    here = Path(__file__).resolve()
    for folder in here.parents[1:]:
        candidate = folder / _RECORDINGS / platform
        if candidate.is_dir():
            return candidate
    return here.parents[2] / _RECORDINGS / platform
