"""Line-level noise removal: SEO spam titles, HTML residue, page chrome, blank lines.

Every line of a record's text is kept as content or dropped with a reason. Decisions are taken on a
normalised view of the line (NFKC, Traditional folded to Simplified, pinyin annotations removed),
so the rules in rules/ work the same before and after `convert`. The evidence is data:
spam_lexicon.tsv (weighted terms), boilerplate.txt (chrome patterns), despam.toml (thresholds).
The rules decide the lines they are sure of; a learnt model (despam_model.py, weights in
despam_model.tsv) weighs their evidence with the line's shape and place to decide the rest.
"""
from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, replace
from re import _constants as sre_constants, _parser as sre_parse

import opencc
import regex

from ..records import field_reject, line_reject, record_reject
from ..rules import (PATTERN_TIMEOUT_SECONDS, RuleError, RuleLine, Rules, compile_pattern,
                     parse_number)
from ..stages.despam_model import (LABELS, LineEvidence, LinearModel, compact, contributions,
                                   page_features, page_words)
from ..templates import SiteLines, TemplateTable, line_keys, site_of

NAME = "despam"
# explain names the page's words (stage 0) as evidence from this share of the line's label on.
PAGE_READS_AS = 0.3
BOILERPLATE_KINDS = ("chrome", "nav", "tail", "meta", "hint", "channel", "keep")
# Kinds that are evidence for [near_chrome] only and never drop a line by themselves.
HINT_KINDS = ("hint", "channel")
# What the rules decide about the line alone, so that the model neither weighs it nor reads it
# as a neighbour (see model_inputs); the model_decides rules are the other decisions it leaves.
CERTAIN = ("blank", "html", "mojibake", "rule_timeout")
# The lines stage 0 does not read (stage_zero_words).
NOT_READ = CERTAIN + ("spam_title",)
# Zone rules that are evidence for the model, not decisions: a row of short words above the
# article is as often the article's own (a byline, a download list) on sites the rules were not
# written on. (A summary repeating the opening, or the title shown a third time, stays a rule:
# dropping a copy loses nothing.)
MODEL_ZONES = ("menu",)

# Markup left by a stripped page: tags only, or a lone ? • | left where an element was.
_TAG = regex.compile(r"<[^<>]*>|<[a-z][a-z0-9]*\s[^<>]*$|\[\[\d+\]\]|\[email(?:&#160;|\s)protected\]",
                     regex.I)
_PINYIN = regex.compile(r"\((?=[a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ])[a-zāáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜü]{1,7}\)")
_BULLETS = regex.compile(r"^[\s•·●▪■◆*\-]+")
_SPACES = regex.compile(r"\s+")
# The characters `regex` reads as \s (Unicode White_Space; a test checks them), for str.strip,
# which costs far less than a regex call on every line.
_SPACE_CHARS = "\t\n\v\f\r \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + \
    "\u2028\u2029\u202f\u205f\u3000"
# _BULLETS and _SPACES on the lines of a whole text: never across the line break.
_LEADING = _SPACE_CHARS.replace("\n", "") + "•·●▪■◆*-"
_LINE_SPACES = regex.compile(r"[^\S\n]+")
_LATIN_TERM = regex.compile(r"^[a-z0-9]+$")
# Separators between the titles of a spam header or link farm.
_SEGMENT_SEP = regex.compile(r"\s*(?:[_|,、\-—/]+|\si\s|\s{2,})\s*")
_SENTENCE_END = regex.compile(r"[。!?;]")
_COUNTED = regex.compile(r"[\p{Han}\p{L}\p{N}]")
_NOT_COUNTED = regex.compile(r"[^\p{Han}\p{L}\p{N}]+")
_PUNCTUATION = regex.compile(r"\p{P}")
# Characters of Latin-1 read as UTF-8 (GBK bytes decoded as Latin-1): Ëã·¨»úÖÆµü
_MOJIBAKE = re.compile(r"[\u00a1-\u00ff]")
_NON_ASCII_RUN = re.compile(r"[^\x00-\x7f]{2,}")
# The share of characters that may be lost (bytes dropped by a page or a crawler) in text that
# is still taken for UTF-8 misread as GBK or Big5.
MISREAD_MAX_LOST = 0.3
# Fewer characters than this re-encode to valid UTF-8 by chance too often to tell.
MISREAD_MIN_CHARS = 16
_TEASER_PREFIX = regex.compile(r"^(?:摘要|导读|简介|导语|内容简介)\s?:")
# A lone mark where an element was (? • | and the × of a close button).
_RESIDUE_MARKS = _SPACE_CHARS + "?？•·|｜×✕"
# A line that is what markup, a template engine or markdown left unrendered, told from its start:
# a markdown image (![圖](...), ![]()), the start of an HTML comment, an image's data: URI (after
# any tags), a block tag ({% hint style="x" %}), a wiki parameter ({{{2}}}), the number of a list
# item whose text went with its element ("1、"; "1." alone is as often a numbered point of the
# text's own), a run of tag attributes cut from their tag (alt="" poster="//img...").
_RESIDUE_LINE = regex.compile(
    r"""\s*(?:!\[|<!--|(?:<[^<>]*>\s*)*data:image/|\{%.*%\}\s*$|\{\{\{\w*\}\}\}\s*$|\d{1,3}、\s*$|"""
    r"""[\w:-]+=(?:"[^"]*"|'[^']*')\s*(?:[\w:-]+=|/?>|$))""")
# A template expression inside rendered text (已有 {{article.like_count}} 人讚許); one on a line
# of its own is as likely code in a tutorial.
_TEMPLATE_IN_TEXT = regex.compile(r"\{\{[^{}\n]*\}\}")
_HAN_CHAR = regex.compile(r"\p{Han}")
# A line of tags taking this share of its characters or more, around no more than TAG_HEAVY_TEXT
# characters of text (a caption, a notice), is markup; more text between tags is the article's.
TAG_HEAVY_SHARE = 0.6
TAG_HEAVY_TEXT = 20
# Discuz-style anti-copy watermark: "8 i# r- S9 m& E8 C" (tokens of two characters mixing a letter
# or digit with a symbol).
_WATERMARK_TOKEN = regex.compile(r"^(?:[a-z0-9][^\w\s]|[^\w\s][a-z0-9])$", regex.I)


