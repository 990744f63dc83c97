"""The demo division with its directory given as the SIS's OneRoster export finds exactly what the
nine-column directory finds: same fingerprints, severities, confidences and evidence."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.auditor.oneroster_files import demo_as_oneroster

REPO = Path(__file__).resolve().parents[2]
# `auditor demo` on another division folder: the demo's settings, recordings and date, that folder's inputs.
_RUN = (
    "import sys; from pathlib import Path; import auditor.cli as cli; "
    "folder = Path(sys.argv[1]); cli.demo_division_dir = lambda: folder; "
    "sys.argv = ['auditor', 'demo', '--output', sys.argv[2]]; cli.main()"
)


def _demo(division: Path, output: Path) -> tuple[dict[str, Any], Path]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    for name in ("DATABASE_URL", "AUDITOR_REPORT_DIR", "AUDITOR_LOCK_FILE", "AUDITOR_CASSETTE_DIR"):
        env.pop(name, None)
    env["PYTHONPATH"] = str(REPO)
    done = subprocess.run(
        [sys.executable, "-c", _RUN, str(division), str(output)],
        cwd=output.parent, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    return json.loads((output / "reports" / "latest" / "report.json").read_text()), output / "auditor.db"


def _findings(report: dict[str, Any], division: Path) -> dict[str, tuple[Any, ...]]:
    """Fingerprint -> what a reader sees; the division's folder (in registration sources) left out."""
    return {
        f["fingerprint"]: (
            f["rule"],
            f["severity"],
            f["confidence"],
            json.dumps(f["evidence"], sort_keys=True).replace(str(division), "DIVISION"),
        )
        for f in report["findings"]
    }


def test_the_demo_directory_as_oneroster_gives_the_same_findings(tmp_path: Path) -> None:
    nine = tmp_path / "nine-columns"
    shutil.copytree(REPO / "auditor" / "demo", nine)
    rostered = tmp_path / "oneroster"
    shutil.copytree(REPO / "auditor" / "demo", rostered)
    demo_as_oneroster(rostered / "directory")
    assert (rostered / "directory" / "board.csv").is_file()  # the board's own export, through mapping.yaml
    assert (rostered / "directory" / "oneroster" / "users.csv").read_bytes().startswith(b"\xef\xbb\xbfsourcedId,")

    expected, _ = _demo(nine, tmp_path / "out-nine")
    found, database = _demo(rostered, tmp_path / "out-oneroster")

    assert expected["findings"]  # the demo always finds something: an empty comparison proves nothing
    assert _findings(found, rostered) == _findings(expected, nine)
    assert [c["state"] for c in found["coverage"]] == [c["state"] for c in expected["coverage"]]
    # Students are minors: what the SIS sent beyond what a rule needs is stored nowhere.
    stored = b"".join(p.read_bytes() for p in database.parent.rglob("*") if p.is_file())
    for kept_out in (b"S3cret-Passw0rd", b"@students.example.org", b"555-0199", b"555-0198", b"cn=300100001"):
        assert kept_out not in stored
