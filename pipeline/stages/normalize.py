"""Text normalisation that convert runs before OpenCC: pure functions on one string.

Every step keeps the line structure ("\\n" is never added or removed). normalize() runs them in
this order after one scan for the characters that trigger them, so clean text pays about two
scans (that one and the NFC check):

    mojibake   Han text whose bytes were decoded with the wrong codec, where they can be recovered
               exactly: UTF-8 read as GBK (姝ｅ洜涓哄畬 -> 正因为完), GBK or Big5 read as Latin-1
               (ÕýÒòÎª -> 正因为, ¤¤µØ¥Á°ê -> 中華民國); what cannot be recovered is despam's
               `mojibake`
    entities   HTML entities decoded (&amp; &nbsp; &#21644;), only the well-formed ones with ";"
    nfc        Unicode NFC (also maps CJK compatibility ideographs to the unified ones)
    invisible  zero-width and control characters removed; "\\r" at line ends removed
    width      full-width ASCII letters and digits to half-width; Chinese punctuation stays
    spaces     runs of spaces, tabs and no-break spaces to one space
    pinyin     pinyin pasted after a Han character removed: 標(biāo)準(zhǔn) -> 標準
"""
from __future__ import annotations

import codecs
import html
import re
import unicodedata
from typing import Iterable

from ..charset import plausibility

HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
# Line and paragraph separators an entity or a page may carry become spaces, not line breaks.
_BREAKS = {ord(c): " " for c in "\n\r\x0b\x0c\x85\u2028\u2029"}

_INVISIBLE_CHARS = ("\u00ad\u034f\u061c\u180e\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c"
                    "\u202d\u202e\u2060\u2061\u2062\u2063\u2064\ufeff")
_CONTROL_CHARS = "".join(map(chr, [*range(0x00, 0x09), *range(0x0e, 0x20), *range(0x7f, 0xa0)]))
_INVISIBLE_TRIGGERS = _INVISIBLE_CHARS + _CONTROL_CHARS + "\r\x0b\x0c\u2028\u2029"
_INVISIBLE = re.compile(f"[{re.escape(_INVISIBLE_TRIGGERS)}]")
_INVISIBLE_TABLE = {**{ord(c): None for c in _INVISIBLE_CHARS + _CONTROL_CHARS},
                    **{ord(c): " " for c in "\x0b\x0c\x85\u2028\u2029"}}
_CR_AT_LINE_END = re.compile(r"\r+(?=\n|$)")

_FULLWIDTH_ALNUM_CHARS = "".join(chr(c) for a, b in ((0xff10, 0xff19), (0xff21, 0xff3a),
                                                       (0xff41, 0xff5a)) for c in range(a, b + 1))
_FULLWIDTH_ALNUM = re.compile(f"[{_FULLWIDTH_ALNUM_CHARS}]")

_SPACES = re.compile("[ \t\u00a0]{2,}|\u00a0")

_TONES = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_TONE_MARK = re.compile(f"[{_TONES}]")
# One toned syllable shaped like pinyin (initial, one to three vowels, n/ng/r), in ASCII or
# full-width brackets, right after a Han character. English in brackets has no tone marks and
# mojibake that happens to contain pinyin letters (因?yàn)樗) has no Han character and "(".
_VOWEL = f"[aeiouüv{_TONES}]"
_PINYIN = re.compile(
    f"(?<=[{HAN}])[(（](?=[a-zü]*[{_TONES}])"
    f"(?:(?:[zcs]h|[bpmfdtnlgkhjqxrzcsyw])?{_VOWEL}{{1,3}}(?:ng|n|r)?|[{_TONES}]g?)[)）]",
    re.IGNORECASE)


# UTF-8 read as GBK: a Han character's UTF-8 bytes begin with a byte from E4 to E9 and one from 80
# to BF (CJK punctuation and full-width forms: E3 and EF), which GBK reads as one of these
# characters; a run starting with one whose GBK bytes are valid UTF-8 (strictly: no byte lost or
# guessed) gives the text back.
_MISREAD_UTF8_STARTS = "".join(
    ch for a in (0xE3, *range(0xE4, 0xEA), 0xEF) for b in range(0x80, 0xC0)
    for ch in [bytes([a, b]).decode("gbk", errors="ignore")] if ch)
