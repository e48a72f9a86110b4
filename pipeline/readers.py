"""Inputs: files, directories (recursive) and stdin, as records.

Formats by extension, each also compressed (.gz .bz2 .xz .zst):
    .jsonl .ndjson .json   one record per line (UTF-8); a .json file may also be a JSON array or
                           pretty-printed objects
    .txt                   one article per file, any of UTF-8, GB18030/GBK, Big5/Big5-HKSCS, UTF-16
    .html .htm             one article per page: text from an HTML parser, blocks become lines
stdin ("-") is sniffed: gzip, bzip2, xz or zstd data is decompressed first; then `{` (or `[{`, a
JSON array) starts JSONL, `<` starts HTML, anything else is text; nothing at all is JSONL of no
records. A directory is walked for files of these formats; what else it holds (hidden files, links
to directories, sidecars, other formats, files the --include and --exclude globs leave out) is
passed to on_ignored.

Readers stream: JSONL is read a line at a time, a JSON array an element at a time (each numbered by
the line it starts on); a .txt or .html file is one record, so it is read whole. Memory is bounded
whatever the input: a record over max_record_bytes (a line, an element, a file once decompressed) is
never held whole but read on in blocks (a file: not at all, decompression stops at the limit) and
rejected as too_large with its head. Bad input never stops a run: it becomes a
Reject (reason and file:line) which the runner sends to the rejects stream and reports on stderr: a
line Python's json cannot parse, a binary file, undecodable bytes. Input that holds nothing (a blank
JSONL line, an empty file) is a Notice: a reject that is no error.
"""
from __future__ import annotations

import base64
import bz2
import codecs
import fnmatch
import gzip
import io
import json
import lzma
import math
import os
import stat
import sys
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any, BinaryIO, Callable, Iterable, Iterator

import orjson
import regex

from . import charset
from .records import (Notice, Reject, cut, derive_id, field_reject, input_reject,
                      new_record, plain_json)

STAGE = "read"
# The compressed formats read: the name's suffix, the first bytes (which tell them on stdin or in
# a file of no known extension), and the reader of a file object holding them.
_COMPRESSED = ((".gz", b"\x1f\x8b", lambda f: gzip.GzipFile(fileobj=f)),
               (".bz2", b"BZh", bz2.BZ2File),
               (".xz", b"\xfd7zXZ\x00", lzma.LZMAFile),
               (".zst", b"\x28\xb5\x2f\xfd", lambda f: io.BufferedReader(ZstdReader(f))))
COMPRESSIONS = tuple(suffix for suffix, _, _ in _COMPRESSED)
FORMATS = {".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
           ".txt": "txt", ".text": "txt", ".html": "html", ".htm": "html"}


# \ud800-\udfff: half of a surrogate pair, which json.loads leaves alone when it has no partner.
_SURROGATE_ESCAPE = regex.compile(rb"\\u[dD][89a-fA-F]")
# A lone surrogate, which JSON may escape but no UTF-8 output can hold.
_SURROGATE = regex.compile("[\ud800-\udfff]")


@dataclass(frozen=True)
class FieldMap:
    """Which input JSONL fields hold the text, title and id (other schemas than zhclean's)."""
    text: str = "text"
    title: str = "title"
    id: str = "id"


class InputError(Exception):
    """An input path that does not exist or cannot be opened (usage error, not bad data)."""


class UnlistedDirectory(str):
    """A directory below an input that could not be listed: read_inputs reports it as
    unreadable, in its place among the files."""

    def __new__(cls, error: OSError):
        path = super().__new__(cls, error.filename)
        path.error = error.strerror or str(error)
        return path


@dataclass(frozen=True)
class Globs:
    """--include and --exclude: fnmatch patterns on a file's path relative to the directory given
    (`*` matches `/` too, so `*.txt` is every .txt file at any depth)."""
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def why_not_read(self, relative: str) -> str | None:
        """`excluded`, or None for a file the globs let through."""
        included = not self.include or _matches(relative, self.include)
        return None if included and not _matches(relative, self.exclude) else "excluded"


def _matches(relative: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(relative, pattern) for pattern in patterns)


def expand_paths(paths: tuple[str, ...], only_jsonl: bool = False,
                 on_ignored: Callable[[str, str], None] | None = None,
                 globs: Globs = Globs()) -> Iterator[str]:
    """Files named, and the files of a known format below a directory, in sorted order.
    only_jsonl (the stage commands, which read records): JSONL files only. What a directory holds
    and is not read goes to on_ignored(path, reason) (_why_not_read, or `excluded` by the globs; a
    link to a directory is not followed, so that a link to a parent cannot loop). A file named
    is read whatever the globs say."""
    wanted = ("jsonl",) if only_jsonl else tuple(set(FORMATS.values()))
    ignored = on_ignored or (lambda path, reason: None)
    for p in paths or ("-",):
        if p == "-":
            yield p
        elif os.path.isdir(p):
            unlisted: list[OSError] = []
            for root, dirs, files in os.walk(p, onerror=unlisted.append):
                yield from map(UnlistedDirectory, unlisted)
                unlisted.clear()
                for name in sorted(dirs):
                    if name.startswith(".") or os.path.islink(os.path.join(root, name)):
                        ignored(os.path.join(root, name), "hidden" if name.startswith(".")
                                else "symlinked_directory")
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                documents = {_stem(name) for name in files if format_of(name) in ("txt", "html")}
                for name in sorted(files):
                    reason = _why_not_read(name, documents, wanted) or \
                        globs.why_not_read(os.path.relpath(os.path.join(root, name), p))
                    if reason:
                        ignored(os.path.join(root, name), reason)
                    else:
                        yield os.path.join(root, name)
            yield from map(UnlistedDirectory, unlisted)
        elif not os.path.lexists(p):  # a broken link is read, and reported as unreadable
            raise InputError(f"{p}: no such file or directory")
        elif format_of(p) not in (*wanted, None):
            raise InputError(f"{p}: not JSONL records; raw files go through `zhclean read` "
                             "or `zhclean run`")
        else:
            yield p


