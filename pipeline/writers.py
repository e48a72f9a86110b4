"""JSONL out: stdout, or a file written atomically (a temporary file renamed on success), so a cron
job never leaves a half-written output behind."""
from __future__ import annotations

import json
import os
import sys
import tempfile
from typing import BinaryIO


class OutputClosed(Exception):
    """The reader of stdout went away (`| head`): stop quietly."""


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))  # built once, not per line


def dumps(obj: dict) -> bytes:
    return _ENCODER.encode(obj).encode("utf-8") + b"\n"


class JsonlWriter:
    """Use as a context manager: the file appears under its name only when the block succeeds."""

    def __init__(self, path: str | None):
        self.path = None if path in (None, "-") else path
        self._tmp: str | None = None
        self._stream: BinaryIO | None = None

    def __enter__(self) -> "JsonlWriter":
        if self.path is None:
            self._stream = sys.stdout.buffer
        else:
            directory = os.path.dirname(os.path.abspath(self.path))
            fd, self._tmp = tempfile.mkstemp(prefix=".zhclean-", suffix=".tmp", dir=directory)
            self._stream = os.fdopen(fd, "wb", buffering=1 << 16)
        return self

    def write(self, obj: dict) -> None:
        self.write_bytes(dumps(obj))

    def write_bytes(self, data: bytes) -> None:
        """Already-serialised JSONL: one line, or many (from a worker process)."""
        try:
            self._stream.write(data)
        except BrokenPipeError:
            raise OutputClosed() from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path is None:
            try:
                self._stream.flush()
            except BrokenPipeError:
                if exc_type is None:
                    raise OutputClosed() from None
            return
        if exc_type is None:
            self._stream.flush()
            os.fsync(self._stream.fileno())
            self._stream.close()
            os.chmod(self._tmp, 0o666 & ~_umask())
            os.replace(self._tmp, self.path)
        else:
            self._stream.close()
            os.unlink(self._tmp)


class BufferWriter:
    """JSONL lines collected in memory: what a worker process sends back for the parent to
    write."""

    def __init__(self):
        self.lines: list[bytes] = []

    def write(self, obj: dict) -> None:
        self.lines.append(dumps(obj))


class NullWriter:
    """Where rejects go when no --rejects file is named: counted (in stats), not kept."""

    lines = ()

    def __enter__(self) -> "NullWriter":
        return self

    def write(self, obj: dict) -> None:
        pass

    def __exit__(self, *exc) -> None:
        pass


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
