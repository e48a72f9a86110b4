"""Random input, seeded: whatever `read` and `run` are given, nothing crashes and nothing is lost.

Ten thousand cases a run, generated from a fixed seed (the same cases on every machine): JSONL lines
(records with noisy Chinese text, values of every JSON type where the text should be, NaN and huge
numbers, deep nesting, escaped surrogates, random bytes, cut lines, blank lines) and whole files
(random bytes, Chinese in UTF-8, GBK, Big5 and UTF-16, HTML, binary signatures, compressed data).
Each is checked for conservation: every JSONL line and every file ends in the output or in the
rejects, all that is written is valid JSON, and one worker or two write the same bytes.
"""
import gzip
import json
import random
from pathlib import Path

import pytest

from conftest import read_jsonl, strict_json

SEED = 20261203
LINES = 9_000
FILES = 1_000

WORDS = ["北京", "市政府", "今天", "召开", "新闻发布会", "介绍", "城市", "发展", "的", "情况", "。",
         "臺灣", "總統", "選舉", "結果", "備受", "關注", "，", "香港", "熱線", "電話", "：",
         "国产精品", "无码", "娱乐城", "百家乐", "_", "|", "相关文章", "閱讀原文", "版權聲明",
         '<span id="3dn8r"></span>', "標(biāo)準(zhǔn)", "2024-01-02 10:24", "https://example.com/a",
         "Transformer", "3.14", "ｆｕｌｌ", "\u200b", "\ufffd", "🙂", "\u202e", "\t", "  ", "\r"]


def noisy_text(rng: random.Random) -> str:
    lines = ["".join(rng.choice(WORDS) for _ in range(rng.randint(0, 30)))
             for _ in range(rng.randint(0, 12))]
    return "\n".join(lines)


def nested(rng: random.Random, depth: int):
    value = rng.choice([1, "x", None, True])
    for _ in range(depth):
        value = [value] if rng.random() < 0.5 else {"k": value}
    return value


def json_value(rng: random.Random):
    return rng.choice([
        lambda: None, lambda: rng.random() < 0.5, lambda: rng.randint(-10**30, 10**30),
        lambda: rng.random() * 1e300, lambda: noisy_text(rng), lambda: [noisy_text(rng)],
        lambda: {"body": noisy_text(rng)}, lambda: nested(rng, rng.randint(1, 50)),
    ])()


def jsonl_line(rng: random.Random, n: int) -> bytes:
    """Line n of the JSONL file: mostly records (id "c<n>"), the rest every kind of bad line."""
    kind = rng.random()
    if kind < 0.6:
        record = {"id": f"c{n}", "text": noisy_text(rng)}
        if rng.random() < 0.3:
            record["title"] = rng.choice([noisy_text(rng), json_value(rng)])
        if rng.random() < 0.3:
            record["meta"] = json_value(rng)
        if rng.random() < 0.2:
            record["extra"] = json_value(rng)
        if rng.random() < 0.1:
            record["text"] = json_value(rng)
        line = json.dumps(record, ensure_ascii=rng.random() < 0.5)
        if rng.random() < 0.05:  # what Python's json writes but JSON does not hold
            line = line[:-1] + ', "score": ' + rng.choice(["NaN", "Infinity", "-Infinity", "1e400"]) + "}"
        if rng.random() < 0.03:
            line = line[:-1] + ', "s": "\\ud800"}'
        return line.encode("utf-8")
    if kind < 0.7:
        return json.dumps(json_value(rng)).encode("utf-8")  # not an object
    if kind < 0.8:
        good = json.dumps({"id": f"c{n}", "text": noisy_text(rng)}, ensure_ascii=False).encode()
        return good[:rng.randint(0, len(good))]  # cut short
    if kind < 0.85:
        return rng.choice([b"", b"   ", b"\t"])
    if kind < 0.9:
        depth = rng.choice([100, 600, 990, 2000])
        return b'{"id": "c%d", "text": "x", "deep": ' % n + b"[" * depth + b"]" * depth + b"}"
    if kind < 0.93:
        return b'{"id": "c%d", "text": "a\xed\xa0\x80b"}' % n  # raw surrogate bytes
    return bytes(rng.randrange(256) for _ in range(rng.randint(1, 80))).replace(b"\n", b" ")


