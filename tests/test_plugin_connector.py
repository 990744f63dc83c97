"""A platform is one package: a throwaway connector installed beside the auditor audits an account.

The package is written into tmp_path (a module and an `acme_connector-0.1.dist-info/` whose
entry_points.txt registers it under `auditor.connectors`), found through PYTHONPATH by
`importlib.metadata` exactly as a pip-installed plugin is. It brings its own settings (the secret
ACME_TOKEN) and its own policy section (`connectors: {acme: {...}}`); nothing under auditor/ or
models/ knows its name.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TOKEN = "acme-tok-7Qz9wLp2Xv4Rk8Ns"  # a fake secret: it must appear in no report and no log

CONNECTOR = '''
"""The Acme connector: reads an account's posts from the feed file its policy section names."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import ClassVar

from pydantic import Field, SecretStr

from connectors.base import Connector, ConnectorOptions, ConnectorSettings
from connectors.resilience import PlatformError
from models.snapshot import AccountSnapshot, Capability, ErrorKind, Post, Profile

log = logging.getLogger("acme")


class AcmeSettings(ConnectorSettings):
    token: SecretStr | None = Field(None, validation_alias="ACME_TOKEN")


class AcmeOptions(ConnectorOptions):
    feed: str = "no-feed-configured.json"  # where the Acme export of every account's posts lives


class AcmeConnector(Connector):
    name = "acme"
    capabilities = frozenset({Capability.PROFILE, Capability.POSTS})
    settings_model = AcmeSettings
    options_model = AcmeOptions
    profile_hosts = ("acme.example",)
    profile_url = "https://acme.example/{handle}"
    credential_variables = ("ACME_TOKEN",)

    def pull(self, account, cursor):
        settings = self.context.settings_as(AcmeSettings)
        options = self.context.options_as(AcmeOptions)
        builder = self.new_builder(account)
        if settings.token is None:
            for capability in self.capabilities:
                builder.record_error(capability.value, PlatformError(ErrorKind.AUTH, "ACME_TOKEN is not set"))
            return builder.snapshot
        # A careless plugin: the scrubber must keep its token out of every log line anyway.
        log.warning("acme: signed in with %s", settings.token.get_secret_value())
        with builder.collect(Capability.PROFILE), builder.collect(Capability.POSTS):
            feed = json.loads(Path(options.feed).read_text(encoding="utf-8"))[account.handle]
            builder.snapshot.profile = Profile(id=feed["id"], handle=account.handle, name=feed["name"])
            for post in feed["posts"]:
                builder.snapshot.posts.append(Post(id=post["id"], text=post["text"], created_at=post["at"]))
        return builder.snapshot

    def classify_error(self, error):
        if isinstance(error, (FileNotFoundError, KeyError)):
            return PlatformError(ErrorKind.NOT_FOUND, f"acme feed: {error}")
        return PlatformError(ErrorKind.MALFORMED, str(error))
'''

REGISTRY = """\
accounts:
  - key: acme-news
    platform: acme
    handle: "@rbe_news"
    school: Riverbend Elementary School
    purpose: Riverbend news
    kind: joint
    audience: public
    holders: [E1]
    admins: [E1, E2]
    its_admin: "@its"
    reviewed_by: Director of ITS
    reviewed_on: 2026-09-01
    approved_by: Director of ITS
    approved_on: 2026-09-01
    password_reset_on: 2026-09-01
    status: active
"""

STAFF = """\
person_id,role,school,first_name,last_name,preferred_name,status,departure_date,handles
E1,staff,Riverbend Elementary School,Ann,Lee,,active,,
E2,administrator,Riverbend Elementary School,Bob,Ray,,active,,
"""


def _install_plugin(site: Path) -> None:
    (site / "acme_connector").mkdir(parents=True)
    (site / "acme_connector" / "__init__.py").write_text(textwrap.dedent(CONNECTOR), encoding="utf-8")
    dist = site / "acme_connector-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: acme-connector\nVersion: 0.1\n", encoding="utf-8")
    (dist / "entry_points.txt").write_text(
        "[auditor.connectors]\nacme = acme_connector:AcmeConnector\n", encoding="utf-8"
    )


def _division(folder: Path, feed: Path) -> None:
    (folder / "registry").mkdir(parents=True)
    (folder / "directory").mkdir()
    (folder / "registry" / "acme.yaml").write_text(REGISTRY, encoding="utf-8")
    (folder / "directory" / "staff.csv").write_text(STAFF, encoding="utf-8")
    (folder / "policy.yaml").write_text(
        f"division: Riverbend Test Division\nconnectors:\n  acme:\n    feed: {json.dumps(str(feed))}\n",
        encoding="utf-8",
    )
    posts = [
        {"id": "p1", "at": "2026-11-10T15:00:00+00:00", "text": "Lost: a library card, student no. 300100042."},
        {"id": "p2", "at": "2026-11-11T15:00:00+00:00", "text": "Book fair on Friday!"},
    ]
    feed.write_text(json.dumps({"@rbe_news": {"id": "acme-77", "name": "RBE News", "posts": posts}}), "utf-8")


def test_a_connector_package_installed_beside_the_auditor_audits_its_account(tmp_path: Path) -> None:
    site = tmp_path / "site"
    _install_plugin(site)
    division = tmp_path / "division"
    _division(division, tmp_path / "acme-feed.json")
    var = tmp_path / "var"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("X_", "FACEBOOK_", "YOUTUBE_", "ACCOUNT_"))}
    env.update(
        PYTHONPATH=os.pathsep.join([str(site), str(REPO)]),
        ACME_TOKEN=TOKEN,
        DATABASE_URL=f"sqlite:///{var / 'auditor.db'}",
        AUDITOR_REPORT_DIR=str(var / "reports"),
        AUDITOR_LOCK_FILE=str(var / "auditor.lock"),
        AUDITOR_LOG_DIR=str(var / "logs"),
        AUDITOR_HMAC_KEY_FILE=str(var / "hmac.key"),
    )
    env.pop("AUDITOR_CASSETTE_DIR", None)
    done = subprocess.run(
        [sys.executable, "-m", "auditor", "run", "--division", str(division)],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 1, done.stdout + done.stderr  # findings, and the audit was complete

    (folder,) = [p for p in (var / "reports").iterdir() if p.is_dir() and p.name != "latest"]
    report = json.loads((folder / "report.json").read_text(encoding="utf-8"))
    (coverage,) = report["coverage"]
    assert coverage["account"] == "acme-news" and coverage["platform"] == "acme"
    assert coverage["state"] == "complete", coverage
    assert coverage["collections"]["posts"]["state"] == "complete"
    # The finding comes from the post the connector read from the feed its policy section named.
    confidential = [f for f in report["findings"] if f["rule"] == "confidential-content"]
    assert [f["subject"] for f in confidential] == ["post:p1"], report["findings"]
    assert "student number" in confidential[0]["message"]

    published = [p for p in folder.rglob("*") if p.is_file()] + [p for p in (var / "logs").rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" or "log" in p.name for p in published), published
    for path in published:
        assert TOKEN not in path.read_bytes().decode("utf-8", "replace"), path
    assert TOKEN not in done.stdout + done.stderr
    assert "acme: signed in with" in done.stderr  # the plugin did try to log it: the scrubber stopped it
