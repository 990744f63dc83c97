"""The Dockerfile and compose.yaml, checked as a reviewer (or hadolint) would, without building anything:
no Docker engine runs in CI. Where the `docker compose` plugin is installed, its own validation runs too."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from auditor.cli import app

REPO = Path(__file__).resolve().parents[1]
SECRET_NAME = re.compile(r"(TOKEN|SECRET|PASSWORD|PASSWD|API_KEY|HMAC_KEY|ACCESS_KEY|PRIVATE)", re.IGNORECASE)


def instructions(dockerfile: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", dockerfile.read_text(encoding="utf-8"))
    parsed = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            parsed.append((word.upper(), rest.strip()))
    return parsed


def final_stage(parsed: list[tuple[str, str]]) -> list[tuple[str, str]]:
    start = max(i for i, (word, _) in enumerate(parsed) if word == "FROM")
    return parsed[start:]


def env_values(stage: list[tuple[str, str]]) -> dict[str, str]:
    values: dict[str, str] = {}
    for word, rest in stage:
        if word in ("ENV", "ARG"):
            for name, value in re.findall(r"([A-Za-z_][A-Za-z0-9_]*)=(\S*)", rest):
                values[name] = value
    return values


def is_secret_variable(name: str) -> bool:
    return bool(SECRET_NAME.search(name)) and not name.endswith(("_FILE", "_DIR", "_SHA1SUM", "_SHA256SUM"))


STAGE = final_stage(instructions(REPO / "Dockerfile"))
ENV = env_values(STAGE)


def test_the_image_is_slim_python_and_runs_as_a_user_not_root() -> None:
    base = STAGE[0][1]
    assert re.fullmatch(r"python:3\.1[1-9][\w.-]*-slim[\w.-]*", base), base
    users = [rest for word, rest in STAGE if word == "USER"]
    assert users and users[-1] not in ("root", "0", "0:0")
    words = [word for word, _ in STAGE]
    assert words.index("USER") < words.index("ENTRYPOINT")  # nothing after it runs as root


def test_auditor_is_the_entrypoint_in_exec_form() -> None:
    (entrypoint,) = [rest for word, rest in STAGE if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["auditor"]  # exec form: signals reach the auditor, not a shell


def test_no_secret_is_baked_into_the_image() -> None:
    parsed = instructions(REPO / "Dockerfile")
    baked = [name for name in env_values(parsed) if is_secret_variable(name)]
    assert baked == []
    copied = [rest for word, rest in parsed if word in ("COPY", "ADD")]
    assert not any(re.search(r"(^|\s)\.env\b", source) for source in copied)
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    assert ".env" in ignored and "var" in ignored and "reports" in ignored


def test_downloads_are_checksum_verified() -> None:
    parsed = instructions(REPO / "Dockerfile")
    for index, (word, rest) in enumerate(parsed):
        if word == "ADD" and re.search(r"https?://", rest):
            target = rest.split()[-1]
            following = " ".join(r for w, r in parsed[index + 1 :] if w == "RUN")
            assert re.search(r"sha(1|256)sum -c", following) and target in following, rest


def test_reports_database_and_key_live_on_volumes() -> None:
    volumes = set().union(*(json.loads(rest) for word, rest in STAGE if word == "VOLUME"))
    database = ENV["DATABASE_URL"].removeprefix("sqlite:///")
    for path in (ENV["AUDITOR_REPORT_DIR"], str(Path(database).parent), str(Path(ENV["AUDITOR_HMAC_KEY_FILE"]).parent)):
        assert path in volumes, path
    # the key is not in the data volume: a copy of the data must not carry it
    assert Path(ENV["AUDITOR_HMAC_KEY_FILE"]).parent != Path(database).parent


COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text(encoding="utf-8"))


def test_compose_runs_the_auditor_with_postgresql_and_no_literal_secret() -> None:
    services = COMPOSE["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    auditor = services["auditor"]
    assert auditor["depends_on"]["postgres"]["condition"] == "service_healthy"
    for service in services.values():
        for name, value in (service.get("environment") or {}).items():
            literal = re.sub(r"\$\{[^}]*\}", "", str(value))
            assert not (is_secret_variable(name) and literal), name
            assert not re.search(r"://[^:/@]+:[^@$]+@", literal), name  # a password written into a URL
    assert str(auditor["environment"]["DATABASE_URL"]).startswith("postgresql://")
    mounts = {m.split(":")[1] for m in auditor["volumes"]}
    assert ENV["AUDITOR_REPORT_DIR"] in mounts and "/division" in mounts


def test_the_nightly_schedule_calls_real_commands() -> None:
    entrypoint = COMPOSE["services"]["auditor"]["entrypoint"]
    assert entrypoint[0] == "supercronic"
    copied = {rest.split()[-1]: rest.split()[-2] for word, rest in STAGE if word == "COPY" and "--from" not in rest}
    crontab = REPO / copied[entrypoint[1]]
    commands = {c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands}
    text = crontab.read_text(encoding="utf-8")
    lines = [line.split() for line in text.splitlines() if line and not line.startswith("#")]
    assert lines
    for fields in lines:
        minute, hour, day, month, weekday, program, command = fields[:7]
        assert all(re.fullmatch(r"[\d*,/-]+", f) for f in (minute, hour, day, month, weekday)), fields
        assert program == "auditor" and command in commands, fields
    assert any(fields[6] == "run" for fields in lines)


@pytest.mark.skipif(
    shutil.which("docker") is None
    or subprocess.run(["docker", "compose", "version"], capture_output=True, check=False).returncode != 0,
    reason="the docker compose plugin is not installed (CI has no Docker)",
)
def test_docker_compose_accepts_the_file(tmp_path: Path) -> None:
    shutil.copy(REPO / "compose.yaml", tmp_path / "compose.yaml")
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=only-for-this-check\n", encoding="utf-8")
    done = subprocess.run(["docker", "compose", "config", "--quiet"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
