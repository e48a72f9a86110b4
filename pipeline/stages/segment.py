"""Word segmentation: jieba's algorithm and dictionary, on jieba-rs by default.

Two engines, one behaviour: `jieba-rs` (rjieba, native, GIL released) and `jieba` (the reference
Python package) load the same dictionaries (jieba's own, rules/userdict.txt, --userdict FILEs) and
see the same text: runs that must stay whole (URLs, e-mail addresses, numbers, versions, hashtags,
Latin words with diacritics) are cut out with one regex before the Chinese between them reaches the
engine, and whitespace never becomes a token.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
from functools import partial
from itertools import filterfalse
from pathlib import Path
from typing import Callable, Iterator

import opencc

from ..rules import RuleLine, Rules, read_table

NAME = "segment"

ENGINES = ("jieba-rs", "jieba")
MODES = ("accurate", "search", "full")
FORMATS = ("list", "text")

# Latin letters with and without diacritics (Latin-1, Extended-A/B, Extended Additional) and
# combining accents, so that `Jürgen` is one word in NFC and NFD alike.
_ACCENTED = "\u00C0-\u00D6\u00D8-\u00F6\u00F8-\u024F\u1E00-\u1EFF\u0300-\u036F"
_LATIN = "A-Za-z0-9" + _ACCENTED
_URL_CHARS = r"-A-Za-z0-9_.~:/?#\[\]@!$&'*+,;=%"
_LABEL = r"[A-Za-z0-9]+(?:-[A-Za-z0-9]+)*"
# A span kept whole: it starts where no Latin word or number is already running (which also keeps
# matching linear on long ASCII runs), and ends before trailing sentence punctuation. The lookahead
# on the first character lets the scan skip Chinese text three times faster.
_KEPT = rf"""(?=[{_LATIN}\#０-９])(?<![{_LATIN}._%+-])(?:
      (?:https?://|ftp://|www\.)[{_URL_CHARS}]*[-A-Za-z0-9_~/#=%&+]    # URL
    | [A-Za-z0-9._%+-]+@{_LABEL}(?:\.{_LABEL})+                         # e-mail
    | \#[\w·-]{{1,30}}\# | \#[{_LATIN}_]+                               # #话题# and #hashtag
    | [0-9]{{1,3}}(?:,[0-9]{{3}})+(?:\.[0-9]+)?%?                       # 1,234.5
    | {_LABEL}(?:\.{_LABEL})+%?                                         # 3.14 v2.0.1 a.com x.txt
    | [０-９]+(?:[．.][０-９]+)*[％%]?                                    # full-width numbers
    | [{_LATIN}]*[{_ACCENTED}][{_LATIN}]*                               # Jürgen, café
)"""
KEPT = re.compile(_KEPT, re.VERBOSE)
_USER_TAG = re.compile(r"[a-z]+")
_FREQ = re.compile(r"[0-9]+")


class OptionsError(ValueError):
    """Options that cannot work together; the CLI reports it as a usage error."""


@dataclass(frozen=True)
class SegmentOptions:
    engine: str = "jieba-rs"
    mode: str = "accurate"
    hmm: bool = True
    userdicts: tuple[str, ...] = ()
    remove_stopwords: bool = False
    stopwords: str | None = None  # a file replacing rules/stopwords.txt
    pos: bool = False
    format: str = "list"
    keep_script: bool = False

    def __post_init__(self):
        for value, allowed in ((self.engine, ENGINES), (self.mode, MODES),
                               (self.format, FORMATS)):
            if value not in allowed:
                raise OptionsError(f"{value!r} is not one of {', '.join(allowed)}")
        # Both need words that tile the text, which only accurate mode gives.
        if self.mode != "accurate" and (self.pos or self.keep_script):
            raise OptionsError("--pos and --keep-script need --mode accurate")


@dataclass(frozen=True)
class UserWord:
    word: str
    freq: int | None  # None: jieba suggests a frequency that makes the word win
    tag: str | None


def parse_userdict_row(row: RuleLine) -> UserWord:
    """One line of jieba's user dictionary format: `word [freq] [tag]`."""
    word, *rest = row.fields
    freq = tag = None
    if rest and _FREQ.fullmatch(rest[0]):
        freq = int(rest.pop(0))
    if rest:
        tag = rest.pop(0)
        if not _USER_TAG.fullmatch(tag):
            raise row.error(f"expected `word [freq] [tag]` (tag in a-z), found {tag!r}")
    if rest:
        raise row.error(f"expected `word [freq] [tag]`, found {' '.join(row.fields)!r}")
    return UserWord(word, freq, tag)


def user_words(options: SegmentOptions, rules: Rules) -> Iterator[UserWord]:
    """rules/userdict.txt (and --rules DIRs), then each --userdict FILE, in that order."""
    rows = [*rules.table("userdict.txt", 1, 3, sep=None)]
    for path in options.userdicts:
        rows += read_table(Path(path), 1, 3, sep=None)
    return map(parse_userdict_row, rows)


def load_stopwords(options: SegmentOptions, rules: Rules) -> frozenset[str]:
    if options.stopwords:
        rows = read_table(Path(options.stopwords), 1, 1, sep=None)
    else:
        rows = rules.table("stopwords.txt", 1, 1, sep=None)
    return frozenset(row.fields[0] for row in rows)


def guess_tag(word: str) -> str:
    """jieba-rs's tag for a word missing from the dictionary: m (digits), eng (Latin), x.
    Full-width letters and digits count as their ASCII forms."""
    alnum = [c for c in unicodedata.normalize("NFKC", word) if c.isascii() and c.isalnum()]
    if not alnum:
        return "x"
    return "m" if all(c.isdigit() for c in alnum) else "eng"


class FastEngine:
    """jieba-rs through rjieba."""

    def __init__(self):
        # Importing rjieba builds a dictionary of its own (0.15 s), which zhclean never uses: only
        # where a Segmenter is built, not in every command.
        import rjieba

        self._jieba = rjieba.Jieba()

    def add_word(self, word: UserWord) -> None:
        self._jieba.add_word(word.word, word.freq, word.tag)

    def cutter(self, mode: str, hmm: bool) -> Callable[[str], list[str]]:
        if mode == "full":
            return self._jieba.cut_all
        cut = self._jieba.cut if mode == "accurate" else self._jieba.cut_for_search
        return partial(cut, hmm=hmm)

    def tagger(self, hmm: bool) -> Callable[[str], list[tuple[str, str]]]:
        return partial(self._jieba.tag, hmm=hmm)


class ReferenceEngine:
    """The jieba package, on a Tokenizer of its own so that jieba's global default is untouched."""

    def __init__(self):
        import jieba  # 17 MB in every worker process: only when this engine is chosen

        jieba.setLogLevel(logging.WARNING)  # "Building prefix dict..." would reach cron mail
        self._tokenizer = jieba.Tokenizer()
        self._tokenizer.initialize()

    def add_word(self, word: UserWord) -> None:
        self._tokenizer.add_word(word.word, word.freq, word.tag)

    def cutter(self, mode: str, hmm: bool) -> Callable[[str], list[str]]:
        if mode == "full":
            return partial(self._tokenizer.lcut, cut_all=True)
        cut = self._tokenizer.lcut if mode == "accurate" else self._tokenizer.lcut_for_search
        return partial(cut, HMM=hmm)

    def tagger(self, hmm: bool) -> Callable[[str], list[tuple[str, str]]]:
        # jieba-rs tags the words of `cut` from the dictionary; jieba.posseg would cut differently
        # (its own HMM), so take only its dictionary of tags.
        from jieba.posseg import POSTokenizer  # loads the POS models: only for --pos

        tags = POSTokenizer(self._tokenizer).word_tag_tab
        cut = partial(self._tokenizer.lcut, HMM=hmm)
        return lambda text: [(w, tags.get(w, "")) for w in cut(text)]


class Segmenter:
    def __init__(self, options: SegmentOptions, rules: Rules):
        self.options = options
        engine = FastEngine() if options.engine == "jieba-rs" else ReferenceEngine()
        self._user_tags = {}
        for word in user_words(options, rules):
            engine.add_word(word)
            if word.tag:
                self._user_tags[word.word] = word.tag
        self._cut = engine.cutter(options.mode, options.hmm)
        # Full mode's engines join words across a line break (jieba-rs) or drop what they skip
        # (jieba): they get the text cut at whitespace too.
        self._split_spaces = options.mode == "full"
        self._tag = engine.tagger(options.hmm) if options.pos else None
        self._stopwords = load_stopwords(options, rules) if options.remove_stopwords else None
        self._t2s = opencc.OpenCC("t2s") if options.keep_script else None

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        text = record["text"]
        meta = {"engine": self.options.engine, "mode": self.options.mode}
        boundaries = text
        if self._t2s:
            boundaries, meta["keep_script_unprojected_lines"] = self.boundary_text(text)
        words, tags = self.tag(boundaries) if self._tag else (self.cut(boundaries), None)
        tokens = project(words, text) if self._t2s else words
        if self._stopwords is not None:
            tokens, tags, meta["stopwords_removed"] = self.drop_stopwords(words, tokens, tags)
        meta["tokens"] = len(tokens)
        record["tokens"] = " ".join(tokens) if self.options.format == "text" else tokens
        if tags is not None:
            record["pos"] = " ".join(tags) if self.options.format == "text" else tags
        record["meta"][NAME] = meta
        return record, []

    def cut(self, text: str) -> list[str]:
        words = []
        for piece, whole in pieces(text, self._split_spaces):
            if whole:
                words.append(piece)
            else:
                words += filterfalse(str.isspace, self._cut(piece))
        return words

    def tag(self, text: str) -> tuple[list[str], list[str]]:
        pairs = []
        for piece, whole in pieces(text):
            if whole:
                pairs.append((piece, ""))
            else:
                pairs += (pair for pair in self._tag(piece) if not pair[0].isspace())
        # A user dictionary's tag wins; a word with no tag gets jieba-rs's guess.
        user = self._user_tags
        return [w for w, _ in pairs], [user.get(w) or t or guess_tag(w) for w, t in pairs]

    def boundary_text(self, text: str) -> tuple[str, int]:
        """text converted to Simplified for the boundaries, character for character: a line
        whose conversion changes its length stays as it is. Returns it and that line count."""
        simplified = self._t2s.convert(text)
        if len(simplified) == len(text):
            return simplified, 0
        lines = text.split("\n")
        converted = [self._t2s.convert(line) for line in lines]
        kept = [c if len(c) == len(line) else line for c, line in zip(converted, lines)]
        return "\n".join(kept), sum(len(c) != len(line) for c, line in zip(converted, lines))

    def drop_stopwords(self, words, tokens, tags):
        """Stopwords are matched on the (Simplified) words, so Traditional tokens go too."""
        keep = [w not in self._stopwords for w in words]
        tokens = [t for t, k in zip(tokens, keep) if k]
        tags = [t for t, k in zip(tags, keep) if k] if tags is not None else None
        return tokens, tags, keep.count(False)


def pieces(text: str, split_spaces: bool = False) -> Iterator[tuple[str, bool]]:
    """The text as (piece, whole): the runs that stay one token (whole=True), and the stretches
    between them for the engine, whitespace and all. One engine call per stretch, not per
    whitespace-separated chunk, gives the same words: the engines cut a text in blocks that end at
    whitespace, which they give as tokens of their own, for the caller to drop. split_spaces: the
    stretches cut at whitespace into those chunks."""
    start = 0
    for kept in KEPT.finditer(text):
        yield from _stretch(text[start:kept.start()], split_spaces)
        yield kept.group(), True
        start = kept.end()
    yield from _stretch(text[start:], split_spaces)


def _stretch(text: str, split_spaces: bool) -> Iterator[tuple[str, bool]]:
    if split_spaces:
        yield from ((chunk, False) for chunk in text.split())
    elif text and not text.isspace():
        yield text, False


def project(words: list[str], original: str) -> list[str]:
    """The words of a same-length conversion of `original`, cut from `original` itself. Accurate
    mode's words tile the text except whitespace, so cumulative lengths are the positions."""
    flat = "".join(original.split())
    tokens, start = [], 0
    for word in words:
        end = start + len(word)
        tokens.append(flat[start:end])
        start = end
    return tokens


def build(options: SegmentOptions, rules: Rules) -> Segmenter:
    return Segmenter(options, rules)
