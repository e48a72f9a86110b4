"""JSONL out: stdout, or a file written atomically (a temporary file renamed on success), so a cron
job never leaves a half-written output behind. A symbolic link is written through (the link
stays); what is not a regular file (/dev/stdout, a FIFO, a device) is written directly. A file
named .gz, .bz2, .xz or .zst is compressed.

Every line written is valid JSON: what JSON cannot hold (NaN, Infinity, a lone surrogate, nesting
past Python's recursion limit) raises Unwritable for a record, which the runner rejects, and
costs a reject only the values it carries."""
from __future__ import annotations

import bz2
import errno
import gzip
import json
import lzma
import os
import stat
import sys
from typing import BinaryIO

import orjson

from .records import Reject, plain_json


class OutputClosed(Exception):
    """The reader of stdout went away (`| head`): stop quietly."""


class Unwritable(ValueError):
    """A record JSON cannot hold; nothing of it was written."""


# Built once, not per line; allow_nan=False: NaN and Infinity are not JSON.
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def dumps(obj: dict) -> bytes:
    """One JSONL line. A reject that cannot be written whole is written with its plain fields
    (id, source, reason, line, error, ...) and why, never lost; a record raises Unwritable."""
    line = _orjson_line(obj)
    if line:
        return line
    try:
        return _ENCODER.encode(obj).encode("utf-8") + b"\n"
    except (ValueError, RecursionError) as e:
        if isinstance(obj, Reject):
            return dumps(_plain_fields(obj, _why_unwritable(e)))
        raise Unwritable(_why_unwritable(e)) from None


def _orjson_line(obj: dict) -> bytes | None:
    """The line _ENCODER writes, by orjson (several times faster); None where orjson would write
    other bytes (plain_json) or refuses: an integer past 64 bits, nesting past 254 levels, a lone
    surrogate."""
    if not plain_json(obj):
        return None
    try:
        return orjson.dumps(obj, option=orjson.OPT_APPEND_NEWLINE)
    except orjson.JSONEncodeError:
        return None


def _why_unwritable(error: Exception) -> str:
    if isinstance(error, RecursionError):
        return "nested too deep to write as JSON"
    if isinstance(error, UnicodeEncodeError):
        return "a lone surrogate (\\ud800-\\udfff), which UTF-8 cannot hold"
    return "NaN or Infinity, which JSON cannot hold"


def _plain_fields(reject: Reject, why: str) -> dict:
    """The reject's strings and numbers, made writable, and why the rest was left out."""
    fields = {key: value.encode("utf-8", "replace").decode("utf-8") if isinstance(value, str)
              else value for key, value in reject.items()
              if value is None or isinstance(value, (str, int))}
    return {**fields, "unwritable": f"{why}: only its plain fields are written"}


class JsonlWriter:
    """Use as a context manager: the file appears under its name only when the block succeeds."""

    def __init__(self, path: str | None):
        self.path = None if path in (None, "-") else path
        self._target: str | None = None  # the file a temporary file is renamed onto
        self._tmp: str | None = None
        self._file: BinaryIO | None = None  # what is on disk
        self._stream: BinaryIO | None = None  # what is written: the file, or its compressor

    def __enter__(self) -> "JsonlWriter":
        if self.path is None:
            if sys.stdout is None:
                raise OSError(errno.EBADF, "standard output is closed", "stdout")
            self._stream = sys.stdout.buffer
        elif not replaceable(self.path):
            self._open(open(self.path, "wb"))
        else:
            self._target = os.path.realpath(self.path)
            try:
                self._open(self._create())
            except BaseException:  # a stop signal too: __exit__ will not run to remove the file
                if self._tmp:
                    unlink_if_there(self._tmp)
                raise
        return self

    def _create(self) -> BinaryIO:
        """The file written until the run succeeds (self._tmp): a new temporary file beside the
        target, named before it is made, so that a stop at any moment knows what to remove."""
        while True:
            self._tmp = os.path.join(os.path.dirname(self._target),
                                     f".zhclean-{os.urandom(6).hex()}.tmp")
            try:
                fd = os.open(self._tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            except FileExistsError:
                continue
            except OSError as e:  # named as the user named it, not as the temporary file
                self._tmp = None
                raise OSError(e.errno, e.strerror, self.path) from None
            return os.fdopen(fd, "wb", buffering=1 << 16)

    def _publish(self) -> None:
        """The finished file, renamed onto the target."""
        os.chmod(self._tmp, 0o666 & ~_umask())
        os.replace(self._tmp, self._target)

    def _open(self, file: BinaryIO) -> None:
        self._file = file
        self._stream = compressing(file, self.path)

    def _finish(self, sync: bool = True) -> None:
        """The compressor closed (its trailer written, the file left open), then the file:
        flushed and, on disk, synced."""
        if self._stream is not self._file:
            self._stream.close()
        if sync:
            self._file.flush()
            os.fsync(self._file.fileno())
        self._file.close()

    def _close_quietly(self) -> None:
        """After a failure: what could not be written is dropped with the file."""
        for f in (self._stream, self._file):
            try:
                f.close()
            except (OSError, ValueError):
                pass

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
                self._finish(sync=False)
            except BrokenPipeError:  # a FIFO's reader went away
                if exc_type is None:
                    raise OutputClosed() from None
            return
        failure = None
        if exc_type is None:
            try:
                self._finish()
                self._publish()
                return
            except OSError as e:  # disk full, quota: named as the user named it
                failure = OSError(e.errno, e.strerror, self.path)
        # The run failed, or finishing the file did: the temporary file goes, whatever is left
        # in its buffer (a flush on a full disk fails again).
        self._close_quietly()
        os.unlink(self._tmp)
        if failure:
            raise failure


def unlink_if_there(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def compressing(file: BinaryIO, name: str) -> BinaryIO:
    """`file`, or a compressor writing into it when `name` ends in .gz, .bz2, .xz or .zst. The
    bytes depend on the records only: no time or file name in a gzip header."""
    lower = name.lower()
    if lower.endswith(".gz"):
        return gzip.GzipFile(filename="", mode="wb", fileobj=file, compresslevel=6, mtime=0)
    if lower.endswith(".bz2"):
        return bz2.BZ2File(file, "wb")
    if lower.endswith(".xz"):
        return lzma.LZMAFile(file, "wb")
    if lower.endswith(".zst"):
        import zstandard  # only where .zst output is asked for

        return zstandard.ZstdCompressor().stream_writer(file, closefd=False)
    return file


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