@dataclass(frozen=True)
class DespamOptions:
    templates: str | None = None  # a template table (`zhclean templates`): evidence per site
    site_field: str = "url"  # the record's field that names its site (templates.site_of)


@dataclass(frozen=True)
class Decision:
    """What despam decided for one line, and why (shown by `zhclean explain`)."""
    index: int
    text: str
    reason: str | None  # None: kept as content
    score: float = 0.0
    evidence: str = ""
    zone: str = ""  # the page-zone rule that marked the line as chrome (evidence for the model)


@dataclass(frozen=True)
class BoilerplatePattern:
    kind: str
    pattern: regex.Pattern
    row: RuleLine

    @property
    def where(self) -> str:
        """The rule's file and line, as explain and a rule_timeout reject name it."""
        return f"{self.row.path.name}:{self.row.lineno}"


# Compatibility characters common in Chinese text (full-width ASCII, the ideographic space, small
# and vertical forms, the ellipsis), each with its full compatibility decomposition (NFKD).
_COMMON_COMPAT = {ch: unicodedata.normalize("NFKD", ch) for ch in map(chr, [
    *range(0xFF01, 0xFF5F), 0x3000, 0x2026, *range(0xFE30, 0xFE70)])
    if unicodedata.normalize("NFKD", ch) != ch}
_COMMON_COMPAT_CHARS = re.compile("[" + "".join(_COMMON_COMPAT) + "]")


def nfkc(text: str) -> str:
    """unicodedata.normalize("NFKC", text), faster on Chinese text. NFKC decomposes every
    character fully before it reorders and composes, so writing a character as its full
    decomposition first leaves the result unchanged; after the common full-width punctuation is
    written so, most texts pass the quick check of being NFKC already, which is far cheaper than
    normalising them."""
    for ch in set(_COMMON_COMPAT_CHARS.findall(text)):
        text = text.replace(ch, _COMMON_COMPAT[ch])
    return text if unicodedata.is_normalized("NFKC", text) else unicodedata.normalize("NFKC", text)


class Normaliser:
    """The view of a line that rules are matched against (see the rule files' headers)."""

    def __init__(self):
        self._t2s = opencc.OpenCC("t2s")

    def lines(self, lines: list[str]) -> list[str]:
        # NFKC, OpenCC and the substitutions never reach across a line break ("\n" composes with
        # nothing and is in no phrase or pattern), so the record is normalised in one go.
        text = self._t2s.convert(nfkc("\n".join(lines)))
        folded = _LINE_SPACES.sub(" ", _PINYIN.sub("", text)).split("\n")
        if len(folded) != len(lines):  # never expected; keep indices right regardless
            folded = [_SPACES.sub(" ", _BULLETS.sub("", _PINYIN.sub("", self._t2s.convert(
                nfkc(line))))) for line in lines]
        # Leading bullets are stripped after the spaces are made one: both go, in either order.
        return [line.lstrip(_LEADING).strip().lower() for line in folded]

    def line(self, line: str) -> str:
        return self.lines([line])[0]


class Lexicon:
    def __init__(self, rules: Rules, normaliser: Normaliser):
        weights: dict[str, tuple[str, float]] = {}
        for row in rules.table("spam_lexicon.tsv", 3, 3):
            term = compact(normaliser.line(row.fields[0]))
            if not term:
                raise row.error(f"empty term {row.fields[0]!r}")
            weights[term] = (row.fields[1], parse_number(row, row.fields[2]))
        self.weights = {t: w for t, (_, w) in weights.items() if w > 0}
        self.categories = {t: c for t, (c, _) in weights.items()}
        self._pattern = re.compile(_trie_pattern(self.weights) or r"(?!)")

    def hits(self, text: str) -> list[str]:
        """The terms found, scanning left to right and taking the longest term at each place."""
        return self._pattern.findall(text)

    def hits_per_line(self, texts: list[str]) -> list[list[str]]:
        # Most records hold no term at all: one scan of the whole text answers for every line
        # (no term holds a line break, and a break is no letter or digit for the Latin terms).
        if not self._pattern.search("\n".join(texts)):
            return [[] for _ in texts]
        return [self.hits(text) for text in texts]


def _trie_pattern(terms) -> str:
    """The terms as a trie of alternatives, longer continuations first, so each place takes the
    longest term found there. The standard library's engine skips places no term starts with and
    checks one character per branch, about ten times faster than an alternation of whole terms
    in `regex`. A Latin term (av, 91) must not touch another letter or digit (java, 1991), which
    is checked at its end: `(?<![a-z0-9]av)` there means no letter or digit before it."""
    trie: dict = {}
    for term in terms:
        node = trie
        for char in term:
            node = node.setdefault(char, {})
        node[""] = term
    return _trie_node(trie) if trie else ""


def _trie_node(node: dict) -> str:
    branches = [re.escape(char) + _trie_node(child) for char, child in node.items() if char]
    if "" in node:
        term = node[""]
        branches.append(rf"(?<![a-z0-9]{re.escape(term)})(?![a-z0-9])"
                        if _LATIN_TERM.match(term) else "")
    return branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"


