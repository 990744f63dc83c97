"""`auditor` with the fake platform's connector installed, for tests that start worker processes.

A worker is another process: the in-test patch of `fake_connector_installed` does not reach it, so
this launcher makes the same patch there (FAKEPLAT_URL names the fake server) and runs the CLI.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from connectors.registry import ConnectorRegistry
from tests.fakeplatform import FakePlatformConnector

ConnectorRegistry.inject(ConnectorRegistry.installed().with_classes(FakePlatformConnector))
FakePlatformConnector.base_url = os.environ["FAKEPLAT_URL"]

from auditor.cli import main  # noqa: E402

if __name__ == "__main__":
    main()
