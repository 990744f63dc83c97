"""Bad input never crashes: generated inputs end as InputError with file:line problems, and
generated platform responses end as a classified collection failure, never an exception."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
import vcr
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from auditor.inputs import Division, InputError, load_division
from auditor.policy import Policy
from connectors.registry import ConnectorRegistry
from connectors.resilience import Deadline, RetryPolicy
from models.snapshot import AccountSnapshot, CollectionState
from models.tables import RegisteredAccount
from tests.contexts import context_for

REGISTRY_ENTRY: dict[str, Any] = {
    "key": "hhs-news",
    "platform": "facebook",
    "connector": "manual",
    "export": "../exports/news.csv",
    "handle": "HillsideNews",
    "school": "Hillside High School",
    "purpose": "School news",
    "activity": "robotics",
    "kind": "joint",
    "audience": "public",
    "holders": ["E1", "E2"],
    "admins": ["E1", "E2"],
    "reviewed_by": "Director of ITS",
    "reviewed_on": date(2026, 9, 1),
    "password_reset_on": date(2026, 3, 1),
    "status": "active",
}
STAFF = (
    "person_id,role,school,first_name,last_name,status,departure_date,handles\n"
    "E1,staff,Hillside High School,Sam,Teacher,active,,\n"
    "E2,staff,Hillside High School,Alex,Principal,active,,\n"
)
ACTIVITIES = {
    "activities": [
        {
            "id": "robotics",
            "name": "Robotics club",
            "school": "Hillside High School",
            "sponsors": ["E1"],
            "hashtags": ["HHSRobotics"],
        }
    ]
}
POLICY = {"division": "Test Division", "fail_threshold": "high", "matching": {"fuzzy_accept": 92}}

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True), st.text(max_size=30), st.dates()
)
json_like = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4),
    max_leaves=12,
)


def _template() -> Path:
    root = Path(tempfile.mkdtemp(prefix="auditor-bad-input-"))
    division = root / "division"
    for folder in ("registry", "directory", "exports"):
        (division / folder).mkdir(parents=True)
    (division / "registry" / "accounts.yaml").write_text(
        yaml.safe_dump({"accounts": [REGISTRY_ENTRY]}), encoding="utf-8"
    )
    (division / "directory" / "staff.csv").write_text(STAFF, encoding="utf-8")
    (division / "activities.yaml").write_text(yaml.safe_dump(ACTIVITIES), encoding="utf-8")
    (division / "policy.yaml").write_text(yaml.safe_dump(POLICY), encoding="utf-8")
    (division / "exports" / "news.csv").write_text(
        "record,kind,id,handle,name\nadmin,admin,1,sam,Sam Teacher\n", encoding="utf-8"
    )
    return division


TEMPLATE = _template()


@contextmanager
def division_with(relative: str, content: str | bytes) -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="auditor-fuzz-"))
    try:
        division = root / "division"
        shutil.copytree(TEMPLATE, division)
        target = division / relative
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(content, encoding="utf-8")
        yield division
    finally:
        shutil.rmtree(root, ignore_errors=True)


def assert_loads_or_explains(division: Path, relative: str) -> Division | None:
    try:
        return load_division(division)
    except InputError as error:
        assert error.problems, "an InputError must say what is wrong"
        for problem in error.problems:
            text = str(problem)
            assert text.startswith(str(division)), text  # every problem names its file
            assert "Traceback" not in text
        return None


def test_the_template_division_is_valid() -> None:
    assert assert_loads_or_explains(TEMPLATE, "") is not None


def _dump(value: Any) -> str:
    return yaml.safe_dump(value, allow_unicode=True)


# A registry entry with some fields replaced by anything, some dropped, some unknown ones added.
mutated_entry = st.fixed_dictionaries(
    {},
    optional={name: st.one_of(st.just(value), json_like) for name, value in REGISTRY_ENTRY.items()}
    | {"colour": json_like},
)
registry_files = st.one_of(
    st.text(max_size=200),
    json_like.map(_dump),
    st.lists(mutated_entry, max_size=3).map(lambda entries: _dump({"accounts": entries})),
    mutated_entry.map(lambda entry: _dump({"accounts": [entry], "ignore": [entry]})),
)
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(content=registry_files)
def test_any_registry_file_loads_or_is_explained(content: str) -> None:
    with division_with("registry/accounts.yaml", content) as division:
        assert_loads_or_explains(division, "registry/accounts.yaml")


csv_cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=15)
directory_files = st.one_of(
    st.binary(max_size=200),
    st.text(max_size=200),
    st.lists(st.lists(csv_cell, min_size=1, max_size=8), max_size=5).map(
        lambda rows: (
            "person_id,role,school,first_name,last_name,status,departure_date,handles\n"
            + "\n".join(",".join(f'"{c.replace(chr(34), "")}"' for c in row) for row in rows)
        )
    ),
)


@FUZZ
@given(content=directory_files)
def test_any_directory_file_loads_or_is_explained(content: str | bytes) -> None:
    with division_with("directory/staff.csv", content) as division:
        assert_loads_or_explains(division, "directory/staff.csv")


@FUZZ
@given(
    content=st.one_of(
        st.text(max_size=200),
        json_like.map(_dump),
        st.lists(json_like, max_size=3).map(lambda items: _dump({"activities": items})),
    )
)
def test_any_activities_file_loads_or_is_explained(content: str) -> None:
    with division_with("activities.yaml", content) as division:
        assert_loads_or_explains(division, "activities.yaml")


policy_files = st.one_of(
    st.text(max_size=200),
    json_like.map(_dump),
    st.fixed_dictionaries({}, optional={name: json_like for name in Policy.model_fields}).map(_dump),
)


@FUZZ
@given(content=policy_files)
def test_any_policy_file_loads_or_is_explained(content: str) -> None:
    with division_with("policy.yaml", content) as division:
        assert_loads_or_explains(division, "policy.yaml")


def test_the_command_line_reports_bad_input_with_exit_code_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from auditor.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'auditor.db'}")
    with division_with("registry/accounts.yaml", "accounts:\n  - key: [unclosed\n") as division:
        result = CliRunner().invoke(app, ["run", "--division", str(division)])
    assert result.exit_code == 2
    assert "accounts.yaml:" in result.output and "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


# --- platform responses ---------------------------------------------------------------------------

STATUSES = [200, 200, 200, 400, 401, 403, 404, 429, 500, 503]
response_bodies = st.one_of(
    json_like.map(lambda value: json.dumps(value, default=str)),
    st.just('{"data": [{"id": "12'),  # truncated JSON
    st.just("<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"),
    st.just('{"errors": [{"message": "Internal error", "code": 131}]}'),
    st.just('{"error": {"message": "(#4) Application request limit reached", "type": "OAuthException", "code": 4}}'),
    st.just('{"error": {"code": 403, "message": "quotaExceeded", "errors": [{"reason": "quotaExceeded"}]}}'),
    st.just('{"data": null, "meta": {"result_count": "two"}}'),
    st.just(""),
    st.text(max_size=100),
)

HOSTS = {
    "twitter": "https://api.twitter.com/",
    "facebook": "https://graph.facebook.com/",
    "youtube": "https://youtube.googleapis.com/",
}


def _account(platform: str) -> RegisteredAccount:
    return RegisteredAccount(
        key="fuzz-account",
        platform=platform,
        connector=platform,
        handle="@FuzzSchool",
        platform_id="1234567890",
        school="Hillside High School",
        purpose="School news",
        kind="joint",
        audience="public",
    )


def _cassette(path: Path, status: int, body: str) -> None:
    interaction = {
        "request": {"method": "GET", "uri": "https://any.example/", "body": None, "headers": {}},
        "response": {
            "status": {"code": status, "message": "generated"},
            "headers": {"Content-Type": ["application/json; charset=utf-8"]},
            "body": {"string": body},
        },
    }
    path.write_text(yaml.safe_dump({"version": 1, "interactions": [interaction]}), encoding="utf-8")


def _pull_everything_answering(
    platform: str, status: int, body: str, monkeypatch: pytest.MonkeyPatch
) -> AccountSnapshot:
    """Every request of the connector gets this one answer (vcrpy matching on nothing)."""
    cls = ConnectorRegistry.installed()[platform]
    folder = Path(tempfile.mkdtemp(prefix="auditor-responses-"))
    try:
        _cassette(folder / "any.yaml", status, body)
        recorder = vcr.VCR(cassette_library_dir=str(folder), record_mode="none", match_on=())
        context = context_for(
            cls,
            policy=Policy(),
            as_of=datetime(2026, 11, 15, tzinfo=UTC),
            deadline=Deadline(60),
            full=True,
            sleep=lambda _s: None,
            retry=RetryPolicy(max_attempts=2),
        )
        with recorder.use_cassette("any.yaml", allow_playback_repeats=True):
            return cls(context).pull(_account(platform), {})
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="module")
def platform_tokens() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name in ("X_BEARER_TOKEN", "FACEBOOK_ACCESS_TOKEN", "FACEBOOK_APP_SECRET", "YOUTUBE_API_KEY"):
            patch.setenv(name, "fuzz-placeholder-token")
        patch.setenv("FACEBOOK_APP_ID", "000000000000000")
        yield


@pytest.mark.parametrize("platform", sorted(HOSTS))
@FUZZ
@given(status=st.sampled_from(STATUSES), body=response_bodies)
def test_any_platform_response_ends_as_a_classified_collection(
    platform: str, status: int, body: str, platform_tokens: None
) -> None:
    if platform not in {cls.name for cls in ConnectorRegistry.installed().values()}:
        pytest.skip(f"the {platform} connector is not installed")
    with pytest.MonkeyPatch.context() as patch:
        snapshot = _pull_everything_answering(platform, status, body, patch)
    cls = ConnectorRegistry.installed()[platform]
    for capability in cls.capabilities:
        state = snapshot.status_of(capability)
        assert state is not None, f"{capability} has no status"
        if state.state not in (CollectionState.COMPLETE, CollectionState.PARTIAL):
            assert state.error is not None and state.reason, f"{capability}: {state}"
    assert all(isinstance(c, str) for c in snapshot.collections)


def test_a_bad_setting_is_a_clear_error_that_never_echoes_the_value(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SMTP_PORT", raising=False)
    (tmp_path / ".env").write_text("SMTP_PORT=hunter2-password-in-the-wrong-place\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["rules"])
    assert result.exit_code == 2
    assert "SMTP_PORT" in result.output
    assert "hunter2" not in result.output and "Traceback" not in result.output


# --- the command line: exit 2, one problem per line, nothing written ------------------------------


def _spoil_registry(division: Path, old: str, new: str) -> None:
    registry = division / "registry" / "manual.yaml"
    text = registry.read_text(encoding="utf-8")
    assert old in text
    registry.write_text(text.replace(old, new, 1), encoding="utf-8")


BAD_DIVISIONS = {
    "unknown-holder": lambda d: _spoil_registry(d, "holders: [E1009, E1011]", "holders: [E1009, E9999]"),
    "missing-export": lambda d: (d / "exports" / "rbe-news-group.csv").unlink(),
    "directory-without-status": lambda d: (d / "directory" / "staff.csv").write_text(
        "person_id,role,school,first_name,last_name,departure_date,handles\n"
        + "".join(f"E10{n:02d},staff,Hillside High School,A,B{n},,\n" for n in range(1, 20)),
        encoding="utf-8",
    ),
    "duplicate-yaml-key": lambda d: _spoil_registry(
        d, "    status: active\n", "    status: active\n    status: disabled\n"
    ),
    "utf16-registry": lambda d: (d / "registry" / "manual.yaml").write_bytes(
        (d / "registry" / "manual.yaml").read_text(encoding="utf-8").encode("utf-16")
    ),
    "deep-nesting": lambda d: (d / "policy.yaml").write_text("sinks: " + "[" * 20_000 + "]" * 20_000, encoding="utf-8"),
    "ignore-not-a-list": lambda d: _spoil_registry(d, "ignore:\n", "ignore: 5\nold_ignore:\n"),
}


@pytest.mark.parametrize("spoil", BAD_DIVISIONS.values(), ids=BAD_DIVISIONS.keys())
def test_bad_input_exits_2_naming_the_file_and_writes_nothing(
    spoil: Any, division_dir: Path, auditor_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from auditor.cli import app

    monkeypatch.delenv("AUDITOR_LOG_DIR", raising=False)
    spoil(division_dir)
    result = CliRunner().invoke(app, ["run", "--division", str(division_dir)])
    assert result.exit_code == 2, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output
    problems = [line for line in result.output.splitlines() if line.startswith("  ")]
    assert problems and all(line.startswith(f"  {division_dir}") for line in problems), result.output
    # No database, lock, report folder or anything else beside the division folder.
    assert sorted(p.name for p in division_dir.parent.iterdir()) == ["division"]


@pytest.mark.parametrize("columns", [None, "40"], ids=["COLUMNS-unset", "COLUMNS-40"])
def test_each_problem_is_one_unwrapped_line_at_any_terminal_width(
    division_dir: Path, tmp_path: Path, columns: str | None
) -> None:
    _spoil_registry(division_dir, "    purpose: Closed group for Riverbend school news\n", "")
    _spoil_registry(division_dir, "    school: Hillside High School\n    purpose: Athletics highlights\n", "")
    with pytest.raises(InputError) as caught:
        load_division(division_dir)
    expected = [f"  {problem}" for problem in caught.value.problems]
    assert len(expected) == 3 and all(len(line) > 100 for line in expected)

    environment = {k: v for k, v in os.environ.items() if not k.startswith(("AUDITOR_", "COLUMNS", "DATABASE_URL"))}
    environment.update(
        PYTHONPATH=str(Path(__file__).resolve().parent.parent), DATABASE_URL=f"sqlite:///{tmp_path}/a.db"
    )
    if columns is not None:
        environment["COLUMNS"] = columns
    result = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "run", "--division", str(division_dir)],
        cwd=tmp_path,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[-3:] == expected, result.stderr
    assert lines[-4] == "Input error (3 problem(s); nothing was written):"