class Page:
    """The features of a page's normalised lines, computed once for all the page passes."""

    def __init__(self, normalised: list[str], paragraph_chars: int):
        self.normalised = normalised
        self.compact = [compact(line) for line in normalised]
        # An article paragraph: long, with a sentence end.
        self.paragraph = [len(text) >= paragraph_chars and bool(_SENTENCE_END.search(line))
                          for line, text in zip(normalised, self.compact)]
        self._counted: dict[int, str] = {}
        self._first_counted: dict[int, str] = {}

    def counted(self, i: int) -> str:
        """Line i's letters and digits (made when first asked: few lines need them)."""
        if i not in self._counted:
            self._counted[i] = _NOT_COUNTED.sub("", self.normalised[i])
        return self._counted[i]

    def first_counted(self, i: int) -> str:
        """Line i's first letter or digit ("" when none)."""
        if i not in self._first_counted:
            first = _COUNTED.search(self.normalised[i])
            self._first_counted[i] = first[0] if first else ""
        return self._first_counted[i]

    def first_paragraph(self, decisions: list[Decision]) -> int | None:
        return next((d.index for d in decisions if d.reason is None and self.paragraph[d.index]),
                    None)


class Despammer:
    def __init__(self, options: DespamOptions, rules: Rules):
        self.options = options
        self.normaliser = Normaliser()
        self.lexicon = Lexicon(rules, self.normaliser)
        patterns = [self._boilerplate_pattern(row) for row in rules.table("boilerplate.txt", 2, 2)]
        self.boilerplate = PatternSet([p for p in patterns
                                       if p.kind not in HINT_KINDS and p.kind != "keep"])
        self.keep = PatternSet([p for p in patterns if p.kind == "keep"])
        self.hints = {kind: PatternSet([p for p in patterns if p.kind == kind])
                      for kind in HINT_KINDS}
        self.model = LinearModel.load(rules)
        self.templates = TemplateTable.load(options.templates) if options.templates else None
        t = rules.toml("despam.toml")
        self.t = {f"{section}.{key}": value for section, table in t.items()
                  for key, value in table.items()}
        threshold, min_lines = self.t["model.min_content_probability"], self.t["model.min_lines"]
        if not 0 <= threshold <= 1:
            raise RuleError(f"despam.toml: [model] min_content_probability must be from 0 to 1, "
                            f"found {threshold!r}")
        if not isinstance(min_lines, int) or min_lines < 1:
            raise RuleError(f"despam.toml: [model] min_lines must be a whole number of at least "
                            f"1, found {min_lines!r}")

    @staticmethod
    def _boilerplate_pattern(row: RuleLine) -> BoilerplatePattern:
        kind, pattern = row.fields
        if kind not in BOILERPLATE_KINDS:
            raise row.error(f"kind must be one of {', '.join(BOILERPLATE_KINDS)}, found {kind!r}")
        return BoilerplatePattern(kind, compile_pattern(row, pattern, regex.I), row)

    # ---- one line ----

    def spam_measures(self, normalised: str, hits: list[str]
                      ) -> tuple[float, str, bool, LineEvidence]:
        """(score, evidence, is_spam, measures) from lexicon hits, their coverage and the
        segment structure."""
        if not hits:
            return 0.0, "", False, LineEvidence()
        text = compact(normalised)
        weights = [self.lexicon.weights[term] for term in hits]
        score = math.fsum(weights)  # exact: the built-in sum of floats changed in Python 3.12
        strong = sum(w >= self.t["spam.strong_weight"] for w in weights)
        counted = len(_COUNTED.findall(text)) or 1
        coverage = sum(len(_COUNTED.findall(term)) for term in hits) / counted
        segments = [s for s in _SEGMENT_SEP.split(normalised) if s]
        spam_segments = sum(bool(self.lexicon.hits(compact(s))) for s in segments)
        share = spam_segments / len(segments)
        distinct = sorted(set(hits))
        terms = ", ".join(distinct[:12]) + (", ..." if len(distinct) > 12 else "")
        evidence = (f"terms {terms}; strong {strong}, coverage {coverage:.2f}, "
                    f"segments {spam_segments}/{len(segments)}")
        enough = strong >= self.t["spam.min_strong_terms"] and score >= self.t["spam.min_score"]
        listed = len(segments) >= self.t["spam.min_segments"] and \
            share >= self.t["spam.min_spam_segment_share"]
        # A long list of titles nearly all of which hit is spam even without an unambiguous term.
        long_list = len(segments) >= self.t["spam.list_min_segments"] and \
            share >= self.t["spam.list_min_share"] and score >= self.t["spam.list_min_score"] and \
            len(distinct) >= self.t["spam.list_min_distinct_terms"]
        # A short query title stuffed with weaker terms (濰坊做網站的那家好網絡推廣公司名字大全).
        stuffed = len(text) <= self.t["spam.stuffed_max_chars"] and \
            not _PUNCTUATION.search(normalised) and \
            len(distinct) >= self.t["spam.stuffed_min_distinct_terms"] and \
            coverage >= self.t["spam.stuffed_min_coverage"] and score >= self.t["spam.stuffed_min_score"]
        spam = long_list or stuffed or \
            (enough and (coverage >= self.t["spam.min_coverage"] or listed))
        return score, evidence, spam, LineEvidence(score, strong, coverage, share, spam)

    def chrome_match(self, normalised: str) -> tuple[str | None, str, float]:
        """The first boilerplate.txt pattern found on the line: its kind, file:line and the share
        of the line the match covers."""
        if len(compact(normalised)) > self.t["boilerplate.max_chars"]:
            return None, "", 0.0
        found = self.boilerplate.first_match(normalised)
        if not found:
            return None, "", 0.0
        p, match = found
        if match is None:
            return "timeout", p.where, 0.0
        return p.kind, p.where, len(match[0]) / max(len(normalised), 1)

    def classify(self, line: str, normalised: str, index: int = 0,
                 hits: list[str] | None = None) -> Decision:
        """The rules' decision for a line on its own (kind of chrome in evidence for the zones);
        `hits` are the lexicon's hits on the line when the caller has them already."""
        return self._rule_line(line, normalised, index, hits)[0]

    def _rule_line(self, line: str, normalised: str, index: int,
                   hits: list[str] | None) -> tuple[Decision, LineEvidence]:
        if not line.strip():
            return Decision(index, line, "blank"), LineEvidence()
        if is_html_residue(line):
            return Decision(index, line, "html"), LineEvidence()
        if is_mojibake(line):
            return Decision(index, line, "mojibake"), LineEvidence()
        if hits is None:
            hits = self.lexicon.hits(compact(normalised))
        score, evidence, spam, measures = self.spam_measures(normalised, hits)
        kind, where, covered = self.chrome_match(normalised)
        if kind == "timeout":  # a rule that cannot read this line in time: the line's reject
            return _timed_out(index, line, score, where), LineEvidence()
        if kind:
            measures = replace(measures, pattern_kind=kind, pattern_coverage=covered)
        if spam:
            return Decision(index, line, "spam_title", score, evidence), measures
        if kind:
            return Decision(index, line, "boilerplate", score, f"{kind} {where}"), measures
        repeated = is_repeated_header(normalised)
        if repeated or is_scrambled_watermark(line):
            why = "repeated segments" if repeated else "anti-copy watermark"
            return Decision(index, line, "boilerplate", score, why), \
                replace(measures, pattern_kind="shape", pattern_coverage=1.0)
        return Decision(index, line, None, score, evidence), measures

    # ---- a page ----

    def decide(self, lines: list[str], site: str | None = None) -> list[Decision]:
        normalised = self.normaliser.lines(lines)
        return self.decide_normalised(lines, normalised, self.site_lines(site, normalised))

    def site(self, record: dict) -> str | None:
        """The record's site, as the template table knows sites (None without a table)."""
        return site_of(record, self.options.site_field) if self.templates else None

    def site_lines(self, site: str | None, normalised: list[str]) -> SiteLines | None:
        """What the template table knows of the lines (None without a table)."""
        if self.templates is None:
            return None
        return self.templates.lines_of(site, line_keys(normalised))

    def decide_normalised(self, lines: list[str], normalised: list[str],
                          templates: SiteLines | None = None) -> list[Decision]:
        """The rules decide what they are sure of: blank lines, markup residue, mojibake, spam
        titles by the lexicon, chrome a pattern matched and the zone rules; the model decides
        the rest (see model_decides). `templates`: site_lines."""
        rules, measures, page = self._ruled(lines, normalised, templates)
        if sum(rule.reason not in CERTAIN for rule in rules) >= self.t["model.min_lines"]:
            features = model_inputs(rules, self._features(lines, page, measures))
            shares = self.model.page_shares(stage_zero_words(rules, page))
            probabilities = self.model.predict(features, shares)
            decisions = [self._weigh(rule, f, p, shares) if model_decides(rule, f) else rule
                         for rule, f, p in zip(rules, features, probabilities)]
        else:  # a headline or two: no page around them to weigh, no features to build
            decisions = rules
        return self._kept_by_user(decisions, normalised) if self.keep.patterns else decisions

    def _kept_by_user(self, decisions: list[Decision], normalised: list[str]) -> list[Decision]:
        """A user's keep pattern has the last word on every line that is not blank."""
        for d in decisions:
            if d.reason not in (None, "blank") and \
                    (found := self.keep.first_match(normalised[d.index])):
                p, match = found
                decisions[d.index] = Decision(d.index, d.text, None, d.score,
                                              f"keep {p.where} (was {d.reason})") if match \
                    else _timed_out(d.index, d.text, d.score, p.where)
        return decisions

    def evidence(self, lines: list[str], normalised: list[str], templates: SiteLines | None = None
                 ) -> tuple[list[Decision], list[dict[str, float]], frozenset[str]]:
        """The rules' decision for every line, every line's features for the model and the
        page's words."""
        rules, measures, page = self._ruled(lines, normalised, templates)
        return rules, self._features(lines, page, measures), stage_zero_words(rules, page)

    def _features(self, lines: list[str], page: Page, measures: list[LineEvidence]
                  ) -> list[dict[str, float]]:
        return page_features(lines, page.normalised, page.compact, measures,
                             self.t["head.paragraph_chars"])

    def _ruled(self, lines: list[str], normalised: list[str], templates: SiteLines | None
               ) -> tuple[list[Decision], list[LineEvidence], Page]:
        """The rules' decision for every line (the zone rules' included), what the rules measured
        on each (with the records of its site holding it), and the page."""
        page = Page(normalised, self.t["head.paragraph_chars"])
        hits = self.lexicon.hits_per_line(page.compact)
        ruled = [self._rule_line(line, norm, i, line_hits)
                 for i, (line, norm, line_hits) in enumerate(zip(lines, normalised, hits))]
        decisions = [d for d, _ in ruled]
        self._menus(decisions, page)
        self._head_zone(decisions, page)
        self._teasers(decisions, page)
        self._near_chrome(decisions, page)
        self._tail_zone(decisions, page)
        self._repeats(decisions, page)
        if templates is not None:
            self._template_lines(decisions, templates, page)
        held = templates.held if templates is not None else [0] * len(lines)
        measures = [replace(e, zone=d.zone, template=n) if d.zone or n else e
                    for d, (_, e), n in zip(decisions, ruled, held)]
        return decisions, measures, page

    def _weigh(self, rule: Decision, features: dict[str, float], p: list[float],
               shares: list[float] | None) -> Decision:
        noise = 1.0 - p[0]
        rules = f"; rules: {rule.reason} {rule.evidence}".rstrip() if rule.reason else ""
        threshold = self.t["model.min_content_probability"]
        label = model_reason(p, threshold, "paragraph" in features)
        if label is None:
            paragraph = ", a paragraph" if p[0] < threshold else ""
            return Decision(rule.index, rule.text, None, noise,
                            f"p(noise) {noise:.2f}{paragraph}{rules}")
        why = contributions(self.model.weights["1"], features, label)
        c = LABELS.index(label)
        if shares and shares[c] >= PAGE_READS_AS:
            why = f"{why}; the page's words read as {label} {shares[c]:.2f}".lstrip("; ")
        return Decision(rule.index, rule.text, label, noise, f"p(noise) {noise:.2f}: {why}{rules}")

    def _menus(self, decisions: list[Decision], page: Page) -> None:
        """A row of short unpunctuated words above the article is the site's menu."""
        top = page.first_paragraph(decisions) or 0
        for d in decisions[: min(top, self.t["head.lines"])]:
            normalised = page.normalised[d.index]
            if d.reason is None and self._is_menu(normalised.split(" ")) and \
                    not _SENTENCE_END.search(normalised):
                decisions[d.index] = _zone(d, "menu of short words", "menu")

    def _is_menu(self, words: list[str]) -> bool:
        lengths = [len(w) for w in words]
        return len(words) >= self.t["menu.min_words"] and \
            max(lengths) <= self.t["menu.max_word_chars"] and \
            sum(lengths) / len(words) >= self.t["menu.min_mean_word_chars"]

    def _teasers(self, decisions: list[Decision], page: Page) -> None:
        """A summary that repeats the opening of the article below it (a meta description)."""
        kept = [d.index for d in decisions if d.reason is None]
        for k, i in enumerate(kept):
            text = page.compact[i]
            if len(text) < self.t["teaser.min_chars"]:  # shorter still without its prefix
                continue
            teaser = _TEASER_PREFIX.sub("", text).rstrip(".…")
            if len(teaser) < self.t["teaser.min_chars"]:
                continue
            # The lines below must begin with the teaser's first letter: a cheap test that rules
            # out nearly every paragraph before the full comparison.
            below = kept[k + 1: k + 1 + 8]
            first = _COUNTED.search(teaser)
            if first and first[0] not in {page.first_counted(j) for j in below}:
                continue
            # Compared on letters and digits: a summary often differs in quotes and punctuation.
            teaser = _NOT_COUNTED.sub("", teaser)
            after = [page.counted(j) for j in below]
            if any("".join(after[m:]).startswith(teaser) for m in range(len(after))):
                decisions[i] = _zone(decisions[i], "repeats the opening of the article", "teaser")

    def _template_lines(self, decisions: list[Decision], templates: SiteLines,
                        page: Page) -> None:
        """A line that most records of its site hold is the site's template, as CCNet drops the
        paragraphs repeated across a shard. A sentence is left to the model, as is a line fewer
        records hold: an article's own sentences recur where the site printed it again."""
        at_least = max(self.t["template.min_records"],
                       self.t["template.min_share"] * templates.records)
        for d, held in zip(decisions, templates.held):
            if d.reason is None and held >= at_least and \
                    not _SENTENCE_END.search(page.normalised[d.index]):
                decisions[d.index] = _zone(d, f"the site's template: {held} of its "
                                              f"{templates.records} records hold it", "template")

    def _repeats(self, decisions: list[Decision], page: Page) -> None:
        """The page's title shown three times or more (in widgets, share boxes): every showing
        after the first is chrome. Other repeated lines (schedules, tables) stay."""
        kept = [d.index for d in decisions if d.reason is None]
        title = self.title_of([page.normalised[i] for i in kept])
        showings = [i for i in kept if title and page.normalised[i] == title]
        if len(showings) >= self.t["repeat.min_times"]:
            for i in showings[1:]:
                decisions[i] = _zone(decisions[i], f"the title shown {len(showings)} times",
                                     "title_repeat")

    def _near_chrome(self, decisions: list[Decision], page: Page) -> None:
        """Short lines above the first paragraph that sit next to chrome (site names, taglines, ads,
        tag rows, notices) are scored on evidence; the likely title of the article is never dropped:
        the longest of these lines and the one just above the article's metadata line, wherever
        they are shown."""
        first = page.first_paragraph(decisions)
        head = [d.index for d in decisions[:first] if d.reason is None] if first else []
        if len(head) < 2:
            return
        titles = self._likely_titles(head, decisions[:first], page)
        noise = [d.reason not in (None, "blank") for d in decisions]
        shown = [d.index for d in decisions if d.reason != "blank"]
        for i in head:
            if page.normalised[i] in titles:
                continue
            k = shown.index(i)
            beside = (k > 0 and noise[shown[k - 1]], k + 1 < len(shown) and noise[shown[k + 1]])
            score, why = self._chrome_score(page, i, beside)
            if score >= self.t["near_chrome.min_score"]:
                decisions[i] = _zone(decisions[i], f"near page chrome: {why} = {score:g}",
                                     "near_chrome")

    @staticmethod
    def _likely_titles(head: list[int], above: list[Decision], page: Page) -> set[str]:
        titles = [max(head, key=lambda i: len(page.compact[i]))]
        metas = [d.index for d in above if d.evidence.startswith("meta ")]
        titles += [i for i in head if metas and i < metas[-1]][-1:]
        return {page.normalised[i] for i in titles}

    def _chrome_score(self, page: Page, i: int, beside: tuple[bool, bool]) -> tuple[float, str]:
        normalised, text = page.normalised[i], page.compact[i]
        words = normalised.split(" ")
        # Chrome is short: like boilerplate.txt's other kinds, hints read no longer line.
        short = len(text) <= self.t["boilerplate.max_chars"]
        evidence = [  # (what, weight in [near_chrome], found)
            ("chrome above", "neighbour", beside[0]),
            ("chrome below", "neighbour", beside[1]),
            ("short", "short", len(text) <= self.t["near_chrome.short_chars"]),
            ("unpunctuated", "unpunctuated", not _PUNCTUATION.search(text)),
            ("tag row", "tag_row", len(words) >= 2 and all(
                2 <= len(w) <= self.t["near_chrome.tag_max_word_chars"] for w in words)),
            ("site words", "hint", short and self.hints["hint"].first_match(normalised) is not None),
            ("channel names", "channel",
             short and self.hints["channel"].first_match(normalised) is not None),
        ]
        found = [(what, self.t[f"near_chrome.{weight}"]) for what, weight, hit in evidence if hit]
        return math.fsum(w for _, w in found), ", ".join(what for what, _ in found)

    def _head_zone(self, decisions: list[Decision], page: Page) -> None:
        anchor = None
        for d in decisions[: self.t["head.lines"]]:
            if d.reason is None and page.paragraph[d.index]:
                break
            if d.evidence.startswith("nav "):
                anchor = d.index
        if anchor is None:
            return
        for d in decisions[:anchor]:
            text = page.compact[d.index]
            if d.reason is None and len(text) <= self.t["head.max_chars"] and "。" not in text:
                decisions[d.index] = _zone(d, "above the site navigation", "head")

    def _tail_zone(self, decisions: list[Decision], page: Page) -> None:
        in_article = in_tail = False
        max_chars = self.t["tail.max_chars"]
        for d in decisions:
            text = page.compact[d.index]
            if d.evidence.startswith("tail ") and in_article:
                in_tail = True
            elif in_tail and d.reason is None:
                teaser = page.normalised[d.index].endswith(("...", "…")) and len(text) <= max_chars
                if teaser or self._is_short_phrase(text, max_chars):
                    decisions[d.index] = _zone(d, "after the end of the article", "tail")
                else:
                    in_tail = False
            in_article = in_article or (d.reason is None and page.paragraph[d.index])

    @staticmethod
    def _is_short_phrase(compact_text: str, max_chars: int) -> bool:
        return len(compact_text) <= max_chars and \
            not _SENTENCE_END.search(compact_text.rstrip(".…"))

    # ---- a record ----

    def is_spam_text(self, normalised: list[str]) -> tuple[bool, str]:
        text = compact("".join(normalised))
        strong = sum(self.lexicon.weights[term] >= self.t["spam.strong_weight"]
                     for term in self.lexicon.hits(text))
        per_1000 = strong * 1000 / max(len(text), 1)
        spam = strong >= self.t["record.min_strong_hits"] and \
            per_1000 >= self.t["record.min_strong_per_1000"]
        return spam, f"{strong} unambiguous spam terms, {per_1000:.1f} per 1000 characters"

    def title_of(self, kept: list[str]) -> str:
        for line in kept:
            text = line.strip()
            if text:
                ends_sentence = _SENTENCE_END.search(unicodedata.normalize("NFKC", text[-1]))
                return text if len(text) <= self.t["title.max_chars"] and not ends_sentence else ""
        return ""

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        lines = record["text"].split("\n")
        # Lines are normalised each on its own (see Normaliser.lines), so the kept ones keep
        # their normalised view for is_spam_text.
        normalised = self.normaliser.lines(lines)
        decisions = self.decide_normalised(lines, normalised,
                                           self.site_lines(self.site(record), normalised))
        # A rule that timed out says which one in the reject: the file to fix.
        rejects = [line_reject(record, NAME, d.reason, d.index, d.text,
                               **({"error": d.evidence} if d.reason == "rule_timeout" else {}))
                   for d in decisions if d.reason]
        kept = [d.text for d in decisions if d.reason is None]
        title = record.get("title") or ""
        if title and self.classify(title, self.normaliser.line(title)).reason == "spam_title":
            rejects.append(field_reject(record, NAME, "spam_title", "title", title))
            title = ""
        record["title"] = title or self.title_of(kept)
        record["text"] = "\n".join(kept)
        record["meta"][NAME] = {"lines_in": len(lines), "lines_dropped": len(lines) - len(kept)}
        if not any(line.strip() for line in kept):
            return None, rejects + [record_reject(record, NAME, "no_content")]
        spam, why = self.is_spam_text([normalised[d.index] for d in decisions if d.reason is None])
        if spam:
            return None, rejects + [record_reject(record, NAME, "spam_text", error=why)]
        return record, rejects


