"""Decoding raw Chinese bytes: UTF-8, GB18030/GBK, Big5/Big5-HKSCS or UTF-16.

Generic detectors guess poorly on Chinese (charset-normalizer answers nothing for most 60-2000 byte
slices of the GBK-encoded PKU test file). Chinese has a sharper signal: text decoded with the right
codec is made of common characters, text decoded with the wrong one is not (Big5 read as GBK turns
into kana, box drawing and rare extension characters; GBK read as Big5 lands in Big5's rare level 2).
The common characters are taken from the codecs themselves: GB2312 level 1 (3,755 hanzi) and Big5
level 1 (5,401 hanzi), so no table ships with the project. UTF-16 without a BOM is told the same
way: its hanzi are common only in the right byte order, and any other reading of its ASCII
characters is half NULs. It needs a BOM or UTF16_MIN_BYTES of evidence: in a few bytes, some
reading as UTF-16 is common hanzi by chance.

Binary files (executables, archives, images, PDF; runs of NULs, which no UTF-16 text holds) are told
apart first (binary_kind), so that they are refused instead of decoded into garbage.
"""
from __future__ import annotations

import codecs
from functools import lru_cache

import regex

# Tried in this order when bytes are not UTF-8; ties go to the earlier one.
CANDIDATES = ("gb18030", "big5hkscs", "cp950", "utf-16-le", "utf-16-be")
UTF16_MIN_BYTES = 10  # 5 characters: fewer, without a BOM, are never taken for UTF-16

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


# What is not text, by its first bytes. Compressed data is here too: zhclean decompresses a file
# named .gz, .bz2, .xz or .zst (or sniffed on stdin), not one named .txt.
_SIGNATURES = tuple((regex.compile(pattern, regex.DOTALL), kind) for pattern, kind in (
    (rb"\x7fELF", "an ELF executable"),
    (rb"MZ.{0,62}\x00", "a Windows executable"),  # a text may begin with MZ, not with NULs after
    (rb"\xca\xfe\xba\xbe|\xcf\xfa\xed\xfe|\xce\xfa\xed\xfe|\xfe\xed\xfa[\xce\xcf]",
     "a Mach-O executable or Java class"),
    (rb"PK\x03\x04|PK\x05\x06", "a ZIP archive (or .docx, .xlsx, .jar, .epub)"),
    (rb"7z\xbc\xaf\x27\x1c|Rar!\x1a\x07|!<arch>\n", "an archive (7-Zip, RAR, ar or .deb)"),
    (rb"\x1f\x8b|BZh[1-9]1AY&SY|\xfd7zXZ\x00|\x28\xb5\x2f\xfd",
     "compressed data in a file not named .gz, .bz2, .xz or .zst"),
    (rb"\x89PNG\r\n\x1a\n|\xff\xd8\xff|GIF8[79]a", "an image (PNG, JPEG or GIF)"),
    (rb"%PDF-", "a PDF document"),
    (rb"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an OLE2 document (.doc, .xls)"),
    (rb"SQLite format 3\x00", "an SQLite database"),
))
# NULs past this share of the bytes are not stray damage in a text: ASCII in UTF-16, or binary.
MAX_NUL_SHARE = 0.01
# No UTF-16 text holds three NUL bytes in a row (that takes a U+0000); the integers of binary
# formats do: 8,181 of the 8,194 NUL-heavy files of /usr/bin, /usr/lib and /usr/share here, the
# others ar archives (a signature) and 6 GnuPG keys.
_NUL_RUN = b"\x00\x00\x00"


def binary_kind(data: bytes) -> str | None:
    """What `data` is when it is not text: its signature's kind, or "binary data" for NULs that
    UTF-16 cannot hold; None for text. NUL padding after a text is not counted."""
    for signature, kind in _SIGNATURES:
        if signature.match(data, 0, 64):
            return kind
    sample = data[:65536].rstrip(b"\x00")
    if sample.count(0) > MAX_NUL_SHARE * len(sample) and _NUL_RUN in sample and \
            not sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "binary data (NUL bytes)"
    return None


def detect(data: bytes, declared: str | None = None) -> str | None:
    """The codec that reads `data` best: a BOM, else the most plausible text with the fewest
    undecodable bytes (so a UTF-8 file with one bad byte stays UTF-8). A declared charset wins
    ties. None for fewer than UTF16_MIN_BYTES that are not UTF-8 and that no codec reads as
    common characters only: any reading would be a guess."""
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
    candidates = [c for c in (declared, "utf-8", *CANDIDATES) if c and
                  (len(data) >= UTF16_MIN_BYTES or not c.startswith("utf-16"))]
    scored = []
    for rank, name in enumerate(dict.fromkeys(candidates)):
        text = sample.decode(name, errors="replace")
        # Cut at a partial character at the end of the sample, not a real error.
        errors = text[:-2].count("\ufffd")
        error_rate = errors / max(1, sum(ch >= "\x80" for ch in text))
        # NULs are not text: ASCII in UTF-16 read any other way is every other character.
        error_rate += text.count("\x00") / max(1, len(text))
        bonus = 0.02 if name == declared else 0.0
        scored.append((plausibility(text) + bonus - ERROR_WEIGHT * error_rate, -rank, name))
    best = max(scored)[-1]
    if len(data) < UTF16_MIN_BYTES and not _wholly_common(data.decode(best, errors="replace")):
        return None
    return best


_CONTROL = regex.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _wholly_common(text: str) -> bool:
    """ASCII text, common hanzi and CJK punctuation only: what a few bytes must read as to be
    taken for GBK or Big5 (UTF-16 read as GBK is rare characters, controls or errors)."""
    return plausibility(text) == 1.0 and not _CONTROL.search(text)
