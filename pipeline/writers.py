"""JSONL out: stdout, or a file written atomically (a temporary file renamed on success), so a cron
job never leaves a half-written output behind. A symbolic link is written through (the link
stays); what is not a regular file (/dev/stdout, a FIFO, a device) is written directly."""
from __future__ import annotations

import errno
import json
import os
import stat
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
        self._target: str | None = None  # the file a temporary file is renamed onto
        self._tmp: str | None = None
        self._stream: BinaryIO | None = None

    def __enter__(self) -> "JsonlWriter":
        if self.path is None:
            if sys.stdout is None:
                raise OSError(errno.EBADF, "standard output is closed", "stdout")
            self._stream = sys.stdout.buffer
        elif not replaceable(self.path):
            self._stream = open(self.path, "wb")
        else:
            self._target = os.path.realpath(self.path)
            try:
                fd, self._tmp = tempfile.mkstemp(prefix=".zhclean-", suffix=".tmp",
                                                 dir=os.path.dirname(self._target))
            except OSError as e:  # named as the user named it, not as the temporary file
                raise OSError(e.errno, e.strerror, self.path) from None
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
        except OSError as e:
            raise OSError(e.errno, e.strerror, self.path or "stdout") from None

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.path is None:
            try:
                self._stream.flush()
            except BrokenPipeError:
                if exc_type is None:
                    raise OutputClosed() from None
            return
        if self._tmp is None:  # not a regular file: written directly
            try:
                self._stream.close()
            except BrokenPipeError:  # a FIFO's reader went away
                if exc_type is None:
                    raise OutputClosed() from None
            return
        failure = None
        if exc_type is None:
            try:
                self._stream.flush()
                os.fsync(self._stream.fileno())
                self._stream.close()
                os.chmod(self._tmp, 0o666 & ~_umask())
                os.replace(self._tmp, self._target)
                return
            except OSError as e:  # disk full, quota: named as the user named it
                failure = OSError(e.errno, e.strerror, self.path)
        # The run failed, or finishing the file did: the temporary file goes, whatever is left
        # in its buffer (a flush on a full disk fails again).
        try:
            self._stream.close()
        except OSError:
            pass
        os.unlink(self._tmp)
        if failure:
            raise failure


def replaceable(path: str) -> bool:
    """Whether `path` is a regular file (or a link to one), or nothing yet: what a finished
    output may be renamed onto."""
    try:
        return stat.S_ISREG(os.stat(path).st_mode)
    except FileNotFoundError:
        return True


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