class PatternSet:
    """Rule patterns tried in order, each only on lines that can hold a match. A search with a
    timeout costs about 2 µs even when it fails at once (the timeout reads the process clock),
    and a combined alternation of the rules tries every alternative at every position; set
    operations and substring tests rule most patterns out for a line far cheaper. Two gates are
    read from each pattern's parse tree: strings one of which every match holds
    (required_strings), and for a pattern anchored at the start the characters a match can begin
    with (start_chars). Text is compared case-folded, as the patterns ignore case; a pattern
    without a gate is always tried."""

    def __init__(self, patterns: list[BoilerplatePattern]):
        self.patterns = patterns
        # Sets of patterns are bit masks (bit i: patterns[i]): a line's candidates are the
        # ungated patterns and those of the required strings it holds.
        self.ungated = 0
        needing: dict[str, int] = {}  # required string: the patterns that need it
        self.anchored = 0  # patterns gated on the character a line starts with
        self.may_start: dict[str, int] = {}  # start character: the anchored patterns it allows
        self.digit_start = 0  # the anchored patterns any digit may start
        self._ruled_out: dict[str, int] = {}  # see _cannot_start
        for i, p in enumerate(patterns):
            needed = required_strings(p.pattern.pattern)
            if needed is None:
                self.ungated |= 1 << i
            for string in needed or ():
                needing[string] = needing.get(string, 0) | 1 << i
            if (starts := start_chars(p.pattern.pattern)) is not None:
                self.anchored |= 1 << i
                for char in starts:
                    if char == _ANY_DIGIT:
                        self.digit_start |= 1 << i
                    else:
                        self.may_start[char] = self.may_start.get(char, 0) | 1 << i
        # The required strings by first character: only those of characters a line holds are
        # looked for.
        self.by_char: dict[str, list[tuple[str, int]]] = {}
        for string, mask in needing.items():
            self.by_char.setdefault(string[0], []).append((string, mask))
        # Finds which of those characters a line holds (a scan in C rather than set(line)).
        self._first_chars = re.compile("[" + "".join(map(re.escape, self.by_char)) + "]"
                                       if self.by_char else r"(?!)")

    def first_match(self, normalised: str
                    ) -> tuple[BoilerplatePattern, regex.Match | None] | None:
        """The first pattern found on the line and its match; a pattern that took more than
        PATTERN_TIMEOUT_SECONDS on the line comes with no match."""
        mask = self._candidates(normalised)
        while mask:
            i = (mask & -mask).bit_length() - 1  # the lowest bit: patterns stay in order
            mask &= mask - 1
            p = self.patterns[i]
            try:
                if match := p.pattern.search(normalised, timeout=PATTERN_TIMEOUT_SECONDS):
                    return p, match
            except TimeoutError:
                return p, None  # the line is the caller's to reject; the run goes on
        return None

    def _candidates(self, normalised: str) -> int:
        folded = normalised.casefold()
        mask = self.ungated
        for ch in set(self._first_chars.findall(folded)):
            for string, patterns in self.by_char[ch]:
                if string in folded:
                    mask |= patterns
        return mask & ~self._cannot_start(normalised[:1])

    def _cannot_start(self, first: str) -> int:
        """The anchored patterns a line beginning with `first` rules out (remembered: lines
        begin with few characters)."""
        if first not in self._ruled_out:
            may = self.may_start.get(first.casefold()[:1], 0)
            if _DIGIT.fullmatch(first):
                may |= self.digit_start
            self._ruled_out[first] = self.anchored & ~may
        return self._ruled_out[first]