# NAME.meta.json beside NAME.txt or NAME.html: the page's metadata (url, site), as collectors
# keep it (benchmarks/data/pages), not records.
SIDECAR = ".meta.json"
MAX_SIDECAR_BYTES = 1 << 20


def _why_not_read(name: str, documents: set[str], wanted: tuple[str, ...]) -> str | None:
    """Why a file met in a directory is not read (None: it is). documents: the stems of the
    .txt and .html files beside it (_stem). A sidecar is the file sidecar_of reads: any other
    name is read as an input, so no metadata goes unread without a word."""
    if name.startswith("."):
        return "hidden"
    if name.endswith(SIDECAR) and name[:-len(SIDECAR)] in documents:
        return "sidecar"
    fmt = format_of(name)
    if fmt is None:
        return "unknown_format"
    return None if fmt in wanted else "not_jsonl"


def _stem(name: str) -> str:
    """The name without its compression suffix and extension, as written (Page.TXT.gz: Page)."""
    return os.path.splitext(_without_compression(name))[0]


def format_of(name: str) -> str | None:
    return FORMATS.get(os.path.splitext(_uncompressed(name))[1])


def _uncompressed(name: str) -> str:
    """The name, lowercase, without a compression suffix."""
    return _without_compression(name).lower()


def _without_compression(name: str) -> str:
    """The name as written without a compression suffix (in any case: .GZ too)."""
    lower = name.lower()
    suffix = next((suffix for suffix in COMPRESSIONS if lower.endswith(suffix)), "")
    return name[:len(name) - len(suffix)]


def may_hold_array(path: str) -> bool:
    """Where a JSON array of records is told from the first bytes: stdin, .json files and files of
    no known format. .jsonl and .ndjson files are lines, whatever the first one holds."""
    return path == "-" or format_of(path) is None or _uncompressed(path).endswith(".json")


def open_binary(path: str, on_read: Callable[[int], None] | None = None
                ) -> tuple[BinaryIO, BinaryIO]:
    """(the file's bytes, decompressed by its extension; the file on disk, for the caller to
    close: a decompressor does not close a file it was given). on_read(n) hears of the bytes read
    from the disk (compressed), as they are read."""
    if path == "-":
        return sys.stdin.buffer, sys.stdin.buffer
    disk: BinaryIO = io.BufferedReader(CountedReader(open(path, "rb", buffering=0), on_read)) \
        if on_read else open(path, "rb")
    lower = path.lower()
    decompress = next((d for suffix, _, d in _COMPRESSED if lower.endswith(suffix)), None)
    return (decompress(disk) if decompress else disk), disk


class CountedReader(io.RawIOBase):
    """A file whose reads are told to on_read(bytes read): what the progress line counts."""

    def __init__(self, file: io.FileIO, on_read: Callable[[int], None]):
        self.file = file
        self._on_read = on_read

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self.file.fileno()

    def readinto(self, buffer) -> int:
        n = self.file.readinto(buffer)
        self._on_read(n or 0)
        return n

    def close(self) -> None:
        self.file.close()
        super().close()


class ZstdReader(io.RawIOBase):
    """zstd data, read as gzip reads its own: a truncated stream raises EOFError and corrupt
    data OSError (zstandard's own stream reader ends a truncated stream silently)."""

    def __init__(self, stream: BinaryIO):
        import zstandard  # only where zstd input is met

        self._zstd = zstandard
        self._file = stream
        self._decompressor = zstandard.ZstdDecompressor().decompressobj()
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        while not self._pending:
            compressed = self._file.read(1 << 16)
            if not compressed:
                if not self._decompressor.eof:
                    raise EOFError("compressed file ended before the end-of-stream marker")
                return 0
            self._pending = self._decompress(compressed)
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def _decompress(self, data: bytes) -> bytes:
        out = b""
        try:
            while data:
                if self._decompressor.eof:  # the next frame of a concatenated file
                    self._decompressor = self._zstd.ZstdDecompressor().decompressobj()
                out += self._decompressor.decompress(data)
                data = self._decompressor.unused_data if self._decompressor.eof else b""
        except self._zstd.ZstdError as e:
            raise OSError(f"corrupt zstd data: {e}") from None
        return out

    def close(self) -> None:
        self._file.close()
        super().close()


# The default of --max-record-mb: far above any article (the longest news page is under 1 MB), and
# low enough that the stages hold a record of it in well under a gigabyte.
MAX_RECORD_BYTES = 16_000_000


def read_inputs(paths: tuple[str, ...], fields: FieldMap = FieldMap(),
                only_jsonl: bool = False, chunk_bytes: int | None = None,
                max_record_bytes: int = MAX_RECORD_BYTES, expanded: bool = False,
                on_read: Callable[[int], None] | None = None, lines: bool = False
                ) -> Iterator[dict]:
    """Records (dicts) and Rejects from every input, in order. With chunk_bytes, Unparsed chunks
    of about that size stand in for the records, so that worker processes do the parsing. A record
    over max_record_bytes is a too_large reject, read no further than it takes to tell. expanded:
    the paths are expand_paths' files already, each read as it is now (one deleted or replaced by a
    directory since is an unreadable reject, neither a usage error nor walked). on_read: see
    open_binary. lines: a text input is a record per line (read_text_lines), not one."""
    for path in paths if expanded else expand_paths(paths, only_jsonl):
        if isinstance(path, UnlistedDirectory):
            yield input_reject(path, None, STAGE, "unreadable", error=path.error)
            continue
        fmt = "jsonl" if only_jsonl else format_of(path)
        try:
            stream, disk = open_binary(path, on_read)
        except OSError as e:
            yield input_reject(path, None, STAGE, "unreadable", error=e.strerror or str(e))
            continue
        try:
            if fmt is None:  # stdin or an unknown extension named explicitly: sniff
                stream, fmt = sniffed(stream)
            if lines and fmt == "txt":
                fmt = "lines"
            empty = True
            for item in _file_items(stream, path, fmt, fields, chunk_bytes, max_record_bytes):
                empty = False
                yield item
            if empty and path != "-":  # empty stdin is the end of a pipe that gave nothing
                yield empty_file(path)
        except (OSError, EOFError, lzma.LZMAError) as e:
            # A truncated or corrupt compressed file: what was read stands, the rest is reported.
            yield input_reject(path, None, STAGE, "unreadable", error=str(e))
        finally:
            if disk is not sys.stdin.buffer:  # compressed stdin: its decompressor is `stream`
                stream.close()
                disk.close()


