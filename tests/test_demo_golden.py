"""The demo division's reports, byte for byte: a restructuring must not change what a user reads.

The golden files are the demo's two nights as published (JSON, CSV, Markdown, HTML), with only
what differs between any two runs replaced: run ids, the wall-clock start and finish times, and the
checkout's own path (registry entries are cited as file:line).
A change that alters a report on purpose regenerates them with
`python tests/test_demo_golden.py --update` and shows the difference in its commit.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "tests" / "golden" / "demo"
FILES = ("report.json", "report.csv", "summary.md", "report.html")
RUN_ID = re.compile(r"\d{8}T\d{6}Z-[0-9a-f]{6}")
WALL_CLOCK = re.compile(r'"(started_at|finished_at)": "[^"]+"')
WALL_CLOCK_SHOWN = re.compile(r"(started|finished) \d{4}-\d\d-\d\d \d\d:\d\d UTC")  # the page's footer
# The page's CSP hashes cover its embedded data, which holds the masked path: they are masked too
# (the data they hash is compared in full).
CSP_HASH = re.compile(r"sha256-[A-Za-z0-9+/]{43}=")


def normalise(text: str) -> str:
    # The registry's file:line is shown as an absolute path: the checkout's own place is masked.
    text = text.replace(str(REPO), "<repo>").replace(str(REPO).replace("/", "\\/"), "<repo>")
    text = RUN_ID.sub("<run-id>", text)
    text = CSP_HASH.sub("sha256-<hash>", text)
    text = WALL_CLOCK_SHOWN.sub(r"\1 <time>", text)
    return WALL_CLOCK.sub(r'"\1": "<time>"', text)


def demo_reports(output: Path) -> dict[str, dict[str, str]]:
    """Night name -> file name -> normalised text, from a fresh `auditor demo`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--output", str(output)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    folders = sorted(p for p in (output / "reports").iterdir() if RUN_ID.fullmatch(p.name))
    assert len(folders) == 2, folders
    return {
        f"night-{n}": {name: normalise((folder / name).read_text(encoding="utf-8")) for name in FILES}
        for n, folder in enumerate(folders, start=1)
    }


def test_demo_reports_are_byte_identical_to_the_golden_files(tmp_path: Path) -> None:
    produced = demo_reports(tmp_path / "demo")
    problems = []
    for night, files in produced.items():
        for name, text in files.items():
            golden = (GOLDEN / night / name).read_text(encoding="utf-8")
            if text != golden:
                diff = difflib.unified_diff(golden.splitlines(), text.splitlines(), "golden", "now", lineterm="", n=1)
                problems.append(f"{night}/{name}:\n" + "\n".join(list(diff)[:40]))
    assert not problems, "\n\n".join(problems)


if __name__ == "__main__" and sys.argv[1:] == ["--update"]:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for night, files in demo_reports(Path(scratch) / "demo").items():
            (GOLDEN / night).mkdir(parents=True, exist_ok=True)
            for name, text in files.items():
                (GOLDEN / night / name).write_text(text, encoding="utf-8")
    print(f"golden files written to {GOLDEN}")
