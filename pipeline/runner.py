"""Chains stages over a stream of records; counts what happened."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from .records import Notice, Reject, reject_of
from .writers import Unwritable

log = logging.getLogger("zhclean")
MB = 1_000_000  # the megabyte of MB/s, --max-record-mb and the progress line


@dataclass
class Stats:
    records_in: int = 0
    records_out: int = 0
    input_errors: int = 0
    rejects: Counter = field(default_factory=Counter)  # (stage, reason) -> count
    # Set by the command for the whole run (not per worker chunk): --stats and the progress line.
    inputs_read: int = 0
    inputs_skipped: int = 0  # unchanged since the last run with the same --state
    files_ignored: Counter = field(default_factory=Counter)  # reason -> files a walk passed over
    bytes_in: int = 0  # size on disk of the input files read (stdin is not counted)
    seconds: float = 0.0

    def merge(self, other: "Stats") -> None:
        """Add the counts of another run (a worker's chunk)."""
        self.records_in += other.records_in
        self.records_out += other.records_out
        self.input_errors += other.input_errors
        self.rejects.update(other.rejects)

    def as_dict(self) -> dict:
        by_stage: dict = {}
        for (stage, reason), n in sorted(self.rejects.items()):
            by_stage.setdefault(stage, {})[reason] = n
        return {"records_in": self.records_in, "records_out": self.records_out,
                "input_errors": self.input_errors, "rejects": by_stage}

    def summary(self) -> dict:
        """as_dict with the run's inputs, bytes and speed: what --stats writes."""
        mb_per_s = self.bytes_in / MB / self.seconds if self.seconds else 0.0
        return {**self.as_dict(), "inputs_read": self.inputs_read,
                "inputs_skipped": self.inputs_skipped,
                "files_ignored": dict(sorted(self.files_ignored.items())),
                "bytes_in": self.bytes_in,
                "seconds": round(self.seconds, 3), "mb_per_s": round(mb_per_s, 3)}


Stage = Callable[[dict], tuple]


def apply_stages(record: dict, stages: list[tuple[str, Stage]]) -> tuple[dict | None, list]:
    """One record through the stages. A stage that already ran on the record (its name is in
    meta) passes it through, so re-running a stage changes nothing."""
    rejects: list = []
    for name, stage in stages:
        if name in record["meta"]:
            continue
        record, dropped = stage(record)
        rejects.extend(dropped)
        if record is None:
            break
    return record, rejects


def run_stream(items: Iterable[dict], stages: list[tuple[str, Stage]], out, rejects_out,
               stats: Stats, on_input_error: Callable[[Reject], None] | None = None,
               observe: Callable[[dict | None, list], None] | None = None) -> None:
    """on_input_error: where input errors are reported (default: logged on stderr). A record
    that cannot be written as JSON is an input error too: rejected, and the run goes on.
    observe: called with each item's outcome, (record or None, its rejects): --report."""
    def reject_input(reject: Reject) -> None:
        if not isinstance(reject, Notice):
            stats.input_errors += 1
            (on_input_error or report)(reject)
        write_reject(reject)
        if observe:
            observe(None, [reject])

    def write_reject(reject: Reject) -> None:
        stats.rejects[reject["stage"], reject["reason"]] += 1
        rejects_out.write(reject)

    for item in items:
        if isinstance(item, Reject):
            reject_input(item)
            continue
        stats.records_in += 1
        record, rejects = apply_stages(item, stages)
        for reject in rejects:
            write_reject(reject)
        if observe:
            observe(record, rejects)
        if record is None:
            continue
        stats.records_out += 1  # before writing: a dedup sink takes its duplicates off
        try:
            out.write(record)
        except Unwritable as e:
            stats.records_out -= 1
            reject_input(reject_of(record, "write", "unwritable", error=str(e)))


# The first errors of a file are shown, then one line says how many more.
SHOWN_PER_FILE = 5


class ErrorReport:
    """Input errors on stderr, one line each (-q too), at most SHOWN_PER_FILE for a file: then
    `... and N more errors in FILE`, once its errors end. Use as a context manager, which ends
    the last file's."""

    def __init__(self):
        self._source: str | None = None
        self._shown = self._more = 0

    def __call__(self, reject: Reject) -> None:
        if reject["source"] != self._source:
            self._end_file()
            self._source = reject["source"]
        if self._shown < SHOWN_PER_FILE:
            report(reject)
            self._shown += 1
        else:
            self._more += 1

    def _end_file(self) -> None:
        if self._more:
            log.error("... and %s more errors in %s", f"{self._more:,}", self._source)
        self._shown = self._more = 0

    def __enter__(self) -> "ErrorReport":
        return self

    def __exit__(self, *exc) -> None:
        self._end_file()


def report(reject: Reject) -> None:
    where = reject["source"] if reject.get("input_line") is None \
        else f"{reject['source']}:{reject['input_line']}"
    detail = f": {reject['error']}" if reject.get("error") else ""
    # An error, not a warning: -q (cron) must still show what could not be read.
    log.error("%s: %s%s", where, reject["reason"].replace("_", " "), detail)
