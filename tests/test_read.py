"""The read stage: formats, compression, encodings, stdin, and bad input that must not stop a run."""
import base64
import bz2
import gzip
import json
import lzma
import os
import subprocess
import sys

import pytest
import zstandard

from conftest import SAMPLES, read_jsonl
from zhclean import charset, readers
from zhclean.readers import html_to_text
from zhclean.records import derive_id

# Real sentences (UD Chinese GSD, CC BY-SA 4.0): Traditional and its Simplified reference.
TRAD = ["北極土著民族一直與外界接觸甚少，直到現代，與其他地區的交流才開始變得頻繁。",
        "華爾街的公司反對政府的監督與管制。",
        "隨後愛斯基摩人和維京人相繼定居於此。"]
SIMP = ["北极土著民族一直与外界接触甚少，直到现代，与其他地区的交流才开始变得频繁。",
        "华尔街的公司反对政府的监督与管制。",
        "随后爱斯基摩人和维京人相继定居于此。"]
# Real sentences with Latin letters and digits (tests/fixtures/gsd_dev_simplified.txt).
MIXED = ["截至2009年，千禧公园是全芝加哥人气第二高的旅游景点，仅次于海军码头（Navy's Pier）。",
         "华山松（学名：Pinus armandii），是一种松科植物。",
         "8月14日，Radzymin失守，波兰第五军团的战线被突破。"]


def test_gbk_file_is_detected_and_decoded(zhclean, tmp_path):
    path = tmp_path / "news.txt"
    path.write_bytes("\r\n".join(SIMP).encode("gbk"))
    [record] = zhclean("read", path).records
    assert record["meta"]["read"] == {"format": "txt", "encoding": "gb18030"}
    assert record["text"] == "\n".join(SIMP)  # CRLF becomes LF


def test_big5_file_is_detected_and_decoded(zhclean, tmp_path):
    path = tmp_path / "news.txt"
    path.write_bytes("\n".join(TRAD).encode("big5"))
    [record] = zhclean("read", path).records
    assert record["meta"]["read"]["encoding"] == "big5hkscs"
    assert record["text"] == "\n".join(TRAD)


@pytest.mark.parametrize("sentence", TRAD + SIMP)
def test_one_short_sentence_is_enough_to_tell_gbk_from_big5(sentence):
    for codec, expected in (("gbk", "gb18030"), ("big5", "big5hkscs")):
        try:
            data = sentence.encode(codec)
        except UnicodeEncodeError:
            continue  # a Simplified character Big5 cannot hold
        assert charset.detect(data) == expected


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
@pytest.mark.parametrize("lines", [TRAD + SIMP, MIXED], ids=["chinese", "mixed"])
def test_utf16_without_a_bom_is_detected_and_decoded(zhclean, tmp_path, codec, lines):
    path = tmp_path / "news.txt"
    path.write_bytes("\r\n".join(lines).encode(codec))
    [record] = zhclean("read", path).records
    assert record["meta"]["read"] == {"format": "txt", "encoding": codec}
    assert record["text"] == "\n".join(lines)


@pytest.mark.parametrize("sentence", TRAD + SIMP + MIXED)
def test_one_short_sentence_is_enough_to_tell_utf16_and_its_byte_order(sentence):
    for codec in ("utf-16-le", "utf-16-be"):
        assert charset.detect(sentence.encode(codec)) == codec


def test_utf8_with_bom_is_read_without_the_bom(zhclean, tmp_path):
    path = tmp_path / "bom.txt"
    path.write_bytes(b"\xef\xbb\xbf" + SIMP[1].encode("utf-8"))
    [record] = zhclean("read", path).records
    assert record["text"] == SIMP[1]
    assert record["meta"]["read"]["encoding"] == "utf-8"


def test_samples_in_every_encoding_are_read(zhclean):
    records = zhclean("read", SAMPLES).records
    encodings = {r["source"].rsplit("/", 1)[-1]: r["meta"].get("read", {}).get("encoding")
                 for r in records}
    assert encodings["gbk_arctic.txt"] == "gb18030"
    assert encodings["big5_wallstreet.txt"] == "big5hkscs"
    assert encodings["seed_lstm.txt"] == "utf-8"


