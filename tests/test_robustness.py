"""Input that must never stop a run nor be lost silently (issue 13): whatever one line or one file
holds costs that line or file only, every line written is valid JSON, and the exit status and
stderr say what happened."""
import gzip
import io
import json
import os
import struct
import zipfile

import pytest

from conftest import read_jsonl, strict_json
from zhclean import readers
from zhclean.records import Reject, derive_id
from zhclean.runner import Stats, run_stream
from zhclean.writers import BufferWriter, dumps

# Real sentences (UD Chinese GSD, CC BY-SA 4.0), as in test_read.
SIMP = ["北极土著民族一直与外界接触甚少，直到现代，与其他地区的交流才开始变得频繁。",
        "华尔街的公司反对政府的监督与管制。",
        "随后爱斯基摩人和维京人相继定居于此。"]
TRAD = ["華爾街的公司反對政府的監督與管制。", "隨後愛斯基摩人和維京人相繼定居於此。"]


def jsonl(*objects) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


# ------------------------------------------------------------ 1. one bad line, not the run

@pytest.mark.parametrize("jobs", ["1", "2"])
@pytest.mark.parametrize("bad,error", [
    (b'{"id": ' + b"9" * 5000 + b', "text": "x"}', "an integer of more than 4300 digits"),
    (b'{"text": "x", "deep": ' + b"[" * 10000 + b"]" * 10000 + b"}", "nested too deep to read"),
    (b'{"a":' * 10000 + b"1" + b"}" * 10000, "nested too deep to read")],
    ids=["long-integer", "deep-array", "deep-object"])
def test_json_python_cannot_parse_costs_its_line_only(zhclean, tmp_path, bad, error, jobs):
    path = tmp_path / "a.jsonl"
    path.write_bytes(jsonl({"id": "before", "text": SIMP[0]}) + bad + b"\n"
                     + jsonl({"id": "after", "text": SIMP[1]}))
    out = tmp_path / "o.jsonl"
    result = zhclean("run", path, "-o", out, "--jobs", jobs)
    assert result.exit_code == 1
    assert f"{path}:2: malformed json: {error}" in result.stderr
    assert [r["id"] for r in read_jsonl(out)] == ["before", "after"]
    [reject] = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert (reject["reason"], reject["input_line"]) == ("malformed_json", 2)
    assert reject["text"].startswith(bad[:40].decode())