_MISREAD_UTF8_START = re.compile(f"[{_MISREAD_UTF8_STARTS}]")
# GBK read as Latin-1: runs of Latin-1 characters (C1 controls too, before they are removed as
# invisible), which real text never has four of in a row.
_MISREAD_GBK = re.compile(r"[\x80-\xff]{4,}")
_LATIN1_PAIR = re.compile(r"[\x80-\xff]{2,}")
# A line wholly Latin-1 is read back as GBK and as Big5 (whose second bytes may be ASCII: 許 is
# B3 5C, "³\\"): a reading is taken when this share of its characters at least is common Han
# text (charset.plausibility), and the other reading falls short of it by this margin.
MISREAD_MIN_PLAUSIBILITY = 0.8
MISREAD_MARGIN = 0.2
# A reading is refused where an ASCII character from 40 to 7E (a letter or mark) follows a
# non-ASCII one, or stands alone before one: where a byte was lost, the codec pairs a first byte
# with the next character's and reads true again after a second byte from that ASCII range, which
# it leaves behind. Text that holds such a letter (使用iPhone, 2K屏) is refused too.
_RESYNC = re.compile(r"[^\x00-\x7f][\x40-\x7e]|(?:^|[\x00-\x3f])[\x40-\x7e](?=[^\x00-\x7f])")
# A recovery is taken only as Han text (and CJK punctuation) of this many characters at least:
# fewer come out of other bytes by chance too often. (despam's detection of what is left has
# thresholds of its own.)
RECOVERED_MIN_CHARS = 3
_HAN_CHAR = re.compile(f"[{HAN}]")
_RECOVERED = re.compile(f"[{HAN}\u3000-\u303f\uff00-\uffef]{{{RECOVERED_MIN_CHARS},}}")


def repair_mojibake(text: str) -> str:
    if not (_MISREAD_UTF8_START.search(text) or _LATIN1_PAIR.search(text)):
        return text
    return "\n".join(map(_repair_line, text.split("\n")))


def _repair_line(line: str) -> str:
    """The line repaired whole, or left as it is: where bytes were lost somewhere in it, what is
    left unrepaired is still mojibake, which despam drops with the line (a line half repaired
    would pass for text)."""
    if _LATIN1_PAIR.search(line) and (whole := _latin1_line(line)) is not None:
        return whole
    repaired = _MISREAD_GBK.sub(_gbk_of_latin1, _repair_misread_utf8(line))
    if repaired == line or "\ufffd" in repaired or _MISREAD_UTF8_START.search(repaired) or \
            _LATIN1_PAIR.search(repaired):
        return line
    return repaired


