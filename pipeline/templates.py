"""Template lines: the lines that many records of one site share (its menus, notices, footers,
related-story headings), counted once over a corpus by `zhclean templates` and read by despam as
evidence (`--templates FILE`), as CCNet drops the paragraphs repeated across the documents of a
shard. A line is known by its normalised view with spaces removed and digits masked, so that the
dates and counters of a footer do not make each copy a new line.

A record's site is the host of its URL field (`url` unless --site-field says otherwise), or that
field's value as it is when it is not a URL (a domain, a feed's name). Records without one give no
evidence and get none.

The table is a TSV a user can read: site <TAB> records holding the line <TAB> records of the site
counted <TAB> the line (as despam reads it). Only lines held by at least MIN_RECORDS records are
written.
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlsplit

from .rules import RuleError, read_table
from .stages.despam_model import compact, masked

# Longer lines are paragraphs, which repeat across a site's records only where an article does
# (a copy dedup is for), not where a template does.
TEMPLATE_MAX_CHARS = 200
# A template shows in the first records of a site already; counting no more of each site keeps
# the memory of a large corpus bounded (by the sites, not the records).
SAMPLE_RECORDS = 1000
MIN_RECORDS = 2


def site_of(record: dict, field: str) -> str | None:
    value = record.get(field)
    if not isinstance(value, str) or not value.strip():
        return None
    value = " ".join(value.lower().split())  # no tab or line break: it is a field of the table
    if "://" in value:
        host = urlsplit(value).hostname or ""
        return host.removeprefix("www.") or None
    return value


def line_keys(normalised: list[str]) -> list[str | None]:
    """Each line's key in the table, from its normalised view (despam's Normaliser); None for a
    line too short or too long to be a template."""
    compacts = map(compact, normalised)
    return [masked(line) if 2 <= len(line) <= TEMPLATE_MAX_CHARS else None for line in compacts]


@dataclass(frozen=True)
class SiteLines:
    """What the table knows of one record's lines: how many records of its site hold each line
    (0: none known), of how many records of the site counted."""
    held: list[int]
    records: int


class TemplateTable:
    """How many records of each site hold each line."""

    def __init__(self, records: dict[str, int], lines: dict[str, dict[str, int]]):
        self.records = records  # site -> records counted
        self.lines = lines  # site -> line key -> records holding it

    def lines_of(self, site: str | None, keys: list[str | None]) -> SiteLines:
        """The lines of a record of the site, by their keys (line_keys)."""
        held = self.lines.get(site) if site else None
        if not held:
            return SiteLines([0] * len(keys), self.records.get(site, 0) if site else 0)
        return SiteLines([held.get(key, 0) if key else 0 for key in keys], self.records[site])

    def to_tsv(self) -> str:
        rows = ["# Template lines: site <TAB> records holding the line <TAB> records of the site "
                "counted <TAB> line", "# (normalised, spaces removed, digits masked as 0). "
                "Written by `zhclean templates`."]
        for site in sorted(self.lines):
            for key, held in sorted(self.lines[site].items(), key=lambda kv: (-kv[1], kv[0])):
                rows.append(f"{site}\t{held}\t{self.records[site]}\t{key}")
        return "\n".join(rows) + "\n"

    @classmethod
    def load(cls, path: str) -> "TemplateTable":
        if not os.path.isfile(path):
            raise RuleError(f"{path}: no such template table")
        records: dict[str, int] = {}
        lines: dict[str, dict[str, int]] = {}
        for row in read_table(path, 4, 4):
            site, held, counted, key = row.fields
            if not (held.isdigit() and counted.isdigit() and 0 < int(held) <= int(counted)):
                raise row.error("records holding the line and records counted must be whole "
                                f"numbers, the first no larger, found {held!r} and {counted!r}")
            records[site] = int(counted)
            lines.setdefault(site, {})[key] = int(held)
        return cls(records, lines)


class TemplateCounter:
    """Counts the lines of records, a site at a time, into a TemplateTable. A copy of a record
    already counted (the same lines) is not counted again: the lines of an article a site
    publishes twice are not its template."""

    def __init__(self, sample: int = SAMPLE_RECORDS):
        self.sample = sample
        self.records: Counter = Counter()
        self.lines: dict[str, Counter] = {}
        self._seen: set[tuple[str, int]] = set()  # (site, hash of a record's lines) counted

    def add(self, site: str | None, normalised: list[str]) -> None:
        """A record of the site, by its normalised lines (despam's Normaliser)."""
        if site is None or self.records[site] >= self.sample:
            return
        copy = (site, hash("\n".join(normalised)))
        if copy in self._seen:
            return
        self._seen.add(copy)
        self.records[site] += 1
        self.lines.setdefault(site, Counter()).update(
            {key for key in line_keys(normalised) if key})

    def table(self) -> TemplateTable:
        lines = {site: {key: n for key, n in counts.items() if n >= MIN_RECORDS}
                 for site, counts in self.lines.items()}
        return TemplateTable(dict(self.records), {site: held for site, held in lines.items()
                                                  if held})
