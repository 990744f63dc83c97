"""Where a run's logs go, and why every file the auditor makes is private.

Reports, the database and logs hold data about minors: the process creates them readable by its
own user only (umask 077: files 0600, folders 0700). With AUDITOR_LOG_DIR set, logs also go to
`<dir>/auditor.log`, rotated at midnight UTC and kept 90 days; they are scrubbed like stderr.
"""

from __future__ import annotations

import logging
import os
from logging.handlers import TimedRotatingFileHandler
from pathlib import Path

from connectors.scrub import ScrubbingFilter

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LOG_FILE = "auditor.log"
KEEP_DAYS = 90


def private_by_default() -> None:
    """Files this process creates are 0600 and folders 0700, whatever the caller's umask."""
    os.umask(0o077)


def attach_log_file(log_dir: Path | None, level: int = logging.INFO) -> Path | None:
    """Also log to `log_dir/auditor.log` (rotated daily); returns the file, or None without a folder."""
    if log_dir is None:
        return None
    log_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    if any(isinstance(h, TimedRotatingFileHandler) and Path(h.baseFilename) == path.resolve() for h in root.handlers):
        return path
    handler = TimedRotatingFileHandler(path, when="midnight", backupCount=KEEP_DAYS, utc=True, encoding="utf-8")
    os.chmod(path, 0o600)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(ScrubbingFilter())
    root.addHandler(handler)
    return path
