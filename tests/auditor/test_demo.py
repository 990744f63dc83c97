"""The bundled demo end to end: two nights. Night 1 reports exactly the planted findings, every account fully
audited; night 2's recordings fix two of them and introduce one, so the latest report shows change tracking; exit
code 1 (findings)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "auditor/report/report.schema.json").read_text())

PLANTED = {
    # Establishing Social Media Accounts
    ("platform-not-approved", "hhs-athletics-tiktok", "platform"),
    ("platform-not-approved", "hhs-media-yt", "platform"),
    ("account-not-reviewed", "hhs-athletics-tiktok", "review"),
    ("its-admin-missing", "hhs-main-fb", "its-admin"),  # observed on the Page's roles
    ("its-admin-missing", "hhs-whitford-class", "its-admin"),
    ("account-unregistered", "unregistered:twitter:hhs_historyclub", "twitter:hhs_historyclub"),
    # Online Interactions: admins
    ("too-few-staff-admins", "rbe-reading-group", "staff-admins"),
    ("admin-not-active-staff", "hhs-whitford-class", "twitter:id:1402000000000000001"),
    ("admin-not-active-staff", "rbe-reading-group", "facebook:id:61550000000013"),
    # Account Management
    ("password-reset-overdue", "hhs-whitford-class", "password"),
    ("password-not-reset-after-departure", "rbe-reading-group", "E1013"),
    ("shared-individual-account", "hhs-athletics-tiktok", "holders"),
    ("departed-staff-account-active", "hhs-whitford-class", "E1004"),
    # Online Interactions: participants (closed accounts one by one, public ones as a count)
    ("non-school-participant", "rbe-reading-group", "facebook:id:61550000200002"),  # a parent
    ("non-school-participant", "rbe-reading-group", "facebook:id:7001005"),  # an outsider
    ("non-school-participant", "hhs-robotics-x", "twitter:id:1611120934772011008"),
    ("non-school-participant", "hhs-athletics-tiktok", "summary"),
    ("non-school-participant", "hhs-main-fb", "summary"),
    ("non-school-participant", "hhs-media-yt", "summary"),
    ("non-school-participant", "hhs-news-x", "summary"),
    ("non-school-participant", "hhs-whitford-class", "summary"),
    # Online Interactions; Personal Accounts
    (
        "staff-student-interaction",
        "hhs-athletics-tiktok",
        "https://www.tiktok.com/@hillside.hawks/video/7430000000000000001|tiktok:handle:coach.tom.b"
        "|tiktok:handle:jbrown.hawks",
    ),
    (
        "staff-student-interaction",
        "hhs-main-fb",
        "https://www.facebook.com/108000000000101/posts/1200000000001101/?comment_id=1400000000001201"
        "&reply_comment_id=1400000000001203|facebook:id:61550000000008|facebook:id:61550000100002",
    ),
    (
        "staff-student-interaction",
        "hhs-media-yt",
        "https://www.youtube.com/watch?v=-f624179-0A&lc=Ugz9a88eb78531faa71ceb4AaABAg.AKd9Qx3vTnPAKd9RZ0m1Vq"
        "|youtube:id:UCpRaman0000000000000005|youtube:id:UCliamSingh00000000000001",
    ),
    (
        "staff-student-interaction",
        "hhs-robotics-x",
        "https://x.com/coach_bergeron/status/2119983380691708277|twitter:id:1290557710229512192"
        "|twitter:id:1537790183021989888",
    ),
    (
        # an Instagram comment reply (cassettes/demo/hhs-main-ig.yaml): a teacher answering a student about a retest
        "staff-student-interaction",
        "hhs-main-ig",
        "https://www.instagram.com/p/DCb2News211/c/17860000000000222/|instagram:id:17841460000000002"
        "|instagram:id:17841460000100003",
    ),
    (
        # a WordPress blog's comment reply (cassettes/demo/hhs-library-blog.yaml): commenters are names only
        "staff-student-interaction",
        "hhs-library-blog",
        "https://library.hillside.phrd.ab.ca/2026/11/09/december-book-club-pick-the-hobbit/#comment-53"
        "|web:name:elodie gagnon|web:name:mia patel",
    ),
    # Proper Conduct; Confidentiality of Information
    ("confidential-content", "hhs-athletics-tiktok", "post:7430000000000000001"),
    # Proper Conduct: the athletics account insulting a referee (its ITS export)
    ("disrespectful-content", "hhs-athletics-tiktok", "post:7430000000000000002"),
    # Representing the Division: the departed teacher's class account campaigning for town council
    ("personal-use", "hhs-whitford-class", "post:1857000000000000001"),
}


# Rules the demo does not plant: audit-incomplete (night 1 is fully audited).
NOT_PLANTED = {"audit-incomplete"}


# Night 2 (cassettes/demo/night-2/): ITS got the Page's Admin role, the robotics club removed its outside
# follower, and the school news account posted a lost-and-found notice naming a student number.
NIGHT_2_RESOLVED = {
    ("its-admin-missing", "hhs-main-fb", "its-admin"),
    ("non-school-participant", "hhs-robotics-x", "twitter:id:1611120934772011008"),
}
NIGHT_2_NEW = {("confidential-content", "hhs-news-x", "post:2122046978257953459")}


def _reports_by_night(reports: Path) -> dict[str, dict]:  # type: ignore[type-arg]
    """Each run's report.json, keyed by the day the run audited as of."""
    found = {}
    for path in reports.glob("*/report.json"):
        if path.parent.name == "latest":
            continue
        report = json.loads(path.read_text())
        found[report["run"]["as_of"][:10]] = report
    return found


