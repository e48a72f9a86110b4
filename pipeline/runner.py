"""Chains stages over a stream of records; counts what happened."""
from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable

from pipeline.records import Reject

log = logging.getLogger("zhclean")


@dataclass
class Stats:
    records_in: int = 0
    records_out: int = 0
    input_errors: int = 0
    rejects: Counter = field(default_factory=Counter)  # (stage, reason) -> count

    def as_dict(self) -> dict:
        by_stage: dict = {}
        for (stage, reason), n in sorted(self.rejects.items()):
            by_stage.setdefault(stage, {})[reason] = n
        return {"records_in": self.records_in, "records_out": self.records_out,
                "input_errors": self.input_errors, "rejects": by_stage}


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
               stats: Stats) -> None:
    for item in items:
        if isinstance(item, Reject):
            stats.input_errors += 1
            report(item)
            record, rejects = None, [item]
        else:
            stats.records_in += 1
            record, rejects = apply_stages(item, stages)
        for reject in rejects:
            stats.rejects[reject["stage"], reject["reason"]] += 1
            rejects_out.write(reject)
        if record is not None:
            stats.records_out += 1
            out.write(record)


def report(reject: Reject) -> None:
    where = reject["source"] if reject.get("input_line") is None \
        else f"{reject['source']}:{reject['input_line']}"
    detail = f": {reject['error']}" if reject.get("error") else ""
    log.warning("%s: %s%s", where, reject["reason"].replace("_", " "), detail)
