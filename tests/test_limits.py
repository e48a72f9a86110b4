"""Bounded memory and chosen inputs (issue 13): a record over --max-record-mb is rejected as
too_large with its head and size, never read whole (item 6), and --include / --exclude choose the
files of a directory walk."""
import gzip
import io
import json
import tracemalloc

import pytest

from conftest import read_jsonl
from zhclean import readers
from zhclean.readers import numbered_lines, read_inputs

# Real sentences (UD Chinese GSD, CC BY-SA 4.0), as in test_read.
SIMP = ["北极土著民族一直与外界接触甚少，直到现代，与其他地区的交流才开始变得频繁。",
        "华尔街的公司反对政府的监督与管制。",
        "随后爱斯基摩人和维京人相继定居于此。"]
LIMIT = 100_000  # bytes: --max-record-mb 0.1


def jsonl(*objects) -> bytes:
    return b"".join(json.dumps(o, ensure_ascii=False).encode() + b"\n" for o in objects)


def huge_record(n_bytes: int) -> dict:
    return {"id": "huge", "text": SIMP[0] * (n_bytes // len(SIMP[0].encode()) + 1)}


def peak_bytes(read) -> tuple[int, list]:
    """The most memory Python held while `read()` ran, and what it gave."""
    tracemalloc.start()
    try:
        items = read()
        return tracemalloc.get_traced_memory()[1], items
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------ too_large, with its head and size

@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_jsonl_line_over_the_limit_costs_that_line_with_its_head_and_size(zhclean, tmp_path,
                                                                              jobs):
    path = tmp_path / "a.jsonl"
    big = jsonl(huge_record(2 * LIMIT))
    path.write_bytes(jsonl({"id": "before", "text": SIMP[1]}) + big
                     + jsonl({"id": "after", "text": SIMP[2]}))
    out = tmp_path / "o.jsonl"
    result = zhclean("run", path, "-o", out, "--jobs", jobs, "--max-record-mb", "0.1")
    assert result.exit_code == 1
    assert f"{path}:2: too large: {len(big) - 1:,} bytes: over the limit of 100,000 bytes" \
        in result.stderr
    assert [r["id"] for r in read_jsonl(out)] == ["before", "after"]
    [reject] = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert (reject["reason"], reject["input_line"], reject["size"]) == \
        ("too_large", 2, len(big) - 1)
    assert reject["text"] == big.decode()[:readers.MAX_SHOWN_CHARS] + "…"


def test_the_limit_counts_the_line_without_its_line_break(tmp_path):
    record = {"text": "x" * 50}
    exact = json.dumps(record).encode()
    limit = len(exact)
    stream = io.BufferedReader(io.BytesIO(exact + b"\r\n" + exact + b"x\n" + exact))
    lines = [raw for _, _, raw in numbered_lines(stream, limit=limit)]
    assert lines[0] == exact + b"\r\n" and lines[2] == exact
    assert isinstance(lines[1], readers.TooLarge) and lines[1].size == limit + 1


class OneLineAtATime(io.BufferedReader):
    """A stream that fails a test which reads a line without bounding it."""
    def __init__(self, data: bytes):
        super().__init__(io.BytesIO(data))
        self.largest = 0

    def readline(self, size=-1):
        assert size is not None and size >= 0, "a line read without a bound"
        line = super().readline(size)
        self.largest = max(self.largest, len(line))
        return line

    def __next__(self):
        raise AssertionError("lines iterated: each is read whole")


def test_numbered_lines_never_builds_a_line_over_the_limit():
    big = jsonl(huge_record(30 * LIMIT))
    stream = OneLineAtATime(jsonl({"id": "a", "text": SIMP[0]}) + big)
    lines = list(numbered_lines(stream, limit=LIMIT))
    assert isinstance(lines[1][2], readers.TooLarge) and lines[1][2].size == len(big) - 1
    assert stream.largest <= LIMIT + 2


@pytest.mark.parametrize("name,data,size", [
    ("bomb.txt.gz", gzip.compress(SIMP[0].encode() * 20_000), None),  # 1.8 MB from 10 KB
    ("page.txt", SIMP[0].encode("gbk") * 2_000, len(SIMP[0].encode("gbk")) * 2_000),
    ("page.html", b"<html><title>t</title><p>" + SIMP[1].encode() * 4_000, 51 * 4_000 + 25)])
def test_a_document_over_the_limit_is_rejected_with_its_head(zhclean, tmp_path, name, data, size):
    """Decompressed, no more than the limit is read: the size of a .gz beyond it is not known."""
    path = tmp_path / name
    path.write_bytes(data)
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects, "--max-record-mb", "0.1")
    assert result.exit_code == 1 and result.records == []
    [reject] = read_jsonl(rejects)
    assert (reject["reason"], reject["size"], reject["input_line"]) == ("too_large", size, None)
    assert len(reject["text"]) == readers.MAX_SHOWN_CHARS + 1
    head = data.decode("gbk" if name == "page.txt" else "utf-8", errors="replace") \
        if not name.endswith(".gz") else gzip.decompress(data).decode()
    assert reject["text"][:-1] == head[:readers.MAX_SHOWN_CHARS]
    assert ("size is not known" in reject["error"]) == (size is None)


def test_a_document_within_the_limit_is_read(zhclean, tmp_path):
    path = tmp_path / "page.txt.gz"
    path.write_bytes(gzip.compress("\n".join(SIMP).encode()))
    limit_mb = len("\n".join(SIMP).encode()) / 1e6
    assert [r["text"] for r in zhclean("read", path, "--max-record-mb", limit_mb).records] == \
        ["\n".join(SIMP)]


def test_an_array_element_over_the_limit_costs_that_element_only(zhclean, tmp_path):
    path = tmp_path / "export.json"
    path.write_text("[\n" + ",\n".join(json.dumps(o, ensure_ascii=False, indent=1) for o in (
        {"id": "a", "text": SIMP[0]}, huge_record(3 * LIMIT), {"id": "c", "text": SIMP[2]}))
        + "\n]\n", encoding="utf-8")
    rejects = tmp_path / "r.jsonl"
    result = zhclean("read", path, "--rejects", rejects, "--max-record-mb", "0.1")
    assert [r["id"] for r in result.records] == ["a", "c"]
    [reject] = read_jsonl(rejects)
    assert (reject["reason"], reject["input_line"]) == ("too_large", 6)
    assert reject["id"] == readers.derive_id(str(path), "[1]")
    assert reject["text"].startswith('{\n "id": "huge"') and reject["size"] > 3 * LIMIT


@pytest.mark.parametrize("block", [1, 2, 3, 7, 29])
def test_an_element_over_the_limit_is_stepped_over_whatever_the_blocks_cut(monkeypatch, block):
    """Its end is found by scanning, a block at a time: escapes, quotes and brackets inside its
    strings, cut anywhere by the reads, do not end it."""
    monkeypatch.setattr(readers, "_READ_BYTES", block)
    tricky = {"id": "big", "text": 'a\\"]}[{\\\\ "' * 20, "n": [[1, {"x": "]"}]]}
    data = json.dumps([{"id": "a", "text": SIMP[0]}, tricky, {"id": "c", "text": SIMP[2]}],
                      indent=1).encode()
    start = data.rindex(b"{", 0, data.index(b'"big"'))
    size = data.index(b',\n {\n  "id": "c"') - start  # the element as written
    lines = list(numbered_lines(io.BufferedReader(io.BytesIO(data)), arrays=True, limit=200))
    assert [(n, place) for n, place, _ in lines] == [(2, "[0]"), (6, "[1]"), (18, "[2]")]
    assert isinstance(lines[1][2], readers.TooLarge) and lines[1][2].size == size
    assert json.loads(lines[2][2])["id"] == "c"


def test_the_stage_commands_take_the_limit_and_so_does_the_config_file(zhclean, tmp_path):
    data = jsonl({"id": "a", "text": SIMP[0]}, huge_record(2 * LIMIT)).decode()
    result = zhclean("segment", "--max-record-mb", "0.1", input=data)
    assert result.exit_code == 1 and [r["id"] for r in result.records] == ["a"]
    assert "-:2: too large" in result.stderr
    (tmp_path / "c.toml").write_text("max-record-mb = 0.1\n", encoding="utf-8")  # every command
    for command in ("read", "convert", "despam", "run"):
        result = zhclean("--config", tmp_path / "c.toml", command, "-", input=data)
        assert "-:2: too large" in result.stderr, command
    assert "too large" not in zhclean("read", "-", input=data).stderr  # 16 MB by default


def test_ray_refuses_a_limit_it_does_not_apply(zhclean, tmp_path):
    (tmp_path / "a.jsonl").write_bytes(jsonl({"id": "a", "text": SIMP[0]}))
    result = zhclean("run", "--engine", "ray", tmp_path / "a.jsonl", "-o", tmp_path / "out",
                     "--max-record-mb", "1")
    assert result.exit_code == 2 and "--max-record-mb works with --engine local only" \
        in result.stderr


# ------------------------------------------------------------ memory stays bounded

def test_a_gzip_bomb_is_decompressed_no_further_than_the_limit(tmp_path):
    path = tmp_path / "bomb.txt.gz"
    path.write_bytes(gzip.compress(SIMP[0].encode() * 300_000))  # 33 MB from 0.1 MB
    peak, items = peak_bytes(lambda: list(read_inputs((str(path),), max_record_bytes=LIMIT)))
    assert [i["reason"] for i in items] == ["too_large"]
    assert peak < 10 * LIMIT


@pytest.mark.parametrize("name", ["one.jsonl", "array.json"])
def test_a_giant_record_is_never_held(tmp_path, name):
    path = tmp_path / name
    with open(path, "wb") as f:
        f.write(b"[" if name == "array.json" else b"")
        f.write(b'{"id": "huge", "text": "')
        for _ in range(300):
            f.write(SIMP[0].encode() * 1000)  # 33 MB in all
        f.write(b'"}' + (b",\n" if name == "array.json" else b"\n"))
        f.write(json.dumps({"id": "after", "text": SIMP[1]}).encode())
        f.write(b"]" if name == "array.json" else b"\n")
    peak, items = peak_bytes(lambda: list(read_inputs((str(path),), max_record_bytes=LIMIT)))
    assert [i.get("reason") or i["id"] for i in items] == ["too_large", "after"]
    assert items[0]["size"] == 300 * 1000 * len(SIMP[0].encode()) + 26  # and its braces
    assert peak < 10 * LIMIT


# ------------------------------------------------------------ --include, --exclude

def _crawl(root):
    for path in ("a.txt", "sub/b.txt", "drafts/c.txt", "sub/drafts/d.txt", "e.jsonl"):
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        text = SIMP[len(path) % 3]
        (root / path).write_bytes(jsonl({"id": path, "text": text}) if path.endswith(".jsonl")
                                  else text.encode())
    return root


def test_include_and_exclude_choose_the_files_of_a_directory(zhclean, tmp_path):
    crawl = _crawl(tmp_path / "crawl")
    stats = tmp_path / "stats.json"
    result = zhclean("read", crawl, "--include", "*.txt", "--exclude", "drafts/*", "-v",
                     "--stats", stats)
    assert result.exit_code == 0, result.stderr
    assert [r["source"] for r in result.records] == \
        [str(crawl / p) for p in ("a.txt", "sub/b.txt", "sub/drafts/d.txt")]  # * crosses /
    for path in ("drafts/c.txt", "e.jsonl"):
        assert f"{crawl / path}: ignored: excluded" in result.stderr
    assert json.loads(stats.read_text())["files_ignored"] == {"excluded": 2}
    both = zhclean("read", crawl, "--exclude", "*drafts/*", "--exclude", "*.jsonl")
    assert [r["source"] for r in both.records] == [str(crawl / p) for p in ("a.txt", "sub/b.txt")]


def test_a_file_named_is_read_whatever_the_globs_say(zhclean, tmp_path):
    crawl = _crawl(tmp_path / "crawl")
    result = zhclean("read", crawl / "drafts/c.txt", "--exclude", "*")
    assert [r["source"] for r in result.records] == [str(crawl / "drafts/c.txt")]


def test_the_globs_work_on_the_stage_commands_and_from_the_config_file(zhclean, tmp_path):
    crawl = _crawl(tmp_path / "crawl")
    (crawl / "drafts/old.jsonl").write_bytes(jsonl({"id": "old", "text": SIMP[0]}))
    assert [r["id"] for r in zhclean("convert", crawl, "--exclude", "drafts/*").records] == \
        ["e.jsonl"]
    (tmp_path / "c.toml").write_text('[run]\ninclude = ["sub/*"]\n', encoding="utf-8")
    result = zhclean("--config", tmp_path / "c.toml", "run", crawl)
    assert [r["source"] for r in result.records] == \
        [str(crawl / p) for p in ("sub/b.txt", "sub/drafts/d.txt")]
