"""--lines: a text file of headlines or sentences, a record per line."""
import json

import pytest

from conftest import read_jsonl
from zhclean.records import derive_id

# Real sentences (UD Chinese GSD, CC BY-SA 4.0), as in test_read.
SENTENCES = ["北极土著民族一直与外界接触甚少，直到现代，与其他地区的交流才开始变得频繁。",
             "華爾街的公司反對政府的監督與管制。",
             "隨後愛斯基摩人和維京人相繼定居於此。"]


@pytest.mark.parametrize("codec", ["utf-8", "utf-8-sig", "gb18030", "big5", "utf-16"])
def test_each_line_is_a_record_in_any_encoding(zhclean, tmp_path, codec):
    lines = SENTENCES[1:] if codec == "big5" else SENTENCES  # Big5 has no Simplified forms
    path = tmp_path / "sentences.txt"
    path.write_bytes(("\n".join([lines[0], "", *lines[1:]]) + "\n").encode(codec))
    result = zhclean("read", "--lines", path, "--rejects", tmp_path / "r.jsonl")
    assert result.exit_code == 0, result.stderr
    assert [r["text"] for r in result.records] == lines
    numbers = [1, *range(3, len(lines) + 2)]
    assert [r["meta"]["read"]["line"] for r in result.records] == numbers
    assert [r["id"] for r in result.records] == [derive_id(str(path), n) for n in numbers]
    [blank] = read_jsonl(tmp_path / "r.jsonl")
    assert (blank["reason"], blank["input_line"]) == ("blank_line", 2)


def test_without_lines_a_text_file_is_one_record(zhclean, tmp_path):
    path = tmp_path / "article.txt"
    path.write_text("\n".join(SENTENCES), encoding="utf-8")
    assert [r["text"] for r in zhclean("read", path).records] == ["\n".join(SENTENCES)]


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_bad_or_huge_line_costs_itself_only(zhclean, tmp_path, jobs):
    path = tmp_path / "mixed.txt"
    path.write_bytes(SENTENCES[0].encode("gb18030") + b"\n\xff\xfe\xfd\xfc\n"
                     + "长".encode("gb18030") * 400 + b"\n" + SENTENCES[1].encode("gb18030") + b"\n")
    out = tmp_path / "o.jsonl"
    result = zhclean("run", "--lines", "--jobs", jobs, "--max-record-mb", "0.0005", path, "-o", out)
    assert result.exit_code == 1
    assert [r["meta"]["read"]["line"] for r in read_jsonl(out)] == [1, 4]
    rejects = {r["input_line"]: r["reason"] for r in read_jsonl(tmp_path / "o.rejects.jsonl")}
    assert rejects == {2: "undecodable", 3: "too_large"}


def test_lines_from_stdin_and_the_same_bytes_with_two_workers(zhclean, tmp_path):
    text = "\n".join(SENTENCES * 50) + "\n"
    (tmp_path / "many.txt").write_text(text, encoding="utf-8")
    piped = zhclean("read", "--lines", "-", input=text)
    assert [r["text"] for r in piped.records] == SENTENCES * 50
    one, two = (zhclean("run", "--lines", "--jobs", jobs, tmp_path / "many.txt").stdout
                for jobs in ("1", "2"))
    assert one == two and len(one.splitlines()) == 150
    assert json.loads(one.splitlines()[1])["text"] == "华尔街的公司反对政府的监督与管制。"