def test_demo_reports_exactly_the_planted_findings(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO)  # this checkout's code, not whichever one the venv has installed
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "demo", "--output", str(tmp_path / "out")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    nights = _reports_by_night(tmp_path / "out" / "reports")
    assert sorted(nights) == ["2026-11-15", "2026-11-16"]
    report = nights["2026-11-15"]
    jsonschema.validate(report, SCHEMA)
    found = {(f["rule"], f["account"], f["subject"]) for f in report["findings"]}
    assert found == PLANTED
    assert {c["state"] for c in report["coverage"]} == {"complete"}
    assert len(report["coverage"]) == 10  # nine accounts and the Instagram one
    # one account is kept clean, and every rule the demo can express is planted at least once
    assert not any(f["account"] == "rbe-news-group" for f in report["findings"])
    from auditor.rules.base import load_rules

    opt_in = {rule_id for rule_id, r in load_rules().items() if r.meta.opt_in}  # off by default: not in the demo
    assert {rule for rule, _, _ in found} == set(load_rules()) - NOT_PLANTED - opt_in
    by_key = {(f["rule"], f["account"]): f for f in report["findings"]}
    assert by_key[("its-admin-missing", "hhs-main-fb")]["evidence"]["source"] == "observed"
    assert by_key[("its-admin-missing", "hhs-whitford-class")]["evidence"]["source"] == "observed"
    # An individual account is not asked for two staff admins (AP 80-06 forbids sharing it): Whitford's class
    # account has only the ITS and sharing requirements, while the joint reading group still is asked.
    assert ("too-few-staff-admins", "hhs-whitford-class") not in by_key
    tiktok = by_key[("staff-student-interaction", "hhs-athletics-tiktok")]
    assert (tiktok["severity"], tiktok["confidence"]) == ("medium", "likely")  # name-only matches
    blog = by_key[("staff-student-interaction", "hhs-library-blog")]
    assert (blog["severity"], blog["confidence"]) == ("medium", "likely")  # a typed name, "Elodie" for Élodie
    masked = by_key[("confidential-content", "hhs-athletics-tiktok")]["evidence"]["excerpt"]
    assert "300100014" not in masked and "555-0142" not in masked
    # Discovery looked the mentioned club page up on X (cassettes/demo/discovery-twitter.yaml): its profile
    # description is the strongest evidence.
    club = by_key[("account-unregistered", "unregistered:twitter:hhs_historyclub")]["evidence"]
    assert "description mentions hillside (Hillside High School)" in club["why_it_looks_like_a_school_account"]
    assert club["profile"]["name"] == "HHS History Club"
    assert report["run"]["spend"]["requests"]["twitter"]["GET /2/users/by"] == 1
    assert "Report:" in done.stdout
    # Night 2: the latest report opens with what changed since night 1.
    second = json.loads((tmp_path / "out" / "reports" / "latest" / "report.json").read_text())
    jsonschema.validate(second, SCHEMA)
    assert second["run"]["as_of"].startswith("2026-11-16")
    assert second["run"]["previous_run"] == report["run"]["id"]
    assert second["summary"]["changes"] == {"new": 1, "resolved": 2, "regressed": 0}
    status = {(f["rule"], f["account"], f["subject"]): f["status"] for f in second["findings"]}
    assert {key for key, state in status.items() if state == "resolved"} == NIGHT_2_RESOLVED
    assert {key for key, state in status.items() if state == "new"} == NIGHT_2_NEW
    assert {key for key, state in status.items() if state == "persisting"} == PLANTED - NIGHT_2_RESOLVED
    assert {c["state"] for c in second["coverage"]} == {"complete"}
    notice = next(f for f in second["findings"] if f["rule"] == "confidential-content" and f["account"] == "hhs-news-x")
    assert "300100027" not in json.dumps(notice)
    summary = (tmp_path / "out" / "reports" / "latest" / "summary.md").read_text()
    assert "- New: 1\n- Resolved: 2\n" in summary
    # A principal's copy shows only what that school's accounts spent: Riverbend's are audited from
    # ITS exports, so none of the division's X, Facebook or YouTube requests are its own.
    out = tmp_path / "out"
    env.update({"DATABASE_URL": f"sqlite:///{out / 'auditor.db'}", "AUDITOR_REPORT_DIR": str(out / "reports")})
    principal = subprocess.run(
        [sys.executable, "-m", "auditor", "report", "--school", "Riverbend Elementary School"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert principal.returncode == 0, principal.stdout + principal.stderr
    (school_folder,) = (out / "reports").glob("*-riverbend-elementary-school")
    school_spend = json.loads((school_folder / "report.json").read_text())["run"]["spend"]
    assert school_spend["requests"] == {} and school_spend["units"] == {}
    assert school_spend["shared_requests"] >= 1  # X's batched lookups serve every school's accounts


def _make_demo(tmp_path: Path, auditor: str) -> subprocess.CompletedProcess[str]:
    """`make demo` from the repository's Makefile, with the venv stamp taken as built (`-o`)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_", "MAKE"))}
    env.pop("DATABASE_URL", None)
    env["PYTHONPATH"] = str(REPO)
    return subprocess.run(
        ["make", "--no-print-directory", "-f", str(REPO / "Makefile"), "-o", ".venv/.installed", "demo",
         f"AUDITOR={auditor}", f"DEMO_OUTPUT={tmp_path / 'out'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_make_demo_succeeds_and_says_what_the_auditors_exit_code_means(tmp_path: Path) -> None:
    done = _make_demo(tmp_path, f"{sys.executable} -m auditor")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Error" not in done.stdout + done.stderr
    assert "exit code 1 = open findings" in done.stdout
    assert (tmp_path / "out" / "reports" / "latest" / "report.html").exists()


def test_make_demo_still_fails_when_the_auditor_really_fails(tmp_path: Path) -> None:
    fake = tmp_path / "auditor"  # an auditor that stops on bad input (exit 2), as a broken install would
    fake.write_text("#!/bin/sh\nexit 2\n")
    fake.chmod(0o755)
    done = _make_demo(tmp_path, str(fake))
    assert done.returncode != 0
    assert "exit code 2 = the demo failed" in done.stderr
    for code in (0, 3):
        fake.write_text(f"#!/bin/sh\nexit {code}\n")
        assert _make_demo(tmp_path, str(fake)).returncode == 0