def _file_items(stream: BinaryIO, path: str, fmt: str, fields: FieldMap,
                chunk_bytes: int | None, limit: int) -> Iterator[dict]:
    """What one input gives: records and rejects, or Unparsed chunks of it."""
    if fmt == "lines":
        found = text_lines(stream, path, limit)
        if isinstance(found, Reject):
            return iter([found])
        encoding, numbered = found
        if chunk_bytes:
            return _chunks(numbered, path, fmt, fields, chunk_bytes, encoding)
        return read_text_lines(numbered, path, encoding)
    if fmt == "jsonl":
        numbered = numbered_lines(stream, may_hold_array(path), limit)
        if chunk_bytes:
            return _chunks(numbered, path, fmt, fields, chunk_bytes)
        return read_jsonl(numbered, path, fields)
    data = document_bytes(stream, path, limit)
    if not isinstance(data, bytes):
        return iter([data])
    if chunk_bytes:
        return iter([Unparsed(path, fmt, (data,), len(data))])
    return read_document(data, path, fmt)


def document_bytes(stream: BinaryIO, source: str, limit: int) -> bytes | Reject:
    """A .txt or .html file's bytes; a reject when it holds more than limit bytes (decompressed):
    no more than limit + 1 are read, so a small .gz that expands without end costs nothing."""
    data = stream.read(limit + 1)
    if len(data) <= limit:
        return data
    kind = charset.binary_kind(data)
    if kind:
        return binary_reject(source, kind)
    head = data[:HEAD_BYTES]
    text = head.decode(charset.detect(head) or "utf-8", errors="replace")
    return TooLarge(text, _plain_file_size(stream), limit).reject(source, None)


def _plain_file_size(stream: BinaryIO) -> int | None:
    """The size of what a stream reads when it reads a regular file as it is; None when it
    decompresses (reading stopped at the limit, so the size is not known) or reads a pipe."""
    try:  # a decompressor has no raw file, and its buffered readers' have no descriptor
        status = os.fstat(stream.raw.fileno())
    except (AttributeError, OSError):
        return None
    return status.st_size if stat.S_ISREG(status.st_mode) else None



@dataclass(frozen=True)
class TooLarge:
    """A record over the size limit, in place of its bytes: the first characters of it, and its
    size in bytes (None where it is not known: reading stopped at the limit)."""
    head: str
    size: int | None
    limit: int

    def reject(self, source: str, lineno: int | None, record_id: str | None = None) -> Reject:
        limit = f"the limit of {self.limit:,} bytes (--max-record-mb)"
        error = f"{self.size:,} bytes: over {limit}" if self.size is not None else \
            f"over {limit}; read no further, so its size is not known"
        return input_reject(source, lineno, STAGE, "too_large", record_id, error=error,
                            text=self.head[:MAX_SHOWN_CHARS] + "…", size=self.size)


def empty_file(source: str) -> Notice:
    """An empty file is no records, as an empty stdin is: no error."""
    return Notice(input_reject(source, None, STAGE, "empty_file", error="no records in the file"))


_LEADING_SPACE = b"\xef\xbb\xbf \t\r\n"


def sniffed(stream: BinaryIO) -> tuple[BinaryIO, str]:
    """The stream (decompressed if it holds compressed data) and its format, told from its first
    bytes other than spaces and a BOM. A pipe may deliver a few bytes at a time: the bytes read to
    tell are put back in front."""
    head, stream = _lookahead(stream)
    for _, magic, decompress in _COMPRESSED:
        if head.startswith(magic):
            head, stream = _lookahead(decompress(stream))
            break
    if _JSON_ARRAY.match(head):
        return stream, "jsonl"
    start = head.lstrip(_LEADING_SPACE)[:1]
    return stream, {b"{": "jsonl", b"": "jsonl", b"<": "html"}.get(start, "txt")


def _lookahead(stream: BinaryIO, min_bytes: int = 8) -> tuple[bytes, BinaryIO]:
    """The first min_bytes (or more) of a stream, and the stream from its start again."""
    head = b""
    # An opening bracket alone does not tell a JSON array from a text beginning `[快讯]`.
    while len(head) < min_bytes or not (start := head.lstrip(_LEADING_SPACE)) or \
            _ARRAY_OPENING.fullmatch(start):
        data = stream.read1(1 << 16)
        if not data:
            break
        head += data
    return head, io.BufferedReader(_Prepended(head, stream))


class _Prepended(io.RawIOBase):
    """Bytes already read from a stream, then the rest of the stream."""

    def __init__(self, head: bytes, stream: BinaryIO):
        self._head = head
        self._stream = stream

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._head[:len(buffer)] or self._stream.read1(len(buffer))
        self._head = self._head[len(data):]
        buffer[:len(data)] = data
        return len(data)

    def close(self) -> None:
        if self._stream is not sys.stdin.buffer:
            self._stream.close()
        super().close()