# In a set of start characters: any character `\d` matches (decided by `regex` itself, so that
# its Unicode version counts).
_ANY_DIGIT = "\\d"
_DIGIT = regex.compile(r"\d")


# Syntax of the `regex` module that the standard library would read as something else (fuzzy
# matching {e<=1}, set operations [[a]--[b]], (?r), \\m \\M, named lists): no gate for those.
_REGEX_ONLY = regex.compile(r"\{[^}]*[eids][<=]|\[\[|--|&&|\|\||~~|\(\?[^:)]*r|\\[mMLGX]")


def _parse(pattern: str) -> list | None:
    """The standard library's parse of a rule pattern (the `regex` module has no parse tree to
    offer); \\p{...} classes are read as any character."""
    if _REGEX_ONLY.search(pattern):
        return None
    try:
        return list(sre_parse.parse(regex.sub(r"\\[pP]\{[^}]*\}", ".", pattern)))
    except (sre_constants.error, ValueError, OverflowError, RecursionError):
        return None


def required_strings(pattern: str) -> frozenset[str] | None:
    """Strings (case-folded) one of which every match of `pattern` contains, or None when that
    cannot be told."""
    tree = _parse(pattern)
    return None if tree is None else _sequence_needs(tree)


def start_chars(pattern: str) -> frozenset[str] | None:
    """For a pattern anchored at the start (^...), the characters (case-folded, or _ANY_DIGIT)
    one of which begins every match; None when it is not anchored or that cannot be told."""
    tree = _parse(pattern)
    return None if tree is None else _anchored_starts(tree)