def test_json_python_cannot_parse_costs_its_array_element_only(zhclean, tmp_path):
    path = tmp_path / "export.json"
    path.write_text('[{"id": "a", "text": "%s"},\n {"id": "deep", "text": "x", "v": %s},\n'
                    ' {"id": "long", "text": "x", "n": %s},\n {"id": "d", "text": "%s"}]\n'
                    % (SIMP[0], "[" * 5000 + "]" * 5000, "9" * 5000, SIMP[1]), encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1
    assert [r["id"] for r in result.records] == ["a", "d"]
    assert [(r["input_line"], r["reason"]) for r in read_jsonl(rejects)] == \
        [(2, "malformed_json"), (3, "malformed_json")]


def test_raw_surrogate_bytes_cost_their_line_only(zhclean, tmp_path):
    """\\xed\\xa0\\x80 is no UTF-8, though Python's json reads it (surrogatepass)."""
    path = tmp_path / "s.jsonl"
    bad = b'{"id": "s", "text": "' + SIMP[0][:4].encode() + b'\xed\xa0\x80b"}'
    path.write_bytes(bad + b"\n" + jsonl({"id": "ok", "text": SIMP[2]}))
    out = tmp_path / "o.jsonl"
    result = zhclean("run", path, "-o", out, "--jobs", "1")
    assert result.exit_code == 1 and f"{path}:1: undecodable: not UTF-8" in result.stderr
    assert [r["id"] for r in read_jsonl(out)] == ["ok"]
    [reject] = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert reject["reason"] == "undecodable" and reject["raw_base64"]


def test_a_record_the_writer_cannot_write_is_rejected_and_the_run_goes_on():
    """Whatever reaches the writer: a lone surrogate or a NaN costs its record, as a reject."""
    records = [{"id": "lone", "source": "s", "text": SIMP[0], "meta": {}, "x": "a\ud800"},
               {"id": "nan", "source": "s", "text": SIMP[1], "meta": {}, "x": float("nan")},
               {"id": "ok", "source": "s", "text": SIMP[2], "meta": {}}]
    out, rejects, stats, errors = BufferWriter(), BufferWriter(), Stats(), []
    run_stream(records, [], out, rejects, stats, errors.append)
    assert [strict_json(line)["id"] for line in out.lines] == ["ok"]
    assert [(r["id"], r["stage"], r["reason"]) for r in map(strict_json, rejects.lines)] == \
        [("lone", "write", "unwritable"), ("nan", "write", "unwritable")]
    assert (stats.records_out, stats.input_errors, len(errors)) == (1, 2, 2)


def test_a_reject_that_cannot_be_written_whole_keeps_its_plain_fields():
    reject = Reject(id="r", source="s", stage="despam", reason="no_content", input_line=3,
                    record={"score": float("inf"), "text": SIMP[0]})
    written = strict_json(dumps(reject))
    assert {k: written[k] for k in ("id", "source", "stage", "reason", "input_line")} == \
        {"id": "r", "source": "s", "stage": "despam", "reason": "no_content", "input_line": 3}
    assert "record" not in written and "NaN or Infinity" in written["unwritable"]


# ------------------------------------------------------------ 2. no silent losses

def test_blank_lines_are_notices_not_errors(zhclean, tmp_path):
    path = tmp_path / "b.jsonl"
    path.write_bytes(jsonl({"id": "a", "text": SIMP[0]}) + b"\n   \r\n"
                     + jsonl({"id": "b", "text": SIMP[1]}) + b"\n")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 0 and result.stderr == ""
    assert [r["id"] for r in result.records] == ["a", "b"]
    assert [(r["input_line"], r["reason"]) for r in read_jsonl(rejects)] == \
        [(2, "blank_line"), (3, "blank_line"), (5, "blank_line")]


def test_a_refused_text_keeps_the_records_id_and_the_value(zhclean, tmp_path):
    path = tmp_path / "t.jsonl"
    huge = {"body": SIMP[0] * 100}
    path.write_bytes(jsonl({"id": "nested", "text": {"body": SIMP[1]}, "url": "u"},
                           {"id": "huge", "text": huge}, {"id": "ok", "text": SIMP[2]}))
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and f"{path}:1: no text: 'text' is an object" in result.stderr
    nested, big = read_jsonl(rejects)
    assert (nested["id"], nested["reason"], nested["field"]) == ("nested", "no_text", "text")
    assert nested["value"] == {"body": SIMP[1]} and nested["record"] == {"id": "nested", "url": "u"}
    assert big["id"] == "huge" and big["value"].endswith("…")
    assert big["value"][:-1] == json.dumps(huge, ensure_ascii=False)[:readers.MAX_SHOWN_CHARS]


def test_a_meta_that_is_not_an_object_is_kept(zhclean, tmp_path):
    path = tmp_path / "m.jsonl"
    path.write_bytes(jsonl({"id": "m", "text": SIMP[0], "meta": "crawler v2"},
                           {"id": "d", "text": SIMP[1], "meta": {"site": "x"}}))
    m, d = zhclean("run", path).records
    assert m["meta"]["read"] == {"input_meta": "crawler v2"} and "convert" in m["meta"]
    assert d["meta"]["site"] == "x"


# ------------------------------------------------------------ 3. valid JSON out

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_nan_infinity_and_overflowing_numbers_are_written_as_null(zhclean, tmp_path, jobs):
    path = tmp_path / "n.jsonl"
    path.write_bytes(b'{"id": "n", "text": "' + SIMP[0].encode() + b'", "score": NaN, '
                     b'"m": {"xs": [1.5, Infinity, -Infinity]}, "big": 1e400}\n'
                     + jsonl({"id": "ok", "text": SIMP[1]}))
    out = tmp_path / "o.jsonl"
    result = zhclean("run", path, "-o", out, "--jobs", jobs)
    assert result.exit_code == 1
    assert f"{path}:1: non finite number: NaN in score is not a JSON number" in result.stderr
    records = [strict_json(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in records] == ["n", "ok"]
    assert (records[0]["score"], records[0]["m"], records[0]["big"]) == \
        (None, {"xs": [1.5, None, None]}, None)
    rejects = [strict_json(line) for line in
               (tmp_path / "o.rejects.jsonl").read_text(encoding="utf-8").splitlines()]
    assert [(r["id"], r["reason"], r["field"], r["text"]) for r in rejects] == [
        ("n", "non_finite_number", "score", "NaN"),
        ("n", "non_finite_number", "m.xs[1]", "Infinity"),
        ("n", "non_finite_number", "m.xs[2]", "-Infinity"),
        ("n", "non_finite_number", "big", "1e400")]


# ------------------------------------------------------------ 4. binary input

def _zip_of_text() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("news.txt", "\n".join(SIMP))
    return buffer.getvalue()


BINARIES = {
    "elf": b"\x7fELF\x02\x01\x01" + bytes(9) + struct.pack("<HHI", 2, 62, 1) + bytes(400),
    "windows": b"MZ\x90\x00\x03" + bytes(59) + "\n".join(SIMP).encode(),
    "zip": _zip_of_text(),
    "png": b"\x89PNG\r\n\x1a\n" + bytes([0, 0, 0, 13]) + b"IHDR" + bytes(range(256)),
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF" + bytes(range(256)),
    "pdf": b"%PDF-1.7\n" + "\n".join(SIMP).encode("utf-16"),
    # No signature: integers of a binary format among text, NULs in runs.
    "nuls": b"".join(struct.pack("<II", i, i * 7) + s.encode() for i, s in enumerate(SIMP * 9)),
}


@pytest.mark.parametrize("name", sorted(BINARIES))
@pytest.mark.parametrize("suffix", [".txt", ".bin"])
def test_a_binary_file_is_refused_not_decoded(zhclean, tmp_path, name, suffix):
    path = tmp_path / f"file{suffix}"  # .bin: no known format, sniffed
    path.write_bytes(BINARIES[name])
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and result.records == []
    assert f"{path}: binary: " in result.stderr
    [reject] = read_jsonl(rejects)
    assert reject["reason"] == "binary" and reject["input_line"] is None


@pytest.mark.parametrize("name", sorted(BINARIES))
def test_a_binary_file_read_a_record_per_line_is_refused_too(zhclean, tmp_path, name):
    path = tmp_path / "file.txt"
    path.write_bytes(BINARIES[name])
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", "--lines", path, "--rejects", rejects)
    assert result.exit_code == 1 and result.records == []
    [reject] = read_jsonl(rejects)
    assert reject["reason"] == "binary" and reject["input_line"] is None


def test_compressed_data_is_binary_in_a_txt_but_sniffed_where_no_format_is_named(zhclean, tmp_path):
    data = gzip.compress("\n".join(SIMP).encode())
    (tmp_path / "page.txt").write_bytes(data)
    (tmp_path / "page.bin").write_bytes(data)
    result = zhclean("read", tmp_path / "page.txt", tmp_path / "page.bin")
    assert "page.txt: binary: compressed data in a file not named .gz" in result.stderr
    assert [r["text"] for r in result.records] == ["\n".join(SIMP)]


@pytest.mark.parametrize("codec", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_bom_still_reads_from_a_few_characters(zhclean, tmp_path, codec):
    path = tmp_path / "short.txt"
    path.write_bytes("華爾街的公司".encode(codec))
    [record] = zhclean("read", path).records
    assert record["text"] == "華爾街的公司"


@pytest.mark.parametrize("data", ["ab".encode("utf-16-be"), "北京大学".encode("utf-16-le"),
                                  "天氣很好".encode("utf-16-be")], ids=["ab", "beijing", "weather"])
def test_a_few_bytes_of_utf16_without_a_bom_are_not_guessed(zhclean, tmp_path, data):
    """Four characters or fewer: some reading is common hanzi by chance (ab in UTF-16-BE read as
    UTF-16-LE is 愀戀); refused rather than made into plausible garbage."""
    path = tmp_path / "short.txt"
    path.write_bytes(data)
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects)
    assert result.exit_code == 1 and result.records == []
    assert "too few to tell their encoding" in result.stderr
    assert [r["reason"] for r in read_jsonl(rejects)] == ["undecodable"]


@pytest.mark.parametrize("codec", ["gbk", "big5"])
def test_a_few_bytes_of_gbk_or_big5_still_read(zhclean, tmp_path, codec):
    path = tmp_path / "short.txt"
    path.write_bytes("台灣".encode(codec))
    assert [r["text"] for r in zhclean("read", path).records] == ["台灣"]


# ------------------------------------------------------------ 5. sidecars, pretty JSON, stderr

def _pages_with_sidecars(root):
    root.mkdir()
    for n, sentence in enumerate(TRAD):
        (root / f"{n}.txt").write_text(sentence, encoding="utf-8")
        (root / f"{n}.meta.json").write_text(json.dumps(
            {"url": f"http://example.com/{n}", "domain": "example.com", "kind": "news"},
            indent=1), encoding="utf-8")
    return root


def test_sidecars_beside_pages_are_not_read_and_are_listed_under_v(zhclean, tmp_path):
    pages = _pages_with_sidecars(tmp_path / "pages")
    quiet = zhclean("run", pages, "-q")
    assert quiet.exit_code == 0 and quiet.stderr == ""
    assert [r["source"] for r in quiet.records] == [str(pages / "0.txt"), str(pages / "1.txt")]
    verbose = zhclean("run", pages, "-v")
    assert f"{pages / '0.meta.json'}: ignored: sidecar" in verbose.stderr


def test_a_pages_url_comes_from_its_sidecar_and_a_broken_one_is_reported(zhclean, tmp_path):
    pages = _pages_with_sidecars(tmp_path / "pages")
    (pages / "2.txt.gz").write_bytes(gzip.compress(SIMP[0].encode("utf-8")))
    (pages / "2.meta.json").write_text('{"url": "http://example.com/2"}', encoding="utf-8")
    result = zhclean("read", pages)
    assert result.exit_code == 0, result.stderr
    assert [r.get("url") for r in result.records] == [f"http://example.com/{n}" for n in range(3)]
    # A sidecar that is no JSON object with a string url (nor null), or a url no output can
    # write (a lone surrogate): the page is read without one.
    (pages / "1.meta.json").write_text('{"url": ', encoding="utf-8")
    (pages / "2.meta.json").write_text('{"url": 2}', encoding="utf-8")
    (pages / "3.txt").write_text(SIMP[1], encoding="utf-8")
    (pages / "3.meta.json").write_text('{"url": "http://example.com/\\ud800"}', encoding="utf-8")
    (pages / "4.txt").write_text(SIMP[1], encoding="utf-8")
    (pages / "4.meta.json").write_text('{"url": null}', encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    broken = zhclean("read", pages, "--rejects", rejects)
    assert broken.exit_code == 1
    assert [r.get("url") for r in broken.records] == ["http://example.com/0", None, None, None,
                                                       None]
    assert [(r["source"], r["reason"]) for r in read_jsonl(rejects)] == \
        [(str(pages / f"{n}.meta.json"), "bad_sidecar") for n in (1, 2, 3)]
    assert f"{pages / '1.meta.json'}: bad sidecar: not JSON" in broken.stderr


def test_a_pretty_printed_json_object_is_one_record(zhclean, tmp_path):
    path = tmp_path / "article.json"
    path.write_text(json.dumps({"id": "p", "title": "华尔街", "text": SIMP[1]},
                               ensure_ascii=False, indent=2), encoding="utf-8")
    result = zhclean("read", path)
    assert result.exit_code == 0, result.stderr
    assert [(r["id"], r["title"], r["text"]) for r in result.records] == [("p", "华尔街", SIMP[1])]
    # Pretty-printed objects one after another (`jq .`), their ids derived from their first line.
    path.write_text("\n".join(json.dumps({"text": s}, ensure_ascii=False, indent=1) for s in SIMP),
                    encoding="utf-8")
    records = zhclean("read", path).records
    assert [r["text"] for r in records] == SIMP
    assert [r["id"] for r in records] == [derive_id(str(path), n) for n in (1, 4, 7)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_the_errors_of_a_file_are_collapsed_on_stderr_but_all_rejected(zhclean, tmp_path, jobs):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b"".join(b'  "k%d": "%s",\n' % (i, SIMP[0].encode()) for i in range(40))
                    + jsonl({"id": "ok", "text": SIMP[1]}))
    other = tmp_path / "other.jsonl"
    other.write_bytes(b"{broken\n" + jsonl({"id": "ok2", "text": SIMP[2]}))
    out = tmp_path / "o.jsonl"
    result = zhclean("run", bad, other, "-o", out, "-q", "--jobs", jobs)
    assert result.exit_code == 1
    shown = result.stderr.splitlines()
    assert [line.split(": ")[1] for line in shown[:5]] == [f"{bad}:{n}" for n in range(1, 6)]
    assert shown[5] == f"zhclean: ... and 35 more errors in {bad}"
    assert shown[6].startswith(f"zhclean: {other}:1: malformed json") and len(shown) == 7
    assert len(read_jsonl(tmp_path / "o.rejects.jsonl")) == 41
    assert [r["id"] for r in read_jsonl(out)] == ["ok", "ok2"]


# ------------------------------------------------------------ 6. exit statuses

@pytest.mark.parametrize("name,data", [("empty.txt", b""), ("blank.txt", b" \r\n\t"),
                                       ("empty.html", b""), ("empty.jsonl", b""),
                                       ("empty.txt.gz", gzip.compress(b"", mtime=0))])
def test_an_empty_file_is_no_records_whatever_its_format(zhclean, tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    rejects = tmp_path / "r.jsonl"
    result = zhclean("run", path, "--rejects", rejects, "--stats", tmp_path / "s.json")
    assert result.exit_code == 0 and result.stderr == "" and result.records == []
    assert [(r["source"], r["reason"]) for r in read_jsonl(rejects)] == [(str(path), "empty_file")]


def test_a_file_named_that_cannot_be_read_is_exit_1_and_a_reject(zhclean, tmp_path, monkeypatch):
    """What chmod 000 does to anyone but root: click is told (os.access), the reader finds out."""
    locked, ok = tmp_path / "locked.txt", tmp_path / "ok.txt"
    locked.write_text(SIMP[0], encoding="utf-8")
    ok.write_text(SIMP[1], encoding="utf-8")
    access, builtin_open = os.access, open

    def no_access(path, mode, *args, **kwargs):
        return False if str(path) == str(locked) else access(path, mode, *args, **kwargs)

    def refuse_locked(path, *args, **kwargs):
        if str(path) == str(locked):
            raise PermissionError(13, "Permission denied", str(path))
        return builtin_open(path, *args, **kwargs)

    monkeypatch.setattr(os, "access", no_access)
    monkeypatch.setattr(readers, "open", refuse_locked, raising=False)
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", locked, ok, "--rejects", rejects)
    assert result.exit_code == 1
    assert f"{locked}: unreadable: Permission denied" in result.stderr
    assert [r["text"] for r in result.records] == [SIMP[1]]
    assert [r["reason"] for r in read_jsonl(rejects)] == ["unreadable"]


def test_what_a_walk_does_not_read_is_listed_under_v_and_counted(zhclean, tmp_path):
    crawl = tmp_path / "crawl"
    (crawl / "sub").mkdir(parents=True)
    (crawl / ".cache").mkdir()
    (crawl / "a.txt").write_text(SIMP[0], encoding="utf-8")
    (crawl / ".hidden.txt").write_text(SIMP[1], encoding="utf-8")
    (crawl / "notes.md").write_text(SIMP[2], encoding="utf-8")
    (crawl / "sub" / "up").symlink_to("..")  # followed, it would loop
    stats = tmp_path / "stats.json"
    result = zhclean("read", crawl, "-v", "--stats", stats)
    assert result.exit_code == 0 and [r["text"] for r in result.records] == [SIMP[0]]
    for path, reason in ((".cache", "hidden"), (".hidden.txt", "hidden"),
                         ("notes.md", "unknown format"), ("sub/up", "symlinked directory")):
        assert f"{crawl / path}: ignored: {reason}" in result.stderr
    assert "files ignored: hidden 2, symlinked_directory 1, unknown_format 1" in result.stderr
    assert json.loads(stats.read_text())["files_ignored"] == \
        {"hidden": 2, "symlinked_directory": 1, "unknown_format": 1}