@dataclass(frozen=True)
class Unparsed:
    """Input bytes not parsed yet: JSONL lines as numbered_lines gives them, or a whole .txt/.html
    file. parse() gives what read_inputs would have given in their place."""
    source: str
    fmt: str
    data: tuple[tuple[int, int | str, bytes | TooLarge], ...] | tuple[bytes]
    size: int
    fields: FieldMap = FieldMap()
    encoding: str = "utf-8"  # of a text read a record per line

    def parse(self) -> Iterator[dict]:
        if self.fmt == "jsonl":
            return read_jsonl(self.data, self.source, self.fields)
        if self.fmt == "lines":
            return read_text_lines(self.data, self.source, self.encoding)
        return read_document(self.data[0], self.source, self.fmt)


def _chunks(numbered_input: Iterable[tuple[int, int | str, bytes | TooLarge]], source: str,
            fmt: str, fields: FieldMap, chunk_bytes: int, encoding: str = "utf-8"
            ) -> Iterator[Unparsed]:
    """Numbered lines (of JSONL, or of a text read a record per line) as Unparsed chunks of
    about chunk_bytes."""
    lines: list[tuple[int, int | str, bytes | TooLarge]] = []
    size = 0

    def chunk() -> Unparsed:
        return Unparsed(source, fmt, tuple(lines), size, fields, encoding)

    try:
        for numbered in numbered_input:
            lines.append(numbered)
            size += len(numbered[2]) if isinstance(numbered[2], bytes) else 0  # no work
            if size >= chunk_bytes:
                yield chunk()
                lines, size = [], 0
    except (OSError, EOFError, lzma.LZMAError):
        if lines:  # the lines before a read error stand, as they do when parsing in place
            yield chunk()
        raise
    if lines:
        yield chunk()


def read_jsonl(lines: Iterable[tuple[int, int | str, bytes | TooLarge]], source: str,
               fields: FieldMap) -> Iterator[dict]:
    """Records from numbered JSONL lines (numbered_lines). Whatever a line holds, it costs that
    line only: a reject naming the file and line, and the run goes on."""
    for lineno, place, raw in lines:
        if isinstance(raw, TooLarge):
            yield raw.reject(source, lineno, derive_id(source, place))
            continue
        line = raw.rstrip(b"\r\n")
        if not line.strip():  # nothing, as jq and sqlite-utils take it: set aside, no error
            yield Notice(input_reject(source, lineno, STAGE, "blank_line",
                                      derive_id(source, place)))
            continue
        if len(line) > MAX_NESTING and line.count(b"[") + line.count(b"{") > MAX_NESTING and \
                nesting(line) > MAX_NESTING:
            yield input_reject(source, lineno, STAGE, "malformed_json", derive_id(source, place),
                               error=f"nested too deep to read (more than {MAX_NESTING} levels)",
                               text=line.decode("utf-8", errors="replace"))
            continue
        try:
            obj, non_finite = parsed_line(line)
        except UnicodeEncodeError:
            yield input_reject(source, lineno, STAGE, "undecodable", derive_id(source, place),
                               error="a lone surrogate (\\ud800-\\udfff) in a JSON string",
                               raw_base64=base64.b64encode(line).decode("ascii"))
            continue
        except UnicodeDecodeError as e:  # raw surrogates (\xed\xa0\x80) too: not UTF-8
            yield input_reject(source, lineno, STAGE, "undecodable", derive_id(source, place),
                               error=f"not UTF-8 at byte {e.start}",
                               raw_base64=base64.b64encode(line).decode("ascii"))
            continue
        except (ValueError, RecursionError) as e:
            yield input_reject(source, lineno, STAGE, "malformed_json", derive_id(source, place),
                               error=json_error(e), text=line.decode("utf-8", errors="replace"))
            continue
        if not isinstance(obj, dict):
            yield input_reject(source, lineno, STAGE, "not_an_object", derive_id(source, place),
                               error=f"a JSON {type(obj).__name__}, not an object", value=obj)
            continue
        record = jsonl_record(obj, source, lineno, fields, place)
        for path, token in non_finite:
            yield field_reject(record, STAGE, "non_finite_number", path, token, input_line=lineno,
                               error=f"{token} in {path} is not a JSON number: written as null")
        yield record


# Python's json reads as deep as the stack beneath it allows (the recursion limit, less the calls
# already made), which differs in a worker process: a fixed limit well below it makes a line's
# fate the same with any --jobs.
MAX_NESTING = 500
_NESTING_TOKEN = regex.compile(rb'"(?:[^"\\]|\\.)*+"|[\[\]{}]')


def nesting(line: bytes) -> int:
    """How deep the arrays and objects of a JSON text nest (brackets in strings aside)."""
    depth = deepest = 0
    for token in _NESTING_TOKEN.finditer(line):
        if token[0] in (b"[", b"{"):
            depth += 1
            deepest = max(deepest, depth)
        elif token[0] in (b"]", b"}"):
            depth -= 1
    return deepest


def json_error(error: Exception) -> str:
    """What stopped the parser, in words: a syntax error, or JSON that Python cannot hold."""
    if isinstance(error, json.JSONDecodeError):
        return f"{error.msg} at column {error.colno}"
    if isinstance(error, RecursionError):
        return f"nested too deep to read (Python's limit: about {sys.getrecursionlimit()} levels)"
    if "integer string conversion" in str(error):
        return f"an integer of more than {sys.get_int_max_str_digits()} digits"
    return str(error)


class _NonFinite(str):
    """NaN, Infinity, -Infinity or a number too large for a float (1e400), as written: Python's
    json reads them, but they are not JSON and cannot be written back."""


class _NonFiniteMet(Exception):
    """Raised by the first parse on meeting a _NonFinite: the text is parsed again, noting it."""


def _refuse(token: str):
    raise _NonFiniteMet


def _finite_float(token: str, non_finite=_refuse) -> float:
    value = float(token)
    return value if math.isfinite(value) else non_finite(token)


# Built once (not per line): the first for every line, the second for the few that hold one.
_DECODE = json.JSONDecoder(parse_constant=_refuse, parse_float=_finite_float).decode
_DECODE_NOTING = json.JSONDecoder(
    parse_constant=_NonFinite, parse_float=lambda token: _finite_float(token, _NonFinite)).decode