def _anchored_starts(items) -> frozenset[str] | None:
    if len(items) == 1 and items[0][0] is sre_constants.BRANCH:  # ^a|^b
        branches = [_anchored_starts(list(b)) for b in items[0][1][1]]
        return None if None in branches else frozenset().union(*branches)
    if items and items[0] == (sre_constants.AT, sre_constants.AT_BEGINNING):
        return _sequence_starts(items[1:])
    return None


_REPEATS = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)


def _sequence_starts(items) -> frozenset[str] | None:
    """Start characters of a sequence: those of its optional items and of the first item it
    needs; None when it can match the empty string."""
    starts: set[str] = set()
    for op, av in items:
        if op in _REPEATS and av[0] == 0:
            optional = _sequence_starts(av[2])
            if optional is None:
                return None
            starts |= optional
            continue
        first = _item_starts(op, av)
        return None if first is None else frozenset(starts | first)
    return None


def _item_starts(op, av) -> frozenset[str] | None:
    return _item(op, av, _sequence_starts, _set_starts)


def _set_starts(items) -> frozenset[str] | None:
    starts = set()
    for iop, value in items:
        if iop is sre_constants.LITERAL:
            starts.add(chr(value).casefold()[:1])
        elif (iop, value) == (sre_constants.CATEGORY, sre_constants.CATEGORY_DIGIT):
            starts.add(_ANY_DIGIT)
        else:
            return None  # ranges, other categories, negation
    return frozenset(starts)