def test_html_blocks_become_lines_and_hidden_text_is_skipped():
    html = ("<html><head><title>標題 &amp; 網站</title><style>p{}</style></head><body>"
            "<script>var s='<p>不是正文</p>';</script><h1>華爾街</h1>"
            f"<p>{TRAD[1]}<br>{TRAD[2]}</p><div>  第二   段 </div></body></html>")
    title, text = html_to_text(html)
    assert title == "標題 & 網站"
    assert text.split("\n") == ["華爾街", TRAD[1], TRAD[2], "第二 段"]


def test_html_meta_charset_is_honoured(zhclean, tmp_path):
    page = f'<html><head><meta charset="big5"><title>新聞</title></head><body><p>{TRAD[0]}</p>'
    path = tmp_path / "page.htm"
    path.write_bytes(page.encode("big5"))
    [record] = zhclean("read", path).records
    assert record["title"] == "新聞" and record["text"] == TRAD[0]
    assert record["meta"]["read"] == {"format": "html", "encoding": "big5hkscs"}


@pytest.mark.parametrize("suffix,compress", [
    (".gz", gzip.compress), (".bz2", bz2.compress), (".xz", lzma.compress),
    (".zst", lambda b: zstandard.ZstdCompressor().compress(b))])
def test_compressed_inputs(zhclean, tmp_path, suffix, compress):
    jsonl = tmp_path / f"batch.jsonl{suffix}"
    jsonl.write_bytes(compress(json.dumps({"id": "a", "text": SIMP[0]}, ensure_ascii=False)
                               .encode("utf-8") + b"\n"))
    txt = tmp_path / f"article.txt{suffix}"
    txt.write_bytes(compress(TRAD[1].encode("big5")))
    records = zhclean("read", jsonl, txt).records
    assert [r["text"] for r in records] == [SIMP[0], TRAD[1]]


def test_other_schemas_map_onto_the_record_and_unknown_fields_pass_through(zhclean, tmp_path):
    path = tmp_path / "crawl.jsonl"
    path.write_text(json.dumps({"doc_id": 7, "headline": "华尔街", "content": SIMP[1],
                                "url": "https://example.com/1", "lang": "zh"},
                               ensure_ascii=False) + "\n", encoding="utf-8")
    [record] = zhclean("read", path, "--text-field", "content", "--title-field", "headline",
                       "--id-field", "doc_id").records
    assert record["id"] == "7" and record["title"] == "华尔街" and record["text"] == SIMP[1]
    assert record["url"] == "https://example.com/1" and record["lang"] == "zh"
    assert "content" not in record and "headline" not in record


def test_ids_are_derived_stably_when_missing(zhclean, tmp_path):
    path = tmp_path / "a.jsonl"
    path.write_text("\n".join(json.dumps({"text": s}, ensure_ascii=False) for s in SIMP),
                    encoding="utf-8")
    first = [r["id"] for r in zhclean("read", path).records]
    again = [r["id"] for r in zhclean("read", path).records]
    assert first == again and len(set(first)) == 3


def test_stdin_is_sniffed(zhclean):
    jsonl = json.dumps({"id": "x", "text": SIMP[0]}, ensure_ascii=False) + "\n"
    assert zhclean("read", "-", input=jsonl.encode()).records[0]["id"] == "x"
    [record] = zhclean("read", input=TRAD[0].encode("big5")).records
    assert record["text"] == TRAD[0] and record["source"] == "-"


def test_a_json_array_is_read_element_by_element(zhclean, tmp_path):
    """An export as one pretty-printed JSON array: each element a record, numbered by the line it
    starts on; without an id, named by its place in the array."""
    records = [{"id": "a", "text": TRAD[0] + "\n" + TRAD[1]}, {"text": SIMP[1], "url": "u"},
               {"id": "c", "text": SIMP[2]}]
    path = tmp_path / "export.json"
    path.write_bytes(json.dumps(records, ensure_ascii=False, indent=2).replace("\n", "\r\n")
                     .encode())
    result = zhclean("read", path)
    assert result.exit_code == 0, result.stderr
    assert [r["text"] for r in result.records] == [x["text"] for x in records]
    assert [r["id"] for r in result.records] == ["a", derive_id(str(path), "[1]"), "c"]
    assert result.records[1]["url"] == "u"