def parsed_line(line: bytes) -> tuple[Any, list[tuple[str, str]]]:
    """parsed_json of a JSONL line (its bytes); a lone surrogate escaped in it raises
    UnicodeEncodeError. orjson reads the common line; Python's json what orjson refuses (NaN,
    1e400, a lone surrogate, a BOM, bytes that are not UTF-8) or reads another way (plain_json:
    an integer past 64 bits it reads as a float)."""
    try:
        obj = orjson.loads(line)
    except orjson.JSONDecodeError:
        pass
    else:
        if plain_json(obj):
            return obj, []
    obj, non_finite = parsed_json(line.decode("utf-8-sig"))
    if b"\\u" in line and _SURROGATE_ESCAPE.search(line):
        json.dumps(obj, ensure_ascii=False).encode("utf-8")  # a lone one cannot be written
    return obj, non_finite


def parsed_json(text: str) -> tuple[Any, list[tuple[str, str]]]:
    """The value of a JSON text, each non-finite number in it made null; and where they were
    (path such as `meta.scores[2]`, token as written)."""
    try:
        return _DECODE(text), []
    except _NonFiniteMet:
        value = _DECODE_NOTING(text)
        return value, nulled(value)


def nulled(value: Any) -> list[tuple[str, str]]:
    """Each _NonFinite below `value` replaced by None, in place; their paths and tokens, in the
    order of the text. Walked without recursion: the value may be nested as deep as the parser
    goes."""
    found = []
    pending = [(None, None, value, "")]  # parent, key, node, path; popped in document order
    while pending:
        parent, key, node, path = pending.pop()
        if isinstance(node, _NonFinite) and parent is not None:
            parent[key] = None
            found.append((path, str(node)))
        elif isinstance(node, dict):
            pending.extend((node, k, v, f"{path}.{k}" if path else k)
                           for k, v in reversed(node.items()))
        elif isinstance(node, list):
            pending.extend((node, i, v, f"{path}[{i}]") for i, v in reversed(list(enumerate(node))))
    return found


# How much of a text read a record per line its encoding is told from.
DETECT_BYTES = 1 << 16


def text_lines(stream: BinaryIO, source: str, limit: int
               ) -> tuple[str, Iterator[tuple[int, int, bytes | TooLarge]]] | Reject:
    """A text's encoding, told from its first DETECT_BYTES as for a document (text_encoding), and
    its numbered lines (line number, place, bytes), each read no further than limit. UTF-16, whose
    line break is two bytes, is decoded whole (up to the limit) and its lines given as
    UTF-16-LE."""
    head, stream = _lookahead(stream, DETECT_BYTES)
    encoding = text_encoding(head, source)
    if isinstance(encoding, Reject):
        return encoding
    if encoding.startswith("utf-16"):
        whole = stream.read(limit + 1)
        if len(whole) > limit:
            too_large = TooLarge(whole[:HEAD_BYTES].decode(encoding, errors="replace"), None,
                                 limit)
            return encoding, iter([(1, 1, too_large)])
        pieces = whole.decode(encoding, errors="replace").split("\n")
        if pieces[-1] == "":  # the file's last line break
            pieces.pop()
        return "utf-16-le", ((n, n, piece.encode("utf-16-le")) for n, piece in enumerate(pieces, 1))
    return encoding, ((n, n, line) for n, line in enumerate(bounded_lines(stream, limit), 1))


def read_text_lines(lines: Iterable[tuple[int, int | str, bytes | TooLarge]], source: str,
                    encoding: str) -> Iterator[dict]:
    """A text read a record per line (--lines: a file of headlines or sentences): each line a
    record whose id is derived from the file and the line number; a blank line is a notice, a
    line that is not `encoding` is undecodable, as in JSONL."""
    plain = encoding.replace("-sig", "")
    for lineno, place, raw in lines:
        record_id = derive_id(source, place)
        if isinstance(raw, TooLarge):
            yield raw.reject(source, lineno, record_id)
            continue
        try:
            text = raw.decode(encoding if lineno == 1 else plain)  # a BOM opens line 1 only
        except UnicodeDecodeError as e:
            yield input_reject(source, lineno, STAGE, "undecodable", record_id,
                               error=f"not {encoding} at byte {e.start}",
                               raw_base64=base64.b64encode(raw).decode("ascii"))
            continue
        text = text.rstrip("\r\n")
        if not text.strip():
            yield Notice(input_reject(source, lineno, STAGE, "blank_line", record_id))
            continue
        yield new_record(id=record_id, source=source, title="", text=text, meta={"read": {
            "format": "lines", "encoding": plain, "line": lineno}})


def numbered_lines(stream: BinaryIO, arrays: bool = False, limit: int = MAX_RECORD_BYTES
                   ) -> Iterator[tuple[int, int | str, bytes | TooLarge]]:
    """The JSONL lines of a stream as (line number, place, bytes), the place being what a record
    without an id has its id derived from: its line. With `arrays`, a JSON array of objects, or
    pretty-printed objects (a line holding `{` alone opens the first), are read as such lines
    (json_value_lines). A line or element over limit bytes is a TooLarge, never held whole."""
    peek = getattr(stream, "peek", None)
    head = peek(_ARRAY_PEEK_BYTES)[:_ARRAY_PEEK_BYTES] if arrays and peek else b""
    if _JSON_ARRAY.match(head):
        return json_value_lines(stream, limit=limit)
    if _PRETTY_OBJECT.match(head):
        return json_value_lines(stream, array=False, limit=limit)
    return ((lineno, lineno, line) for lineno, line in enumerate(bounded_lines(stream, limit), 1))