def raw_file(rng: random.Random) -> tuple[str, bytes]:
    text = noisy_text(rng) or "空"
    kind = rng.randrange(9)
    if kind == 0:
        return ".txt", bytes(rng.randrange(256) for _ in range(rng.randint(0, 400)))
    if kind == 1:
        return ".txt", text.encode("gb18030", errors="replace")
    if kind == 2:
        return ".txt", text.encode("big5", errors="replace")
    if kind == 3:
        return ".txt", text.encode(rng.choice(["utf-16", "utf-16-le", "utf-16-be"]), "replace")
    if kind == 4:
        return ".html", f"<html><title>{text[:20]}</title><body><p>{text}</p></body>".encode()
    if kind == 5:
        return ".txt", rng.choice([b"\x7fELF", b"MZ", b"PK\x03\x04", b"%PDF-1.4", b"\x89PNG"]) + \
            bytes(rng.randrange(256) for _ in range(200))
    if kind == 6:
        return ".txt.gz", gzip.compress(text.encode("utf-8"), mtime=0)
    if kind == 7:
        return ".txt.gz", gzip.compress(text.encode("utf-8"), mtime=0)[:rng.randint(0, 30)]
    return ".txt", text.encode("utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    rng = random.Random(SEED)
    folder = tmp_path_factory.mktemp("fuzz")
    lines = [jsonl_line(rng, n) for n in range(1, LINES + 1)]
    (folder / "lines.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    pages = folder / "pages"
    pages.mkdir()
    for i in range(FILES):
        suffix, data = raw_file(rng)
        (pages / f"{i:04d}{suffix}").write_bytes(data)
    return folder, lines


def test_random_input_never_crashes_and_every_line_and_file_is_accounted_for(
        zhclean, corpus, tmp_path):
    folder, lines = corpus
    runs = {}
    for jobs in ("1", "2"):
        out, rejects = tmp_path / f"out{jobs}.jsonl", tmp_path / f"rejects{jobs}.jsonl"
        stats = tmp_path / f"stats{jobs}.json"
        result = zhclean("run", "--jobs", jobs, folder, "-o", out, "--rejects", rejects,
                         "--stats", stats, "-q")
        assert result.exit_code in (0, 1), result.stderr[-2000:]
        assert "Traceback" not in result.stderr
        strict_json(stats.read_text(encoding="utf-8"))
        runs[jobs] = out.read_bytes(), rejects.read_bytes()
    assert runs["1"] == runs["2"]  # the same bytes whatever the number of workers

    written = [strict_json(line) for line in out.read_text(encoding="utf-8").splitlines()]
    dropped = [strict_json(line) for line in rejects.read_text(encoding="utf-8").splitlines()]

    # Every JSONL line: a record that came out or went to the rejects whole, or a read reject of
    # its own line.
    jsonl = str(folder / "lines.jsonl")
    out_ids = {r["id"] for r in written if r["source"] == jsonl}
    whole = {r["id"] for r in dropped if r["source"] == jsonl and "record" in r}
    read_lines = {r["input_line"] for r in dropped if r["source"] == jsonl and r["stage"] == "read"
                  and r["reason"] != "non_finite_number"}
    for n, line in enumerate(lines, 1):
        assert n in read_lines or f"c{n}" in out_ids | whole, (n, line[:200])
    assert not out_ids & whole

    # Every page: a record out, a record rejected whole, or a read reject of the file.
    pages = sorted(p for p in (folder / "pages").iterdir())
    accounted = {r["source"] for r in written} | {r["source"] for r in dropped
                                                 if "record" in r or r["stage"] == "read"}
    assert [str(p) for p in pages if str(p) not in accounted] == []


def test_read_alone_gives_one_record_or_reject_per_line(zhclean, corpus, tmp_path):
    folder, lines = corpus
    rejects = tmp_path / "rejects.jsonl"
    result = zhclean("read", folder / "lines.jsonl", "--rejects", rejects, "-q")
    assert result.exit_code in (0, 1) and "Traceback" not in result.stderr
    records = [strict_json(line) for line in result.stdout.splitlines()]
    read_rejects = [r for r in read_jsonl(rejects) if r["reason"] != "non_finite_number"]
    assert len(records) + len(read_rejects) == len(lines)