def test_a_one_line_array_cut_anywhere_by_the_reads_gives_every_record(zhclean, tmp_path,
                                                                       monkeypatch):
    """json.dump's own output: one line, \\u escapes, true, false, null and numbers, read a few
    bytes at a time so that every kind of token is cut; ids of elements sharing a line differ."""
    monkeypatch.setattr(readers, "_READ_BYTES", 29)
    records = [{"text": sentence, "ok": i % 2 == 0, "no": None, "score": i * 1.25e-3}
               for i, sentence in enumerate(TRAD + SIMP + MIXED)]
    path = tmp_path / "export.json"
    path.write_text(json.dumps(records), encoding="ascii")
    result = zhclean("run", path, "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert [(r["ok"], r["no"], r["score"]) for r in result.records] == \
        [(x["ok"], x["no"], x["score"]) for x in records]
    assert len({r["id"] for r in result.records}) == len(records)


def test_rejects_of_elements_sharing_a_line_are_named_apart(zhclean, tmp_path):
    path = tmp_path / "r.json"
    path.write_text('[{"text": ""}, {"text": "  "}, [1], {"text": "好"}]', encoding="utf-8")
    rejects = tmp_path / "r.rejects.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1
    dropped = read_jsonl(rejects)
    assert [r["reason"] for r in dropped] == ["no_text", "no_text", "not_an_object"]
    assert [r["id"] for r in dropped] == [derive_id(str(path), f"[{k}]") for k in range(3)]
    assert result.records[0]["id"] == derive_id(str(path), "[3]")


def test_a_jsonl_file_is_lines_whatever_its_first_line_holds(zhclean, tmp_path):
    path = tmp_path / "batch.jsonl"
    path.write_text('[{"text": "%s"}]\n{"id": "b", "text": "%s"}\n' % (SIMP[0], SIMP[1]),
                    encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert [r["id"] for r in result.records] == ["b"]
    assert [(r["input_line"], r["reason"]) for r in read_jsonl(rejects)] == [(1, "not_an_object")]


def test_an_array_cut_short_is_reported_after_its_records(zhclean, tmp_path):
    path = tmp_path / "cut.json"
    path.write_text(json.dumps([{"id": "a", "text": SIMP[0]}], ensure_ascii=False)[:-1] + ",\n",
                    encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and "without its closing ]" in result.stderr
    assert [r["id"] for r in result.records] == ["a"]
    assert [r["reason"] for r in read_jsonl(rejects)] == ["unreadable"]


def test_a_broken_json_array_costs_what_cannot_be_read_line_by_line(zhclean, tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[\n {"id": "a", "text": "%s"},\n {"id": "b", "text": "x" "y"},\n'
                    ' {"id": "d", "text": "%s"}\n]\n' % (SIMP[0], SIMP[1]), encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and f"{path}:3: malformed json" in result.stderr
    assert [r["id"] for r in result.records] == ["a", "d"]  # a whole object on its line still reads
    assert [(r["input_line"], r["reason"]) for r in read_jsonl(rejects)] == \
        [(3, "malformed_json"), (5, "malformed_json")]


def test_stdin_holding_a_json_array_is_sniffed_but_a_bracketed_headline_is_text(zhclean):
    array = json.dumps([{"id": "x", "text": SIMP[0]}], ensure_ascii=False, indent=1)
    assert [r["id"] for r in zhclean("read", input=array.encode()).records] == ["x"]
    headline = "[快讯]" + SIMP[0]
    [record] = zhclean("read", input=headline.encode()).records
    assert record["text"] == headline and record["meta"]["read"]["format"] == "txt"


@pytest.mark.parametrize("compress", [gzip.compress, bz2.compress, lzma.compress,
                                      lambda b: zstandard.ZstdCompressor().compress(b)])
def test_compressed_stdin_is_decompressed(zhclean, compress):
    jsonl = "".join(json.dumps({"id": str(i), "text": s}, ensure_ascii=False) + "\n"
                    for i, s in enumerate(SIMP))
    assert [r["text"] for r in zhclean("read", input=compress(jsonl.encode())).records] == SIMP
    [record] = zhclean("read", input=compress(TRAD[0].encode("big5"))).records
    assert record["text"] == TRAD[0]


def test_empty_stdin_is_no_records_not_an_error(zhclean):
    for command in ("read", "run"):
        result = zhclean(command, input=b"")
        assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""


def test_stdin_is_sniffed_past_what_the_first_read_of_a_pipe_gives(tmp_path):
    """A pipe may deliver a blank line first and the JSONL later."""
    jsonl = json.dumps({"id": "x", "text": SIMP[0]}, ensure_ascii=False)
    writer = subprocess.Popen([sys.executable, "-c", "import sys, time; print(); "
                               "sys.stdout.flush(); time.sleep(0.5); print(sys.argv[1])", jsonl],
                              stdout=subprocess.PIPE)
    read = subprocess.run([sys.executable, "-m", "zhclean", "read"], stdin=writer.stdout,
                          capture_output=True, cwd=tmp_path)
    writer.wait()
    assert read.returncode == 0, read.stderr
    assert [json.loads(line)["id"] for line in read.stdout.splitlines()] == ["x"]


def test_stdin_array_is_sniffed_past_an_opening_bracket_that_comes_alone(tmp_path):
    """The rest comes once the reader has started (it takes about a second to import)."""
    writer = subprocess.Popen([sys.executable, "-c", "import sys, time; print('[' + ' ' * 10); "
                               "sys.stdout.flush(); time.sleep(2); print(sys.argv[1] + ']')",
                               json.dumps({"id": "x", "text": SIMP[0]})], stdout=subprocess.PIPE)
    read = subprocess.run([sys.executable, "-m", "zhclean", "read"], stdin=writer.stdout,
                          capture_output=True, cwd=tmp_path)
    writer.wait()
    assert read.returncode == 0, read.stderr
    assert [json.loads(line)["id"] for line in read.stdout.splitlines()] == ["x"]


def test_a_lone_surrogate_costs_its_line_only(zhclean, tmp_path):
    """json.loads accepts "\\ud800", which no UTF-8 output can hold."""
    path = tmp_path / "s.jsonl"
    path.write_text('{"id": "lone", "text": "a\\ud800b"}\n'
                    '{"id": "pair", "text": "\\ud83d\\ude00 好"}\n'
                    '{"id": "ok", "text": "你好"}\n', encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("run", path, "--rejects", rejects, "--jobs", "1")
    assert result.exit_code == 1 and f"{path}:1: undecodable" in result.stderr
    assert [r["id"] for r in result.records] == ["pair", "ok"]
    [reject] = read_jsonl(rejects)
    assert reject["reason"] == "undecodable" and base64.b64decode(reject["raw_base64"]) == \
        b'{"id": "lone", "text": "a\\ud800b"}'


def test_a_directory_that_cannot_be_listed_is_reported(zhclean, tmp_path, monkeypatch):
    (tmp_path / "in" / "locked").mkdir(parents=True)
    (tmp_path / "in" / "z.jsonl").write_text(json.dumps({"id": "z", "text": SIMP[0]}) + "\n")
    scandir = os.scandir

    def refuse_locked(path="."):  # what chmod 000 does to anyone but root
        if str(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", refuse_locked)
    result = zhclean("read", tmp_path / "in")
    assert result.exit_code == 1
    assert f"{tmp_path / 'in' / 'locked'}: unreadable: Permission denied" in result.stderr
    assert [r["id"] for r in result.records] == ["z"]


def test_bad_lines_are_reported_rejected_and_the_run_goes_on(zhclean, tmp_path):
    path = tmp_path / "mixed.jsonl"
    lines = [json.dumps({"id": "ok1", "text": SIMP[0]}, ensure_ascii=False).encode(),
             b'{"id": "broken", "text": ',
             json.dumps({"id": "empty", "text": "  "}).encode(),
             b'{"id": "gbk", "text": "' + SIMP[1].encode("gbk") + b'"}',
             b'["not", "an", "object"]',
             json.dumps({"id": "ok2", "text": SIMP[2]}, ensure_ascii=False).encode()]
    path.write_bytes(b"\n".join(lines) + b"\n")
    rejects = tmp_path / "rejects.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1
    assert [r["id"] for r in result.records] == ["ok1", "ok2"]
    err = result.stderr.splitlines()
    assert len(err) == 4 and f"{path}:2: malformed json" in err[0]
    assert f"{path}:3: no text" in err[1] and f"{path}:4: undecodable" in err[2]
    assert f"{path}:5: not an object" in err[3]
    got = {r["input_line"]: r for r in read_jsonl(rejects)}
    assert {n: got[n]["reason"] for n in got} == {
        2: "malformed_json", 3: "no_text", 4: "undecodable", 5: "not_an_object"}
    assert base64.b64decode(got[4]["raw_base64"]) == lines[3]  # the bytes are not lost
    assert got[2]["text"] == lines[1].decode()


def test_undecodable_line_in_a_text_file_costs_only_that_line(zhclean, tmp_path):
    path = tmp_path / "article.txt"
    path.write_bytes(SIMP[0].encode("gbk") + b"\n\xff\xfe\xfd\n" + SIMP[1].encode("gbk"))
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and f"{path}:2: undecodable" in result.stderr
    [record] = result.records
    assert record["text"].split("\n") == [SIMP[0], "", SIMP[1]]  # line indices kept
    [reject] = read_jsonl(rejects)
    assert reject["input_line"] == 2 and base64.b64decode(reject["raw_base64"]) == b"\xff\xfe\xfd"


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be"])
def test_damaged_utf16_costs_only_the_damaged_lines(zhclean, tmp_path, codec):
    """A newline in UTF-16 is two bytes at an even offset: a lone surrogate in line 2 and a file
    cut in the middle of a character cost those lines, not every line after the first 0x0A byte."""
    order = "utf-16-be" if codec == "utf-16-be" else "utf-16-le"
    bom = b"\xff\xfe" if codec == "utf-16" else b""
    lost = "\ud800".encode(order, "surrogatepass")
    data = bom + "\r\n".join([TRAD[0], "", TRAD[1], SIMP[0]]).encode(order)
    data = data.replace("\r\n\r\n".encode(order), "\r\n".encode(order) + lost + "\r\n".encode(order))
    path = tmp_path / "damaged.txt"
    path.write_bytes(data[:-1])
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1
    [record] = result.records
    assert record["meta"]["read"]["encoding"] == codec
    assert record["text"].split("\n") == [TRAD[0], "", TRAD[1], ""]
    assert [r["input_line"] for r in read_jsonl(rejects)] == [2, 4]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_a_byte_lost_in_utf16_costs_its_line_only(zhclean, tmp_path, codec):
    """The lines after the damage are one byte out of step: read again from the next newline."""
    lines = TRAD + SIMP + MIXED
    data = "\n".join(lines).encode(codec)
    lost = data.index(SIMP[2].encode(codec)) + 3  # line 6 of 9
    path = tmp_path / "lost.txt"
    path.write_bytes(data[:lost] + data[lost + 1:])
    result = zhclean("read", path)
    assert result.exit_code == 1 and f"{path}:6: undecodable" in result.stderr
    [record] = result.records
    assert record["text"].split("\n") == [*lines[:5], "", *lines[6:]]


def test_utf8_with_nul_padding_stays_utf8():
    """Padding puts NULs on both sides of each byte pair; ASCII in UTF-16 on one."""
    text = "\n".join(SIMP + MIXED).encode("utf-8")
    for padding in (1, 64, 500, 5000):
        assert charset.detect(text + b"\0" * padding) == "utf-8"


def test_missing_input_is_a_usage_error_without_traceback(zhclean, tmp_path):
    result = zhclean("read", tmp_path / "nope.txt")
    assert result.exit_code == 2
    assert "nope.txt: no such file or directory" in result.stderr
    assert "Traceback" not in result.stderr
