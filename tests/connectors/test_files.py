"""Bounded reads: a named pipe, a device or a file past the limit is refused at once, never waited on."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from connectors.files import FileRefused, read_bounded


def _within(seconds: float, call: Callable[[], object]) -> object:
    """Run call in a thread; fail (instead of hanging the suite) if it has not returned in time."""
    result: list[object] = []
    worker = threading.Thread(target=lambda: result.append(_outcome(call)), daemon=True)
    worker.start()
    worker.join(timeout=seconds)
    assert not worker.is_alive(), f"still reading after {seconds} s"
    return result[0]


def _outcome(call: Callable[[], object]) -> object:
    try:
        return call()
    except Exception as exc:  # the test inspects what was raised
        return exc


def test_a_regular_file_is_read_whole(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"record,id\nadmin,1\n" * 100_000)
    assert read_bounded(path, max_bytes=10_000_000, timeout_seconds=30) == path.read_bytes()


def test_a_named_pipe_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    pipe = tmp_path / "export.csv"
    os.mkfifo(pipe)
    outcome = _within(10, lambda: read_bounded(pipe, max_bytes=1000, timeout_seconds=30))
    assert isinstance(outcome, FileRefused) and "named pipe" in str(outcome)


def test_a_device_is_refused(tmp_path: Path) -> None:
    outcome = _within(10, lambda: read_bounded(Path("/dev/zero"), max_bytes=1000, timeout_seconds=30))
    assert isinstance(outcome, FileRefused) and "character device" in str(outcome)


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"x" * 1001)
    with pytest.raises(FileRefused, match="1001 bytes, more than the limit of 1000"):
        read_bounded(path, max_bytes=1000, timeout_seconds=30)


def test_a_read_past_its_time_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    path.write_bytes(b"x" * 3_000_000)
    with pytest.raises(FileRefused, match="reading took more than 0 s"):
        read_bounded(path, max_bytes=10_000_000, timeout_seconds=0)
