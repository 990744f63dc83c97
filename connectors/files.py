"""Bounded reads of files the operator names (division inputs, ITS exports).

A path in an input file may point at a named pipe, a device or a huge file by mistake: reading
it must neither hang the nightly run nor fill its memory. Both the input loader and the manual
connector read through `read_bounded`.
"""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

CHUNK_BYTES = 1 << 20


class FileRefused(OSError):
    """The file is not one the auditor reads: not a regular file, too large, or too slow."""


def file_kind(mode: int) -> str:
    """What a non-regular file is, in words an operator knows."""
    kinds = (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a named pipe (FIFO)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def read_bounded(path: Path, *, max_bytes: int, timeout_seconds: float) -> bytes:
    """The file's bytes; FileRefused if it is not a regular file, exceeds max_bytes or takes too long.

    O_NONBLOCK: opening a named pipe must not wait for a writer; fstat after open checks the very
    file that was opened (no swap between a check and the read).
    """
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise FileRefused(f"{path} is {file_kind(info.st_mode)}, not a regular file")
        if info.st_size > max_bytes:
            raise FileRefused(f"{path} is {info.st_size} bytes, more than the limit of {max_bytes}")
        deadline = time.monotonic() + timeout_seconds
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(descriptor, CHUNK_BYTES):
            total += len(chunk)
            if total > max_bytes:  # the file grew while being read
                raise FileRefused(f"{path} is more than the limit of {max_bytes} bytes")
            if time.monotonic() >= deadline:
                raise FileRefused(f"{path}: reading took more than {timeout_seconds:g} s")
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(descriptor)