def bounded_lines(stream: BinaryIO, limit: int) -> Iterator[bytes | TooLarge]:
    """The lines of a stream, line breaks kept. A line of more than limit bytes (its line break
    aside) is read no further than limit + 2 bytes at once: the rest is read in blocks and
    dropped, and the line given as a TooLarge."""
    while line := stream.readline(limit + 2):  # a line of limit bytes and its CRLF
        if len(line.rstrip(b"\r\n")) <= limit:
            yield line
            continue
        head, size = line[:HEAD_BYTES], len(line)
        while not line.endswith(b"\n") and (line := stream.readline(_READ_BYTES)):
            size += len(line)
        ending = 2 if line.endswith(b"\r\n") else 1 if line.endswith(b"\n") else 0
        yield TooLarge(head.decode("utf-8", errors="replace"), size - ending, limit)


# A JSON array of objects (or an empty one), told from its first bytes. `[` alone is not enough on
# stdin: a text article may begin with `[快讯]`.
_JSON_ARRAY = regex.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\[[ \t\r\n]*[{\]]")
# A pretty-printed object (json.dump(indent=...), jq, JSON.stringify): no JSONL line is `{` alone.
_PRETTY_OBJECT = regex.compile(rb"(?:\xef\xbb\xbf)?[ \t\r\n]*\{[ \t\r]*\n")
_ARRAY_OPENING = regex.compile(rb"\[[ \t\r\n]*")
_ARRAY_PEEK_BYTES = 4096
_READ_BYTES = 1 << 16
_CUT_MARGIN = 8  # longer than any token that can be cut without an error at the cut (\\uXXXX, false)


def json_value_lines(stream: BinaryIO, array: bool = True, limit: int = MAX_RECORD_BYTES
                     ) -> Iterator[tuple[int, int | str, bytes | TooLarge]]:
    """The elements of a JSON array (or with array=False, the whitespace-separated JSON values of
    a stream: pretty-printed objects) as numbered JSONL lines: each element's own text with its line
    breaks (JSON allows them only between tokens) made spaces, numbered by the line it starts on;
    element k's place is `[k]`, as several may share a line (a value's place is its line, as in
    JSONL). Elements are parsed as they are read, so memory follows the largest element up to the
    limit: an element over limit bytes is scanned block by block to its end, never held, and given
    as a TooLarge. From the first thing that is not an element, a comma or the closing
    bracket, the rest of the stream is passed on line by line as it is (bounded_lines), for
    read_jsonl to report; an array cut short raises EOFError, as a truncated compressed file
    does."""
    decoder = codecs.getincrementaldecoder("utf-8")("surrogateescape")  # bad bytes kept
    scan = json.JSONDecoder().raw_decode

    def more(kept: str, size: int = _READ_BYTES) -> tuple[str, bool]:
        """What is kept of the text and the next block of the stream; whether it has ended."""
        block = stream.read(size)
        return kept + decoder.decode(block, final=not block), not block

    def skipped() -> TooLarge:
        """The element at pos, scanned to its end block by block without keeping it (pos and
        lineno go past it), as a TooLarge."""
        nonlocal text, eof, pos, lineno
        head, size, value = text[pos:pos + MAX_SHOWN_CHARS], 0, _ValueScan.of(text[pos])
        while (end := value.end(text, pos)) is None and not eof:
            size += _utf8_size(text[pos:])
            lineno += text.count("\n", pos)
            (text, eof), pos = more(""), 0
        end = len(text) if end is None else end  # cut short: the array's end is missing
        size += _utf8_size(text[pos:end])
        lineno += text.count("\n", pos, end)
        pos = end
        return TooLarge(head, size, limit)

    text, eof = more("")
    text = text.lstrip("\ufeff")
    pos, lineno, element_no = 0, 1, 0
    # An array: "[", then an element or "]", then "," or "]", then nothing. Values: any number.
    expect = "[" if array else "element or end"
    while True:
        while pos < len(text) and text[pos] in " \t\r\n":
            lineno += text[pos] == "\n"
            pos += 1
        if pos == len(text):
            if eof:
                if expect not in ("end", "element or end"):
                    raise EOFError(f"the JSON array ends at line {lineno} without its closing ]")
                return
            (text, eof), pos = more(text[pos:]), 0
            continue
        char = text[pos]
        if expect == "[" and char == "[":
            expect, pos = "element or ]", pos + 1
        elif expect in (", or ]", "element or ]") and char == "]":
            expect, pos = "end", pos + 1
        elif expect == ", or ]" and char == ",":
            expect, pos = "element", pos + 1
        elif expect.startswith("element"):
            place = f"[{element_no}]" if array else lineno
            try:
                _, end = scan(text, pos)
                stop, open_string = end, False
            except json.JSONDecodeError as e:
                end, stop, open_string = None, e.pos, e.msg.startswith("Unterminated string")
            except (ValueError, RecursionError):
                # Well-formed, but more than Python holds (an integer of more than 4,300 digits,
                # nesting past the recursion limit): passed on whole, for read_jsonl to reject.
                end = _ValueScan.of(text[pos]).end(text, pos)
                stop, open_string = (end, False) if end else (len(text), True)
            # What was read may end inside the element (a string, a \\u escape, true, a number):
            # an element that stops, well or badly, near the end of it is parsed again with more.
            near_end = open_string or stop >= len(text) - _CUT_MARGIN
            if near_end and not eof:
                if _utf8_size(text[pos:]) > limit:
                    yield lineno, place, skipped()  # numbered by its first line
                else:
                    # As much again as the element has so far (up to the limit): a large one is
                    # parsed a few times, not once per block.
                    size = max(_READ_BYTES, min(2 * (len(text) - pos), limit + 1))
                    (text, eof), pos = more(text[pos:], size), 0
                    continue
            elif end is None:
                break
            else:
                element = text[pos:end]
                raw = element.replace("\r", " ").replace("\n", " ").encode("utf-8",
                                                                          "surrogateescape")
                yield lineno, place, raw if len(raw) <= limit else \
                    TooLarge(element[:MAX_SHOWN_CHARS], len(raw), limit)
                lineno += element.count("\n")
                pos = end
            element_no += 1
            expect = ", or ]" if array else "element or end"
        else:
            break
    # Not an array (any more): the rest as it is, a line at a time, from where it stopped.
    rest = text[pos:].encode("utf-8", "surrogateescape") + decoder.getstate()[0]
    for n, line in enumerate(bounded_lines(io.BufferedReader(_Prepended(rest, stream)), limit),
                             lineno):
        yield n, n, line


def _utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogateescape"))


_STRING_SPECIAL = regex.compile(r'["\\]')
_VALUE_SPECIAL = regex.compile(r'["\[\]{}]')
_BARE_END = regex.compile(r"[^0-9A-Za-z.+-]")  # what ends a number, true, false or null


@dataclass
class _ValueScan:
    """Steps over one JSON value without parsing it (so without the recursion a parser needs,
    nor the memory), a block of text at a time: where it stands is kept between blocks."""
    bare: bool  # a number, true, false or null: no brackets, no string
    depth: int = 0
    in_string: bool = False
    escaped: bool = False  # the last block ended on a backslash inside a string

    @classmethod
    def of(cls, first: str) -> "_ValueScan":
        """A scan of the value starting with the character `first`."""
        return cls(bare=first not in '"[{')

    def end(self, text: str, pos: int) -> int | None:
        """Where the value ends in text, read from pos; None when it goes on past the text."""
        if self.bare:
            m = _BARE_END.search(text, pos)
            return m.start() if m else None
        i, self.escaped = pos + self.escaped, False
        while m := (_STRING_SPECIAL if self.in_string else _VALUE_SPECIAL).search(text, i):
            i, char = m.end(), m.group()
            if char == "\\":
                self.escaped = i == len(text)
                i += 1
            elif char == '"':
                self.in_string = not self.in_string
                if not self.in_string and self.depth == 0:
                    return i
            else:
                self.depth += 1 if char in "[{" else -1
                if self.depth == 0:
                    return i
        return None


def jsonl_record(obj: dict, source: str, lineno: int, fields: FieldMap,
                 place: int | str) -> dict:
    """place: where the record sits in its source (numbered_lines), from which an id is derived
    when it has none. A `meta` that is not an object is kept as meta.read.input_meta."""
    record_id = _record_id(obj.get(fields.id), source, place)
    text = obj.get(fields.text)
    if not isinstance(text, str) or not text.strip():
        return input_reject(source, lineno, STAGE, "no_text", record_id,
                            error=_why_no_text(obj, fields.text), field=fields.text,
                            value=shown(text), record=_without(obj, fields.text))
    for name in (fields.text, fields.id):
        obj.pop(name, None)
    title = obj.pop(fields.title, "")
    meta = obj.pop("meta", None)
    record = new_record(
        id=record_id,
        source=obj.pop("source", None) or source,
        title="" if title is None else title if isinstance(title, str) else str(title),
        text=text,
        meta=_record_meta(meta),
    )
    record.update(obj)  # fields zhclean does not know pass through
    return record


def _record_meta(meta: Any) -> dict:
    """The input's meta; one that is not an object is kept, where a stage cannot take it for
    its own."""
    if meta is None or isinstance(meta, dict):
        return meta or {}
    return {"read": {"input_meta": meta}}


def _record_id(value: Any, source: str, place: int | str) -> str:
    return str(value) if value not in (None, "") else derive_id(source, place)


_JSON_TYPES = {dict: "an object", list: "an array", bool: "a boolean", int: "a number",
               float: "a number", type(None): "null"}


def _why_no_text(obj: dict, field: str) -> str:
    if field not in obj:
        return f"no field {field!r}"
    if isinstance(obj[field], str):
        return f"{field!r} is blank"
    return f"{field!r} is {_JSON_TYPES[type(obj[field])]}, not a string"


def _without(obj: dict, field: str) -> dict:
    return {key: value for key, value in obj.items() if key != field}


MAX_SHOWN_CHARS = 1000
HEAD_BYTES = 4 * MAX_SHOWN_CHARS  # what holds MAX_SHOWN_CHARS characters in any encoding read


def shown(value: Any) -> Any:
    """A refused value as a reject holds it: itself, or when its JSON is longer than
    MAX_SHOWN_CHARS, the head of that JSON followed by `…`."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except RecursionError:
        return "… (nested too deep to show)"
    return value if len(text) <= MAX_SHOWN_CHARS else cut(text, MAX_SHOWN_CHARS)


def read_document(data: bytes, source: str, fmt: str) -> Iterator[dict]:
    """A .txt or .html file as one record (or a Reject when nothing could be read from it). A
    binary file is refused whole, never decoded; an empty one (spaces at most) is no records."""
    encoding = text_encoding(data, source, declared_charset(data) if fmt == "html" else None)
    if isinstance(encoding, Reject):
        yield encoding
        return
    text, bad_lines = decode_lines(data, encoding)
    if not text.strip() and not bad_lines:
        yield empty_file(source)
        return
    record_id = derive_id(source, 0)
    for lineno, raw in bad_lines:
        # The line stays in the record's text as an empty line, so its index holds.
        yield input_reject(source, lineno, STAGE, "undecodable", record_id=record_id,
                           line=lineno - 1, error=f"line {lineno} is not valid {encoding}",
                           raw_base64=base64.b64encode(raw).decode("ascii"))
    title = ""
    if fmt == "html":
        title, text = html_to_text(text)
    if not text.strip():
        yield input_reject(source, None, STAGE, "no_text", error="no text in the file")
        return
    meta = {"read": {"format": fmt, "encoding": encoding.replace("-sig", "")}}
    if bad_lines:
        meta["read"]["undecodable_lines"] = len(bad_lines)
    record = new_record(id=record_id, source=source, title=title, text=text, meta=meta)
    if (sidecar := sidecar_of(source)) is not None:
        url = sidecar_url(sidecar)
        if isinstance(url, Reject):
            yield url
        elif url is not None:
            record["url"] = url
    yield record


def sidecar_of(source: str) -> str | None:
    """NAME.meta.json beside the file NAME.txt or NAME.html (compressed or not), if there is one."""
    if source == "-":
        return None
    folder, name = os.path.split(source)
    path = os.path.join(folder, _stem(name) + SIDECAR)
    return path if os.path.isfile(path) else None


def sidecar_url(path: str) -> str | None | Reject:
    """The `url` a page's sidecar gives (a record's site for `templates` and `--templates`);
    None when it gives none (or null), a reject when it is no JSON object or its url no string
    that can be written (a lone surrogate)."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_SIDECAR_BYTES + 1)
    except OSError as e:
        return input_reject(path, None, STAGE, "bad_sidecar", error=e.strerror or str(e))
    if len(data) > MAX_SIDECAR_BYTES:
        return input_reject(path, None, STAGE, "bad_sidecar",
                            error=f"over {MAX_SIDECAR_BYTES:,} bytes")
    try:
        meta = json.loads(data.decode("utf-8-sig"))
    except (ValueError, RecursionError) as e:  # UnicodeDecodeError is a ValueError
        return input_reject(path, None, STAGE, "bad_sidecar", error=f"not JSON: {e}")
    url = meta.get("url") if isinstance(meta, dict) else None
    if not isinstance(meta, dict) or not isinstance(url, (str, type(None))) or \
            (url and _SURROGATE.search(url)):
        return input_reject(path, None, STAGE, "bad_sidecar",
                            error="not a JSON object with a string url")
    return url or None