def _sequence_needs(items) -> frozenset[str] | None:
    options = [needs for op, av in items if (needs := _item_needs(op, av))]
    run: list[str] = []  # consecutive literal characters: a string every match holds
    for op, av in [*items, (None, None)]:
        if op is sre_constants.LITERAL:
            run.append(chr(av).casefold())
            continue
        if len(run) > 1:
            options.append(frozenset(["".join(run)]))
        run = []
    # The fewest and rarest strings: a single character, ASCII above all (":", "-", " "), is
    # far more common than a string of two or more.
    return min(options, key=lambda strings: sum(0.2 if len(s) > 1 else 3 if s.isascii() else 1
                                                for s in strings), default=None)


def _item_needs(op, av) -> frozenset[str] | None:
    return _item(op, av, _sequence_needs, _set_needs)


def _set_needs(items) -> frozenset[str] | None:
    if any(iop is not sre_constants.LITERAL for iop, _ in items):
        return None  # ranges, categories, negation: too wide to be worth it
    return frozenset(chr(c).casefold() for _, c in items)


def _item(op, av, sequence, char_set) -> frozenset[str] | None:
    """One item of a parse tree, for either gate: `sequence` reads a sequence of items and
    `char_set` the characters one item matches (a literal is a set of one)."""
    if op is sre_constants.LITERAL:
        return char_set([(op, av)])
    if op is sre_constants.IN:
        return char_set(av)
    if op is sre_constants.SUBPATTERN:
        return sequence(av[-1])
    if op is sre_constants.ATOMIC_GROUP:
        return sequence(av)
    if op is sre_constants.BRANCH:
        branches = [sequence(b) for b in av[1]]
        return None if None in branches else frozenset().union(*branches)
    if op in _REPEATS:  # optional items are read by _sequence_starts, and need nothing
        low, _, sub = av
        return sequence(sub) if low >= 1 else None
    return None


