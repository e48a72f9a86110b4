"""The record contract and the reject record.

A record is a plain dict so that fields zhclean does not know pass through untouched:

    id      str   kept from the input, or derived stably from source and position
    source  str   where the record came from (path as given, or "-" for stdin)
    title   str   the article's title ("" when unknown)
    text    str   the article; lines separated by "\n"
    tokens  list  the words of text (added by segment)
    meta    dict  what the stages learnt and did (encoding, script, counts, ...)

A reject is what a stage dropped, with the reason:

    id, source, stage, reason      always
    line, text                     a dropped line: its 0-based index among the lines of the
                                   record's text as it entered the pipeline, and the line itself
    field, text                    a dropped field value (e.g. a spam title, a NaN made null)
    field, value                   a value refused as the text (no_text), its head when huge
    record                         a dropped whole record
    raw_base64                     bytes that could not be decoded

A Notice is a reject that is no error: input that holds nothing (a blank JSONL line, an empty
file). It is written and counted as any reject, but not reported on stderr, and the exit status
stays 0.
"""
from __future__ import annotations

import hashlib
from typing import Any


class Reject(dict):
    """A reject record; a dict (so it serialises as JSON) that the runner can tell from a record."""


class Notice(Reject):
    """Input set aside that is not an error (see the module's docstring)."""


def derive_id(source: str, position: int) -> str:
    """A stable id for a record that came without one: same source and position, same id."""
    digest = hashlib.blake2b(f"{source}\x00{position}".encode("utf-8"), digest_size=8)
    return digest.hexdigest()


def new_record(*, id: str, source: str, title: str, text: str, meta: dict | None = None) -> dict:
    return {"id": id, "source": source, "title": title, "text": text, "meta": meta or {}}


def reject_of(record: dict, stage: str, reason: str, /, **extra) -> Reject:
    """A reject naming the record it comes from (its id and source)."""
    return Reject(id=record.get("id"), source=record.get("source"), stage=stage, reason=reason,
                  **extra)


def line_reject(record: dict, stage: str, reason: str, line: int, text: str, **extra) -> Reject:
    return reject_of(record, stage, reason, line=line, text=text, **extra)


def field_reject(record: dict, stage: str, reason: str, field: str, text: str, **extra) -> Reject:
    return reject_of(record, stage, reason, field=field, text=text, **extra)


def record_reject(record: dict, stage: str, reason: str, **extra) -> Reject:
    return reject_of(record, stage, reason, record=record, **extra)


def input_reject(source: str, lineno: int | None, stage: str, reason: str,
                 record_id: str | None = None, **extra) -> Reject:
    """A reject for input that never became a record (bad JSON, undecodable bytes, ...), or for
    a line of a record that could not be read (record_id: that record's id)."""
    position = lineno if lineno is not None else 0
    return Reject(id=record_id or derive_id(source, position), source=source, stage=stage,
                  reason=reason, input_line=lineno, **extra)


def cut(text: str, limit: int) -> str:
    """The text as a reject or a report shows it: itself, or its first `limit` characters and `…`."""
    return text if len(text) <= limit else text[:limit] + "…"


# What orjson reads and writes exactly as Python's json does. Not floats: orjson writes some its own
# way (1e-07 as 1e-7, NaN as null) and reads an integer past 64 bits as one.
_PLAIN_SCALARS = frozenset((str, int, bool, type(None)))
_PLAIN_CONTAINERS = frozenset((dict, list, Reject, Notice))


def plain_json(value: Any) -> bool:
    """Whether value holds nothing but dicts, lists, strings, integers, booleans and None (exact
    types: no subclass but the Reject ones). Walked without recursion: a value may nest deep."""
    pending = [value]
    while pending:
        node = pending.pop()
        kind = type(node)
        if kind in _PLAIN_SCALARS:
            continue
        if kind not in _PLAIN_CONTAINERS:
            return False
        children = node.values() if isinstance(node, dict) else node
        if not _PLAIN_SCALARS.issuperset(map(type, children)):  # a list of tokens stops here, in C
            pending.extend(children)
    return True