def text_encoding(data: bytes, source: str, declared: str | None = None) -> str | Reject:
    """The encoding of a text's bytes (its first ones will do); a binary file, or one too short
    to tell, is its reject and never decoded."""
    kind = charset.binary_kind(data)
    if kind:
        return binary_reject(source, kind)
    encoding = charset.detect(data, declared)
    if encoding is None:
        return input_reject(source, None, STAGE, "undecodable",
                            error=f"{len(data)} bytes, too few to tell their encoding",
                            raw_base64=base64.b64encode(data).decode("ascii"))
    return encoding


def binary_reject(source: str, kind: str) -> Reject:
    return input_reject(source, None, STAGE, "binary", error=f"{kind}, not text")


def decode_lines(data: bytes, encoding: str) -> tuple[str, list[tuple[int, bytes]]]:
    """Decode line by line so one bad line costs that line only. Lines keep their index (a bad line
    becomes empty); CRLF becomes LF."""
    try:
        return data.decode(encoding).replace("\r\n", "\n"), []
    except UnicodeDecodeError:
        pass
    lines, bad = [], []
    for lineno, (raw, codec) in enumerate(raw_lines(data, encoding), 1):
        try:
            lines.append(raw.decode(codec))
        except UnicodeDecodeError:
            bad.append((lineno, raw))
            lines.append("")
    return "\n".join(lines).replace("\r\n", "\n"), bad


