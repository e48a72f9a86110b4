"""Line-level noise removal: SEO spam titles, HTML residue, page chrome, blank lines."""
from __future__ import annotations

from dataclasses import dataclass

import regex

from pipeline.records import field_reject, line_reject, record_reject
from pipeline.rules import Rules, compile_pattern, parse_number

NAME = "despam"

_HTML = regex.compile(r"^\s*(?:\d+\.\s*)?(?:<[^<>]*>\s*)+$")
_SEGMENT_SEP = regex.compile(r"[_|｜]")
_SENTENCE_PUNCT = regex.compile(r"[，。！？；：,!?;:]")


@dataclass(frozen=True)
class DespamOptions:
    pass


class Despammer:
    def __init__(self, options: DespamOptions, rules: Rules):
        terms = {}
        for row in rules.table("spam_lexicon.tsv", 3, 3):
            terms[row.fields[0]] = parse_number(row, row.fields[2])
        self.weights = terms
        self._lexicon = regex.compile("|".join(
            regex.escape(t) for t in sorted(terms, key=len, reverse=True)), regex.I)
        self._boilerplate = [compile_pattern(row, row.fields[0])
                             for row in rules.table("boilerplate.txt", 1, 1)]

    def spam_score(self, line: str) -> float:
        return sum(self.weights[m.group(0).lower()] for m in self._lexicon.finditer(line))

    def classify(self, line: str) -> str | None:
        stripped = line.strip()
        if not stripped:
            return "blank"
        if _HTML.match(stripped):
            return "html"
        if any(p.search(stripped) for p in self._boilerplate):
            return "boilerplate"
        score = self.spam_score(stripped)
        segments = len(_SEGMENT_SEP.split(stripped))
        if score >= 2 and (segments >= 3 or not _SENTENCE_PUNCT.search(stripped)):
            return "spam_title"
        return None

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        lines = record["text"].split("\n")
        kept, rejects = [], []
        for i, line in enumerate(lines):
            reason = self.classify(line)
            if reason:
                rejects.append(line_reject(record, NAME, reason, i, line))
            else:
                kept.append(line)
        title = record.get("title") or ""
        if title and self.classify(title) == "spam_title":
            rejects.append(field_reject(record, NAME, "spam_title", "title", title))
            title = ""
        if not title and kept:
            title = kept[0].strip()
        record["title"] = title
        record["text"] = "\n".join(kept)
        record["meta"][NAME] = {"lines_in": len(lines), "lines_dropped": len(lines) - len(kept)}
        if not kept:
            return None, rejects + [record_reject(record, NAME, "no_content")]
        return record, rejects


def build(options: DespamOptions, rules: Rules) -> Despammer:
    return Despammer(options, rules)
