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
from typing import Any

from rich.console import Console, ConsoleDimensions

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
    path = log_dir / LOG_FILE
    root = logging.getLogger()
    if any(isinstance(h, TimedRotatingFileHandler) and Path(h.baseFilename) == path.resolve() for h in root.handlers):
        return path
    handler = _PrivateLogFile(path, when="midnight", backupCount=KEEP_DAYS, utc=True, encoding="utf-8", delay=True)
    handler.setLevel(level)
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    from connectors.scrub import ScrubbingFilter  # imported when a log file is kept, not for --help

    handler.addFilter(ScrubbingFilter())
    root.addHandler(handler)
    return path


class _PrivateLogFile(TimedRotatingFileHandler):
    """Opened at the first record, not before: a command that logs nothing (`run --dry-run`)
    leaves no folder or file behind."""

    def _open(self) -> Any:
        folder = Path(self.baseFilename).parent
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        stream = super()._open()
        os.chmod(self.baseFilename, 0o600)  # logs name minors
        return stream


# Wide enough that a table's rows never fold when output goes to a file or a pipe.
PIPED_WIDTH = 10_000


class AuditorConsole(Console):
    """Rich on a terminal; when stdout/stderr is a pipe or a file (cron, a CI log, grep), no line is
    wrapped or folded, so one message stays one line whatever the terminal width."""

    @property
    def size(self) -> ConsoleDimensions:
        real: ConsoleDimensions = Console.size.fget(self)  # type: ignore[attr-defined]
        return real if self.is_terminal else ConsoleDimensions(PIPED_WIDTH, real.height)

    @size.setter
    def size(self, new_size: tuple[int, int]) -> None:
        Console.size.fset(self, new_size)  # type: ignore[attr-defined]

    @property
    def soft_wrap(self) -> bool:
        return self._soft_wrap or not self.is_terminal

    @soft_wrap.setter
    def soft_wrap(self, value: bool) -> None:
        self._soft_wrap = value


def make_console(stderr: bool = False) -> Console:
    """The one place the CLI's consoles are made: see AuditorConsole."""
    return AuditorConsole(stderr=stderr)
