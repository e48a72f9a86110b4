"""The fast paths give the bytes of the slow ones they stand in for: orjson reads and writes JSONL
as Python's json does, leaving to it whatever it would read or write another way; and the segmenter,
one engine call per stretch between the runs kept whole, gives the words of one call per
whitespace-separated chunk."""
import json
import random
import re

import pytest

from conftest import SAMPLES
from zhclean import readers, writers
from zhclean.records import Notice, Reject
from zhclean.rules import Rules
from zhclean.stages import segment
from zhclean.stages.segment import ENGINES, SegmentOptions, Segmenter


def refuse(*args):
    raise AssertionError("the slow path was taken")


class RefusingEncoder:
    encode = staticmethod(refuse)


# ------------------------------------------------------------ writing

def json_line(obj) -> bytes:
    """The line Python's json writes: what dumps wrote before orjson."""
    return writers._ENCODER.encode(obj).encode("utf-8") + b"\n"


EVERY_CHARACTER = "".join(map(chr, [*range(0xd800), *range(0xe000, 0x110000)]))
NESTED_254 = json.loads("[" * 253 + "1" + "]" * 253)


@pytest.mark.parametrize("obj", [
    {"text": EVERY_CHARACTER}, {EVERY_CHARACTER: "key"},
    {"n": [0, -1, 2**63 - 1, -2**63, 2**64 - 1], "b": [True, False, None], "e": [{}, []]},
    {"deep": NESTED_254}, {"tokens": ["北京", "\u2028", "\x7f", '"\\/'], "meta": {"a": {"b": 1}}},
    Reject(id="r", stage="despam", reason="blank", line=3, text=""),
    Notice(id="n", input_line=None),
])
def test_orjson_writes_plain_values_as_json_does(obj, monkeypatch):
    expected = json_line(obj)
    monkeypatch.setattr(writers, "_ENCODER", RefusingEncoder)
    assert writers.dumps(obj) == expected


@pytest.mark.parametrize("obj", [
    {"x": 1e-07}, {"x": 1e16}, {"x": -0.0}, {"x": 2**64}, {"x": -2**63 - 1}, {"x": 10**30},
    {"deep": [NESTED_254]}, {"x": ("a", 1)}, {1: "a non-string key"},
    {"x": type("Text", (str,), {})("a str subclass")},
])
def test_what_orjson_may_write_otherwise_is_written_by_json(obj):
    assert writers._orjson_line(obj) is None
    assert writers.dumps(obj) == json_line(obj)


@pytest.mark.parametrize("obj", [{"x": float("nan")}, {"x": float("inf")}, {"x": "a\ud800"}])
def test_what_json_cannot_hold_is_still_unwritable(obj):
    with pytest.raises(writers.Unwritable):
        writers.dumps(obj)


# ------------------------------------------------------------ reading

def exact(parsed) -> str:
    """A parse as Python's json writes it: integers told from floats, keys in their order."""
    return json.dumps(parsed, ensure_ascii=False)


PLAIN_LINES = [
    '{"id": "a", "text": "北京\\n今天", "meta": {"n": [1, -0, true, null]}}',
    '{"a": 1, "b": 2, "a": 3}',  # a duplicate key: the last value, in the first place
    '{"n": [18446744073709551615, -9223372036854775808]}',
    '{"s": "\\u2028\\u0000\\u007f\\ud83d\\ude00\\"\\/", "raw": "\u2028\x7f"}',
    "[" * 500 + "]" * 500,
]
OTHER_LINES = [
    '{"n": 18446744073709551616}', '{"n": -9223372036854775809}', '{"n": ' + "9" * 30 + "}",
    '{"x": 1.5, "y": 1e-7, "z": 100e-2}', '{"x": NaN, "y": [Infinity, -1e400]}',
    '\ufeff{"bom": 1}', '{"n": ' + "1" * 4301 + "}", '{"x": 1} trailing',
]


@pytest.mark.parametrize("line", PLAIN_LINES)
def test_orjson_reads_plain_lines_as_json_does(line, monkeypatch):
    expected = readers.parsed_json(line)
    monkeypatch.setattr(readers, "parsed_json", refuse)
    value, non_finite = readers.parsed_line(line.encode("utf-8"))
    assert (exact(value), non_finite) == (exact(expected[0]), [])