def stage_zero_words(rules: list[Decision], page: Page) -> frozenset[str]:
    """What stage 0 reads of a page: the words of its opening once the lines the rules call
    markup or spam titles are left out, so that the spam header of a hijacked page does not
    decide how the short article under it reads (a doorway page still reads as one: its
    prose is not a spam title)."""
    return page_words([page.compact[r.index] for r in rules if r.reason not in NOT_READ])


def model_inputs(rules: list[Decision], features: list[dict[str, float]]
                 ) -> list[dict[str, float]]:
    """The features the model reads: none for the lines the rules decide alone (CERTAIN), at
    run time as in training."""
    return [{} if rule.reason in CERTAIN else f for rule, f in zip(rules, features)]


def model_reason(p: list[float], threshold: float, paragraph: bool) -> str | None:
    """The model's decision on a line from its probabilities: None (content) when p(content)
    reaches the threshold, else the likeliest noise label; a paragraph of sentences is never taken
    for chrome on the model's word alone."""
    if p[0] >= threshold:
        return None
    label = LABELS[max(range(1, len(LABELS)), key=lambda c: p[c])]
    return None if label == "boilerplate" and paragraph else label


def model_decides(rule: Decision, features: dict[str, float]) -> bool:
    """Lines the rules keep, lines only a weak zone rule marks, and paragraphs a chrome pattern
    matched only a part of (a footer glued to an article paragraph must not cost the paragraph)."""
    if rule.reason is None or rule.zone in MODEL_ZONES:
        return True
    return rule.reason == "boilerplate" and "paragraph" in features and "pattern_part" in features


def _timed_out(index: int, line: str, score: float, where: str) -> Decision:
    return Decision(index, line, "rule_timeout", score,
                    f"{where} took more than {PATTERN_TIMEOUT_SECONDS} s on the line")


def _zone(d: Decision, where: str, zone: str) -> Decision:
    return Decision(d.index, d.text, "boilerplate", d.score, where, zone)


def is_html_residue(line: str) -> bool:
    """Tags and what a stripped element or an unrendered template leaves (? • |, a lone -, an
    image, image data, attributes, a list item's number), but not code such as `#include <x>`."""
    if _RESIDUE_LINE.match(line) or line.rstrip().endswith("-->"):
        return True
    if "{{" in line and (expression := _TEMPLATE_IN_TEXT.search(line)) and \
            _HAN_CHAR.search(line[:expression.start()] + line[expression.end():]):
        return True
    if "<" in line or "[" in line:  # where every tag starts
        without_tags, n = _TAG.subn("", line)
        if n:
            text = without_tags.strip(" \t?•·|1234567890.")
            return not text or (n >= 2 and len(text) <= TAG_HEAVY_TEXT and
                                len(text) <= (1 - TAG_HEAVY_SHARE) * len(line.strip()))
    # Only marks left where an element was (? • |), or a lone "-"; code (}, --, " *") stays.
    stripped = line.strip(_SPACE_CHARS)
    return bool(stripped) and (not stripped.strip(_RESIDUE_MARKS) or stripped == "-")


def is_mojibake(line: str) -> bool:
    """Bytes decoded with the wrong codec: GBK or Big5 read as Latin-1 (Ëã·¨»úÖÆ), UTF-8 read as
    GBK (姝ｅ洜涓哄畬), or text whose bytes were largely replaced as unreadable (甇����銝箏)."""
    if _MOJIBAKE.search(line):
        text = line.replace(" ", "")
        if len(text) >= 8 and len(_MOJIBAKE.findall(text)) >= 0.4 * len(text):
            return True
    # Bytes a decoder could not read at all, replaced by U+FFFD.
    if line.count("\ufffd") >= max(3, MISREAD_MAX_LOST * len(line)):
        return True
    return is_misread_utf8(line)


def is_misread_utf8(line: str) -> bool:
    """UTF-8 decoded as GB18030 or Big5: encoded back in that codec, the line's non-ASCII text
    is UTF-8 again, but for the few characters a lost byte spoils. Real Chinese text almost
    never is (about 80 % of it fails to decode)."""
    if len(line) < MISREAD_MIN_CHARS:  # most lines of a page: no scan needed
        return False
    runs = _NON_ASCII_RUN.findall(line)
    chars = sum(map(len, runs))
    if chars < MISREAD_MIN_CHARS:
        return False
    for codec in ("gb18030", "big5"):
        try:
            data = "".join(runs).encode(codec)
        except UnicodeEncodeError:
            continue
        text = data.decode("utf-8", errors="replace")
        if text.count("\ufffd") <= MISREAD_MAX_LOST * len(text):
            return True
    return False


def is_repeated_header(normalised: str) -> bool:
    """A keyword-stuffed header: the same title repeated across `_` (A_B_A)."""
    if "_" not in normalised or _SENTENCE_END.search(normalised) or "__" in normalised:
        return False
    segments = [s.strip() for s in normalised.split("_") if s.strip()]
    return len(segments) >= 3 and len(set(segments)) < len(segments)


def is_scrambled_watermark(line: str) -> bool:
    tokens = line.split()
    if len(tokens) < 4 or max(map(len, tokens)) > 2:
        return False
    mixed = [t for t in tokens if _WATERMARK_TOKEN.match(t)]
    return len(mixed) >= 2 and len({c for t in mixed for c in t if not c.isalnum()}) >= 2


def build(options: DespamOptions, rules: Rules) -> Despammer:
    return Despammer(options, rules)