def raw_lines(data: bytes, encoding: str) -> list[tuple[bytes, str]]:
    """The lines of undecodable data as bytes, each with the codec that reads it. The byte \\n
    never occurs inside a UTF-8, GBK or Big5 character. In UTF-16 a newline is two bytes; found at
    any offset, so that a line after one that lost a byte is read again (taken for a newline
    elsewhere, those bytes would need a Gurmukhi or Gujarati character beside them)."""
    if not encoding.startswith("utf-16"):
        rest = encoding.replace("-sig", "")  # a BOM only before the first line
        return [(raw, encoding if i == 0 else rest) for i, raw in enumerate(data.split(b"\n"))]
    with_bom = encoding == "utf-16"  # what charset.detect says of UTF-16 with a BOM
    big_endian = encoding == "utf-16-be" or (with_bom and data.startswith(codecs.BOM_UTF16_BE))
    codec = "utf-16-be" if big_endian else "utf-16-le"
    body = data[len(codecs.BOM_UTF16):] if with_bom else data
    return [(raw, codec) for raw in body.split("\n".encode(codec))]


_META_CHARSET = regex.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-]+)""", regex.I)


def declared_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


class _TextExtractor(HTMLParser):
    """Collects visible text; block elements and <br> end a line; <pre> keeps its lines."""

    BLOCKS = frozenset("""address article aside blockquote body br dd details dialog div dl dt
        fieldset figcaption figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre
        section summary table tbody td tfoot th thead tr ul""".split())
    HIDDEN = frozenset("script style noscript template head title svg".split())

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.title: list[str] = []
        self.hidden = 0
        self.in_title = False
        self.pre = 0

    def handle_starttag(self, tag, attrs):
        if tag == "title":
            self.in_title = True
        if tag in self.HIDDEN:
            self.hidden += 1
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "pre":
            self.pre += 1

    def handle_startendtag(self, tag, attrs):
        if tag in self.BLOCKS:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "title":
            self.in_title = False
        if tag in self.HIDDEN:
            self.hidden = max(0, self.hidden - 1)
        if tag in self.BLOCKS:
            self.parts.append("\n")
        if tag == "pre":
            self.pre = max(0, self.pre - 1)

    def handle_data(self, data):
        if self.in_title:
            self.title.append(data)
        elif not self.hidden:
            self.parts.append(data if self.pre else _HTML_SPACE.sub(" ", data))


_HTML_SPACE = regex.compile(r"[ \t\r\n\f]+")


def html_to_text(html: str) -> tuple[str, str]:
    """(title, text): text lines are the page's blocks, stripped, without empty ones."""
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    lines = (line.strip() for line in "".join(parser.parts).split("\n"))
    title = _HTML_SPACE.sub(" ", "".join(parser.title)).strip()
    return title, "\n".join(line for line in lines if line)