def parse_outcome(parse, data):
    try:
        value, non_finite = parse(data)
    except ValueError as e:  # a JSONDecodeError, or more digits than Python reads
        return type(e).__name__, str(e)
    return exact(value), non_finite


@pytest.mark.parametrize("line", OTHER_LINES)
def test_what_orjson_refuses_or_reads_otherwise_is_read_by_json(line):
    assert parse_outcome(readers.parsed_line, line.encode("utf-8")) == \
        parse_outcome(readers.parsed_json, line.encode("utf-8").decode("utf-8-sig"))


@pytest.mark.parametrize("line", [b'{"s": "\\ud800"}', b'{"\\udfff": 1}',
                                  b'{"s": "\\ude00\\ud83d"}'])
def test_a_lone_surrogate_escaped_is_still_refused(line):
    with pytest.raises(UnicodeEncodeError):
        readers.parsed_line(line)


def test_a_run_over_plain_records_takes_the_fast_paths_alone(zhclean, tmp_path, monkeypatch):
    monkeypatch.setattr(readers, "parsed_json", refuse)
    monkeypatch.setattr(writers, "_ENCODER", RefusingEncoder)
    out, rejects = tmp_path / "out.jsonl", tmp_path / "rejects.jsonl"
    result = zhclean("run", SAMPLES / "batch.jsonl", "-o", out, "--rejects", rejects, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert out.read_bytes() and rejects.read_bytes()  # records and rejects were written


# ------------------------------------------------------------ segmenting

_CHUNKS_AND_KEPT = re.compile(rf"(\s+)|({segment._KEPT})", re.VERBOSE)


def per_chunk(engine_call, text: str, whole) -> list:
    """What the segmenter gave before: the engine called on each whitespace-separated chunk
    between the runs kept whole. split() gives [chunk, whitespace, kept, chunk, ...]."""
    out = []
    for i, part in enumerate(_CHUNKS_AND_KEPT.split(text)):
        if part and i % 3 == 0:
            out += engine_call(part)
        elif part and i % 3 == 2:
            out.append(whole(part))
    return out


# Chinese (CJK extensions too), the runs kept whole, what jieba keeps together (C++, a&b, 50%) and
# every whitespace character: Python's and the engines' own (\r\n, and \x1c-\x1f, Python's alone).
ATOMS = ["北京", "市政府", "今天召开新闻发布会", "的", "。", "，", "臺灣總統", "中国科学院",
         "我们中出了一个叛徒", "㐀㐁", "豈", "𠀀", "ｱ", "a", "abc", "GPT-4", "C++", "C#", "x86_64", "a&b",
         "50%", "3.14", "1,234.5", "2024-01-02", "v2.0.1", "https://example.com/a?b=1", "www.a.com",
         "me@mail.com", "#话题#", "#tag", "０１２", "１．５％", "Jürgen", "e\u0301", ".", "-", "_", "%",
         "+", "#", "&", "@", "/", ":", "(", "…", "\u200b", "\ufeff", "\x00", "\x7f", "🙂", "12",
         "1e5", *(c for c in map(chr, range(0x3001)) if c.isspace()), "\r\n", "  "]


def random_texts(n: int) -> list[str]:
    rng = random.Random(14)
    return ["".join(rng.choice(ATOMS) for _ in range(rng.randint(0, 30))) for _ in range(n)]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("mode,hmm", [("accurate", True), ("accurate", False), ("search", True),
                                      ("full", False)])
def test_one_engine_call_per_stretch_gives_the_words_of_one_per_chunk(engine, mode, hmm):
    segmenter = Segmenter(SegmentOptions(engine=engine, mode=mode, hmm=hmm), Rules())
    for text in random_texts(1500 if engine == "jieba-rs" else 300):
        assert segmenter.cut(text) == per_chunk(segmenter._cut, text, str), repr(text)


@pytest.mark.parametrize("engine", ENGINES)
def test_one_tagger_call_per_stretch_gives_the_tags_of_one_per_chunk(engine):
    segmenter = Segmenter(SegmentOptions(engine=engine, pos=True), Rules())
    for text in random_texts(300):
        pairs = per_chunk(segmenter._tag, text, lambda kept: (kept, ""))
        words, _ = segmenter.tag(text)  # a word's tag follows from the word alone
        assert words == [w for w, _ in pairs], repr(text)
