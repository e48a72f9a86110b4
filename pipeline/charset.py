"""Decoding raw Chinese bytes: UTF-8, GB18030/GBK, Big5/Big5-HKSCS or UTF-16.

Generic detectors guess poorly on Chinese (charset-normalizer answers nothing for most 60-2000 byte
slices of the GBK-encoded PKU test file). Chinese has a sharper signal: text decoded with the right
codec is made of common characters, text decoded with the wrong one is not (Big5 read as GBK turns
into kana, box drawing and rare extension characters; GBK read as Big5 lands in Big5's rare level 2).
The common characters are taken from the codecs themselves: GB2312 level 1 (3,755 hanzi) and Big5
level 1 (5,401 hanzi), so no table ships with the project. UTF-16 without a BOM is told the same
way: its hanzi are common only in the right byte order, and any other reading of its ASCII
characters is half NULs.
"""
from __future__ import annotations

import codecs
from functools import lru_cache

import regex

# Tried in this order when bytes are not UTF-8; ties go to the earlier one.
CANDIDATES = ("gb18030", "big5hkscs", "cp950", "utf-16-le", "utf-16-be")

# What users write in <meta charset> mapped to the decoder that reads it (supersets included).
ALIASES = {"gb2312": "gb18030", "gbk": "gb18030", "x-gbk": "gb18030", "gb18030": "gb18030",
           "big5": "big5hkscs", "big5-hkscs": "big5hkscs", "cp950": "cp950",
           "utf-8": "utf-8", "utf8": "utf-8"}

_HAN = regex.compile(r"\p{Han}")
# How much an undecodable byte per non-ASCII character costs against plausibility (0 to 1): a
# wrong codec fails on many bytes, the right one on a damaged few.
ERROR_WEIGHT = 5.0


@lru_cache(maxsize=1)
def common_hanzi() -> frozenset[str]:
    chars = set()
    for lead in range(0xB0, 0xD8):  # GB2312 level 1
        for trail in range(0xA1, 0xFF):
            try:
                chars.add(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                pass
    for lead in range(0xA4, 0xC7):  # Big5 level 1
        for trail in (*range(0x40, 0x7F), *range(0xA1, 0xFF)):
            try:
                chars.add(bytes((lead, trail)).decode("big5"))
            except UnicodeDecodeError:
                pass
    return frozenset(c for c in chars if _HAN.match(c))


def plausibility(text: str) -> float:
    """Share of non-ASCII characters that are common hanzi or ordinary CJK punctuation."""
    common = common_hanzi()
    good = total = 0
    for ch in text:
        if ch < "\x80":
            continue
        total += 1
        if ch in common or "\u3000" <= ch <= "\u303f" or "\uff01" <= ch <= "\uff5e":
            good += 1
    return good / total if total else 1.0


def normalize_name(name: str | None) -> str | None:
    if not name:
        return None
    name = name.strip().lower()
    if name in ALIASES:
        return ALIASES[name]
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def _looks_like_utf16_ascii(sample: bytes) -> bool:
    """ASCII in UTF-16 puts its NULs on one side of each byte pair; NUL padding after UTF-8 text
    puts them on both."""
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) > 4 * min(even, odd)


def detect(data: bytes, declared: str | None = None) -> str:
    """The codec that reads `data` best: a BOM, else the most plausible text with the fewest
    undecodable bytes (so a UTF-8 file with one bad byte stays UTF-8). A declared charset wins
    ties."""
    if data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    sample = data[:65536]
    try:
        data.decode("utf-8")
        if not _looks_like_utf16_ascii(sample):  # which is valid UTF-8 too
            return "utf-8"
    except UnicodeDecodeError:
        pass
    declared = normalize_name(declared)
    scored = []
    for rank, name in enumerate(dict.fromkeys(c for c in (declared, "utf-8", *CANDIDATES) if c)):
        text = sample.decode(name, errors="replace")
        # Cut at a partial character at the end of the sample, not a real error.
        errors = text[:-2].count("\ufffd")
        error_rate = errors / max(1, sum(ch >= "\x80" for ch in text))
        # NULs are not text: ASCII in UTF-16 read any other way is every other character.
        error_rate += text.count("\x00") / max(1, len(text))
        bonus = 0.02 if name == declared else 0.0
        scored.append((plausibility(text) + bonus - ERROR_WEIGHT * error_rate, -rank, name))
    return max(scored)[-1]