def _latin1_line(line: str) -> str | None:
    """A line of GBK or Big5 text read as Latin-1, read back with the codec that gives clearly
    the more common characters; the line as it is when neither reads it whole as Han text (a
    byte lost leaves a letter or mark next to a Han character: _RESYNC), both do about as well,
    or it is no text (marks repeated: ¯¯¯¯, ¤¤¤¤). None for a line with other characters, which
    may hold runs of GBK bytes among them (_gbk_of_latin1)."""
    try:
        data = line.encode("latin-1")
    except UnicodeEncodeError:
        return None
    if not _looks_like_text(line):
        return line
    readings = []
    for codec in ("gbk", "big5"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        whole = _RECOVERED.search(text) and not _RESYNC.search(text)
        readings.append((plausibility(text) if whole else 0.0, text))
    readings.sort(reverse=True)
    if not readings or readings[0][0] < MISREAD_MIN_PLAUSIBILITY or \
            (len(readings) == 2 and readings[0][0] - readings[1][0] < MISREAD_MARGIN):
        return line
    return readings[0][1]


def _looks_like_text(run: str) -> bool:
    """Marks repeated (····, ×××× for a censored name, ¯¯¯¯ as a rule) are no text: GBK or Big5
    text read as Latin-1 has letters (first bytes from C0 up) and few repeats."""
    high = [ch for ch in run if ch >= "\x80"]
    return len(set(high)) >= 3 and any(ch.isalpha() for ch in high)


def _repair_misread_utf8(text: str) -> str:
    """The runs of UTF-8 read as GBK repaired; the text as it is when a Han character touches a
    run without being part of one: what is left of a character whose bytes were lost (好言相勸紝
    for 好言相勸，) or of a run too short to recover, so the line is still mojibake."""
    parts, done = [], 0
    for start in (m.start() for m in _MISREAD_UTF8_START.finditer(text)):
        if start < done:
            continue
        end, recovered = _utf8_run(text, start)
        if recovered:
            if start > done and _HAN_CHAR.match(text, start - 1) or _HAN_CHAR.match(text, end):
                return text
            parts += [text[done:start], recovered]
            done = end
    return "".join(parts) + text[done:] if parts else text


def _utf8_run(text: str, start: int) -> tuple[int, str]:
    """The longest run of text from `start` whose GBK bytes are whole UTF-8 characters: (its end,
    the text they spell), or (start, "") when that is no Han text."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    pieces: list[str] = []
    end, recovered = start, ""
    for j in range(start, len(text)):
        try:
            # A UTF-8 character is bytes from 80 up: GBK reads them in twos, and Windows a lone
            # 80 as €.
            data = b"\x80" if text[j] == "€" else text[j].encode("gbk")
            if data[0] < 0x80:
                break
            pieces.append(decoder.decode(data))
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
        if not decoder.getstate()[0]:  # no character left half read
            end, recovered = j + 1, "".join(pieces)
    return (end, recovered) if _RECOVERED.fullmatch(recovered) else (start, "")


def _gbk_of_latin1(match: re.Match) -> str:
    run = match[0]
    if not _looks_like_text(run):
        return run
    before, after = match.string[match.start() - 1:match.start()], \
        match.string[match.end():match.end() + 1]
    if "\x40" <= after <= "\x7e" or "\x40" <= before <= "\x7e":
        return run  # a character of it may be split at that ASCII byte (_RESYNC)
    try:
        recovered = run.encode("latin-1").decode("gbk")
    except UnicodeDecodeError:
        return run
    return recovered if _RECOVERED.fullmatch(recovered) else run


def decode_entities(text: str) -> str:
    if "&" not in text:
        return text
    return _ENTITY.sub(lambda m: html.unescape(m.group(0)).translate(_BREAKS), text)


def nfc(text: str) -> str:
    return text if unicodedata.is_normalized("NFC", text) else unicodedata.normalize("NFC", text)


def remove_invisible(text: str) -> str:
    if not _INVISIBLE.search(text):
        return text
    return _CR_AT_LINE_END.sub("", text).replace("\r", " ").translate(_INVISIBLE_TABLE)


def halfwidth_alnum(text: str, present: Iterable[str] | None = None) -> str:
    """`present`: the full-width characters the text holds, when a scan already found them."""
    # One str.replace per distinct character: str.translate over CJK text is slow.
    for char in set(_FULLWIDTH_ALNUM.findall(text)) if present is None else present:
        text = text.replace(char, chr(ord(char) - 0xfee0))
    return text


def collapse_spaces(text: str) -> str:
    if "  " in text or "\t" in text or "\u00a0" in text:
        return _SPACES.sub(" ", text)
    return text


def remove_pinyin(text: str) -> str:
    return _PINYIN.sub("", text) if _TONE_MARK.search(text) else text


# The characters that can make a step (all but nfc) change anything; spaces also runs for "  ".
_TRIGGERED_BY = {"mojibake": set(_MISREAD_UTF8_STARTS) | set(map(chr, range(0x80, 0x100))),
                 "entities": set("&"), "invisible": set(_INVISIBLE_TRIGGERS),
                 "width": set(_FULLWIDTH_ALNUM_CHARS), "spaces": set("\t\u00a0"),
                 "pinyin": set(_TONES)}
_TRIGGER = re.compile(f"[{re.escape(''.join(sorted(set().union(*_TRIGGERED_BY.values()))))}]")
_WIDTH = _TRIGGERED_BY["width"]

STEPS = (("mojibake", repair_mojibake), ("entities", decode_entities), ("nfc", nfc),
         ("invisible", remove_invisible), ("width", halfwidth_alnum), ("spaces", collapse_spaces),
         ("pinyin", remove_pinyin))


def normalize(text: str, applied: set[str]) -> str:
    """The text with every step applied; adds the names of the steps that changed it to
    `applied`. One scan finds which steps can change anything (again after a step changed the
    text: a decoded entity may be a zero-width space)."""
    if not text:
        return text
    found = set(_TRIGGER.findall(text))
    for name, step in STEPS:
        if not _may_change(name, text, found):
            continue
        result = halfwidth_alnum(text, found & _WIDTH) if name == "width" else step(text)
        if result != text:
            applied.add(name)
            text = result
            found = set(_TRIGGER.findall(text))
    return text


def _may_change(step: str, text: str, found: set[str]) -> bool:
    if step == "nfc" or (step == "spaces" and "  " in text):
        return True
    return not found.isdisjoint(_TRIGGERED_BY[step])
