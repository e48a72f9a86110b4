"""Traditional to Simplified: normalise, detect the script, convert with OpenCC.

Script detection counts characters that only one script uses (rules/convert_script_chars.tsv,
generated from OpenCC's own dictionaries), so Simplified text with 「」, 滑鼠 or 乾隆 is never
mistaken for Traditional. Simplified text is left alone (normalisation aside); a page mixing the
scripts is decided line by line. Lines are converted in place: never merged or split.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import groupby
from operator import itemgetter
from typing import NamedTuple

import opencc

from ..rules import Rules
from ..stages.normalize import HAN, STEPS, normalize

NAME = "convert"
CONFIGS = ("auto", "t2s", "tw2s", "hk2s", "tw2sp")
AUTO_TAIWAN, AUTO_HONGKONG = "tw2s", "hk2s"

SIMPLIFIED, TRADITIONAL, MIXED, NEUTRAL, NON_CHINESE = (
    "simplified", "traditional", "mixed", "neutral", "non-chinese")
CORNER_QUOTES = (("「", "“"), ("」", "”"), ("『", "‘"), ("』", "’"))

_HAN = re.compile(f"[{HAN}]")


class Page(NamedTuple):
    text: str
    script: str
    config: str | None  # the OpenCC config used; None when the page was left as it is
    lines: dict[str, int] | None  # a page holding both scripts: its lines counted by script
    traditional: bool  # lines without evidence of their own were converted


@dataclass(frozen=True)
class ConvertOptions:
    config: str = "auto"
    keep_quotes: bool = False
    # `run --keep-script`: normalise and detect, but leave the characters for segment to project
    keep_script: bool = False


def _char_class(chars: str) -> re.Pattern:
    return re.compile(f"[{re.escape(chars)}]") if chars else re.compile(r"(?!)")


class ScriptDetector:
    """Counts the characters only Traditional (or only Simplified) text uses."""

    def __init__(self, rules: Rules):
        kinds: dict[str, str] = {}
        for row in rules.table("convert_script_chars.tsv", 2, 2):
            kinds[row.fields[0]] = kinds.get(row.fields[0], "") + row.fields[1]
        self.traditional_chars = kinds.get("traditional", "")
        self.traditional = _char_class(self.traditional_chars)
        self.simplified = _char_class(kinds.get("simplified", ""))
        self.hongkong = _char_class(kinds.get("hongkong", ""))
        self.taiwan = _char_class(kinds.get("taiwan", ""))
        # Simplified and Hong Kong forms are both rare in Traditional text: one scan finds both.
        self._simplified_set = set(kinds.get("simplified", ""))
        self._hongkong_set = set(kinds.get("hongkong", ""))
        self._rare = _char_class(kinds.get("simplified", "") + kinds.get("hongkong", ""))

    def quick(self, text: str) -> tuple[str | None, bool]:
        """The script of a text that holds evidence of at most one script, None when both
        scripts occur and its lines must be looked at; and whether Hong Kong forms occur."""
        if not self.traditional.search(text):
            if self.simplified.search(text):
                return SIMPLIFIED, False
            return (NEUTRAL if _HAN.search(text) else NON_CHINESE), False
        rare = set(self._rare.findall(text))
        hongkong = not rare.isdisjoint(self._hongkong_set)
        return (None if not rare.isdisjoint(self._simplified_set) else TRADITIONAL), hongkong

    def counts(self, line: str) -> tuple[int, int]:
        """Traditional and Simplified characters in a line; (1, 0) for any line with Traditional
        and no Simplified characters, to save counting where it decides nothing."""
        simplified = len(self.simplified.findall(line))
        if not simplified:
            return (1 if self.traditional.search(line) else 0), 0
        return len(self.traditional.findall(line)), simplified

    def hongkong_style(self, text: str, has_hongkong_forms: bool = True) -> bool:
        """Hong Kong forms (衞, 説, the particle 着) outnumber Taiwan ones (裡, 著)."""
        if not has_hongkong_forms or not self.hongkong.search(text):
            return False
        return len(self.hongkong.findall(text)) > len(self.taiwan.findall(text))


class Converter:
    def __init__(self, options: ConvertOptions, rules: Rules):
        if options.config not in CONFIGS:
            raise ValueError(f"unknown OpenCC config {options.config!r}; one of {CONFIGS}")
        self.options = options
        self.declared = options.config != "auto"
        self.detector = ScriptDetector(rules)
        self._opencc: dict[str, opencc.OpenCC] = {}
        self._exceptions = dict(_exception_rows(rules))
        self._exception_re = re.compile("|".join(
            map(re.escape, sorted(self._exceptions, key=len, reverse=True)))) \
            if self._exceptions else None
        self._stray_traditional = self._single_char_table()

    def _cc(self, config: str) -> opencc.OpenCC:
        if config not in self._opencc:
            self._opencc[config] = opencc.OpenCC(config)
        return self._opencc[config]

    def _single_char_table(self) -> dict[int, str]:
        """Unambiguous Traditional characters and their t2s form, for the odd Traditional
        character on a Simplified line (a quoted 臺灣)."""
        chars = self.detector.traditional_chars
        converted = self._cc("t2s").convert("\n".join(chars)).split("\n")
        return {ord(c): s for c, s in zip(chars, converted) if s != c}

    def pick_config(self, text: str, has_hongkong_forms: bool = True) -> str:
        if self.declared:
            return self.options.config
        hongkong = self.detector.hongkong_style(text, has_hongkong_forms)
        return AUTO_HONGKONG if hongkong else AUTO_TAIWAN

    def convert(self, text: str, config: str) -> str:
        """Traditional text to Simplified: the exception phrases as the table says, the rest by
        OpenCC; then corner quotes."""
        cc = self._cc(config)
        if self._exception_re is None or not self._exception_re.search(text):
            out = cc.convert(text)
        else:
            out = self._convert_around_exceptions(text, cc)
        if not self.options.keep_quotes:
            for corner, curly in CORNER_QUOTES:
                if corner in out:
                    out = out.replace(corner, curly)
        return out

    def _convert_around_exceptions(self, text: str, cc: opencc.OpenCC) -> str:
        parts, start = [], 0
        for m in self._exception_re.finditer(text):
            parts += [cc.convert(text[start:m.start()]), self._exceptions[m.group(0)]]
            start = m.end()
        parts.append(cc.convert(text[start:]))
        return "".join(parts)

    def converts(self, traditional: int, simplified: int, page_traditional: bool) -> bool:
        """Whether a line with these counts of script characters is converted: with auto, when
        its Traditional characters are at least as many as its Simplified ones, and a line
        without either follows its page (the majority of its lines with evidence). An explicit
        --config converts every line (OpenCC keeps Simplified characters, all but a few: 乾)."""
        if self.declared:
            return True
        if not traditional and not simplified:
            return page_traditional
        return traditional >= simplified

    def convert_lines(self, text: str) -> Page:
        """A page holding both scripts, line by line. A line left Simplified still loses its
        unambiguous Traditional characters (a quoted 臺灣), one by one. Neighbouring lines to
        convert go to OpenCC together (nothing converts across a line break)."""
        lines = text.split("\n")
        counts = [self.detector.counts(line) for line in lines]
        page_traditional = sum(t > s for t, s in counts) > sum(s > t for t, s in counts)
        config = self.pick_config(text)
        decisions = [self.converts(t, s, page_traditional) for t, s in counts]
        out = []
        for to_convert, group in groupby(zip(decisions, lines), key=itemgetter(0)):
            block = "\n".join(line for _, line in group)
            out.append(self.convert(block, config) if to_convert
                       else block.translate(self._stray_traditional))
        tally = dict(Counter(_script_of(t, s, line) for (t, s), line in zip(counts, lines)))
        return Page("\n".join(out), _page_script(tally), config if any(decisions) else None,
                    tally, page_traditional)

    def convert_page(self, text: str) -> Page:
        script, has_hongkong_forms = self.detector.quick(text)
        if self.options.keep_script:
            script = SIMPLIFIED if script == NEUTRAL else script or MIXED
            return Page(text, script, None, None, False)
        if script is None:
            return self.convert_lines(text)
        if script == NEUTRAL:  # only characters both scripts use: valid Simplified as it is
            script = SIMPLIFIED
        if script != TRADITIONAL and not self.declared:
            return Page(text, script, None, None, False)
        config = self.pick_config(text, has_hongkong_forms)
        return Page(self.convert(text, config), script, config, None, True)

    def convert_title(self, title: str, page: Page) -> tuple[str, str | None]:
        """A title is one more line of its page: without evidence of its own it follows the page,
        and it is converted with the page's config when the page was."""
        if not title or self.options.keep_script:
            return title, None
        t, s = self.detector.counts(title)
        if self.converts(t, s, page.traditional):
            config = page.config or self.pick_config(title)
            return self.convert(title, config), config
        return title.translate(self._stray_traditional), None

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        applied: set[str] = set()
        page = self.convert_page(normalize(record["text"], applied))
        title, title_config = self.convert_title(normalize(record.get("title") or "", applied),
                                                 page)
        if "title" in record or title:
            record["title"] = title
        record["text"] = page.text
        meta = {"script": page.script, "config": page.config or title_config,
                "normalized": [name for name, _ in STEPS if name in applied]}
        if page.lines:
            meta["lines"] = page.lines
        record["meta"][NAME] = meta
        return record, []


def _script_of(traditional: int, simplified: int, line: str) -> str:
    if traditional > simplified:
        return TRADITIONAL
    if simplified > traditional:
        return SIMPLIFIED
    if traditional:
        return MIXED
    return NEUTRAL if _HAN.search(line) else NON_CHINESE


def _page_script(lines: dict[str, int]) -> str:
    found = {s for s in lines if s not in (NEUTRAL, NON_CHINESE)}
    if found == {TRADITIONAL}:
        return TRADITIONAL
    if found == {SIMPLIFIED}:
        return SIMPLIFIED
    return MIXED


def _exception_rows(rules: Rules):
    """convert_exceptions.tsv: a Traditional phrase and its Simplified form (the phrase itself
    when the second field is missing); later files override earlier ones."""
    for row in rules.table("convert_exceptions.tsv", 1, 2):
        phrase = row.fields[0]
        yield phrase, row.fields[1] if len(row.fields) == 2 else phrase


def build(options: ConvertOptions, rules: Rules) -> Converter:
    return Converter(options, rules)
