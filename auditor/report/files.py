"""Writing a report file: what every writer (report.json, .csv, .html, summary.md, OCSF) shares.

Below the writers and publish.py, so that they import it and never each other (issue #16)."""

from __future__ import annotations

import io
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

TextWriter = Callable[[IO[str]], None]


def atomic_write(path: Path, content: str | bytes | TextWriter) -> None:
    """Temporary file in the same folder, then rename: a reader never sees half a report.

    `content` may be a function that writes the text to the open file: a report of 100,000
    findings then goes to disk piece by piece, never held whole in memory as one string."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            if callable(content):
                with io.TextIOWrapper(handle, encoding="utf-8", newline="", write_through=False) as text:
                    content(text)
                    text.flush()
                    os.fsync(handle.fileno())
            else:
                handle.write(content.encode("utf-8") if isinstance(content, str) else content)
                handle.flush()
                os.fsync(handle.fileno())
        os.chmod(tmp, 0o600)  # reports hold data about minors
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
