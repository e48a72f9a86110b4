"""--report FILE.html: a self-contained page of the run, with the --stats counts, examples in their
page, escaped input, the same with any --jobs."""
import importlib.util
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import pytest

from zhclean import parallel
from zhclean.report import ReportCollector

from conftest import SAMPLES

ROOT = Path(__file__).resolve().parent.parent

SPAM = "国产精品亚洲mnbav网站_成人午夜亚洲精品无码网站_日韩va亚洲va欧洲va国产_亚洲欧洲精品成人久久曰影片"
PAGE = "\n".join([
    "北京市今天召开新闻发布会，介绍城市副中心建设的最新进展。",
    "会上，市发展改革委负责人表示，今年将新开工一批重点项目。",
    SPAM,
    "据介绍，这些项目涵盖交通、教育、医疗等多个领域，总投资超过百亿元。",
    "记者了解到，相关部门将加强统筹协调，确保项目按期完工。",
])
VOID = {"meta", "br", "hr", "img", "input", "link", "rect", "wbr"}


class Page(HTMLParser):
    """The report parsed: its tags must nest, and it must load nothing."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.open = [], [], []
        self.feed(text)
        self.close()
        assert not self.open, f"unclosed: {self.open}"

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs.extend(attrs)

    def handle_endtag(self, tag):
        assert self.open and self.open[-1] == tag, f"</{tag}> closes {self.open[-1:]}"
        self.open.pop()


def report_of(zhclean, tmp_path, *args, name="report.html"):
    report = tmp_path / name
    result = zhclean("run", *args, "-q", "--report", report, "-o", tmp_path / f"{name}.jsonl")
    assert result.exit_code in (0, 1), result.stderr
    return report.read_text(encoding="utf-8")


def examples(html: str, reason: str) -> list[list[tuple[str, str, bool]]]:
    """The examples shown for a reason: each a list of (line number, text, highlighted)."""
    found = []
    for block in re.findall(r'<h3><span class="tag [^"]*">' + re.escape(reason)
                            + r'</span>(.*?)(?=<h3>|</section>)', html, re.S):
        for example in re.findall(r'<table class="page">(.*?)</table>', block, re.S):
            rows = re.findall(r'<tr( class="hit")?><td class="num">(\d*)</td><td class="why">'
                              r'.*?</td><td class="text">(.*?)</td></tr>', example, re.S)
            found.append([(number, text, bool(hit)) for hit, number, text in rows])
    return found


def without_timings(html: str) -> str:
    return re.sub(r'<div class="value timing">[^<]*</div>', "", html)


def test_report_is_a_self_contained_page(zhclean, tmp_path):
    html = report_of(zhclean, tmp_path, SAMPLES)
    page = Page(html)
    assert html.startswith("<!DOCTYPE html>") and page.tags[0] == "html"
    assert not {"script", "link", "img", "iframe", "object", "embed"} & set(page.tags)
    assert not [(k, v) for k, v in page.attrs if v and "://" in v]
    style = html.split("<style>", 1)[1].split("</style>", 1)[0]
    assert "url(" not in style and "@import" not in style
    assert "<svg" in html and "<h2>Records that lost most lines</h2>" in html


def test_counts_are_the_stats(zhclean, tmp_path):
    stats_path = tmp_path / "stats.json"
    html = report_of(zhclean, tmp_path, SAMPLES, "--stats", stats_path)
    stats = json.loads(stats_path.read_text(encoding="utf-8"))
    table = html.split('<table class="counts">', 1)[1].split("</table>", 1)[0]
    rows = re.findall(r'<tr><td>(\w+)</td><td><span class="tag [^"]*">(\w+)</span></td>'
                      r'<td class="num">([\d,]+)</td>', table)
    shown = {(stage, reason): int(n.replace(",", "")) for stage, reason, n in rows}
    assert shown == {(stage, reason): n for stage, reasons in stats["rejects"].items()
                     for reason, n in reasons.items()}
    cards = dict((label, value) for value, label in re.findall(
        r'<div class="value">([^<]*)</div><div class="label">([^<]*)</div>', html))
    assert cards["records in"] == f"{stats['records_in']:,}"
    assert [value for label, value in cards.items() if label.startswith("records out")] \
        == [f"{stats['records_out']:,}"]
    assert cards["inputs read"] == f"{stats['inputs_read']:,}"
    assert cards["bytes in"] == f"{stats['bytes_in']:,}"
    for reason, n in stats["files_ignored"].items():
        assert f"{reason.replace('_', ' ')} {n}" in html


def test_a_spam_title_is_shown_among_its_neighbours(zhclean, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "news.txt").write_text(PAGE, encoding="utf-8")
    html = report_of(zhclean, tmp_path, tmp_path / "in")
    [example] = examples(html, "spam_title")
    lines = PAGE.split("\n")
    assert example == [("0", lines[0], False), ("1", lines[1], False), ("2", SPAM, True),
                       ("3", lines[3], False), ("4", lines[4], False)]


def test_hostile_input_is_escaped(zhclean, tmp_path):
    (tmp_path / "in").mkdir()
    hostile = "<script>alert(1)</script>"
    name = '<img src=x onerror="alert(2)">.txt'
    (tmp_path / "in" / name).write_text(PAGE.replace(SPAM, hostile), encoding="utf-8")
    html = report_of(zhclean, tmp_path, tmp_path / "in")
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;.txt" in html
    assert any(hit and text == "&lt;script&gt;alert(1)&lt;/script&gt;"
               for example in examples(html, "html") for _, text, hit in example)


def test_inputs_not_read_are_listed(zhclean, tmp_path):
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "news.txt").write_text(PAGE, encoding="utf-8")
    (tmp_path / "in" / "tool.txt").write_bytes(b"\x7fELF\x02\x01\x01" + bytes(200))
    (tmp_path / "in" / "a.jsonl").write_text('{"text": "北京"}\n{"text": \n', encoding="utf-8")
    html = report_of(zhclean, tmp_path, tmp_path / "in")
    inputs = html.split("<h2>Inputs not read</h2>", 1)[1]
    assert "tool.txt" in inputs and ">binary<" in inputs
    assert "a.jsonl:2" in inputs and ">malformed_json<" in inputs


def _many_pages(tmp_path: Path) -> Path:
    """Every sample twice, and pages enough for several --jobs chunks."""
    pages = tmp_path / "in"
    for copy in ("a", "b"):
        shutil.copytree(SAMPLES, pages / copy)
    with open(pages / "more.jsonl", "w", encoding="utf-8") as f:
        for i in range(60):
            text = PAGE.replace("北京市", f"第{i}区") + "\n" * (i % 4) + f"\n本条编号{i}。"
            f.write(json.dumps({"id": f"p{i}", "text": text}, ensure_ascii=False) + "\n")
    return pages


@pytest.mark.parametrize("dedup", ["--no-dedup", "--dedup"])
def test_jobs_give_the_same_report(zhclean, tmp_path, monkeypatch, dedup):
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4000)  # several chunks, so workers merge
    pages = _many_pages(tmp_path)
    one = report_of(zhclean, tmp_path, pages, dedup, "--jobs", "1", name="one.html")
    two = report_of(zhclean, tmp_path, pages, dedup, "--jobs", "2", name="two.html")
    assert without_timings(one) == without_timings(two)
    if dedup == "--dedup":
        assert examples(one, "duplicate")


def test_merged_collectors_equal_one(zhclean, tmp_path):
    """Chunks observed apart and merged in order: the page of one collector seeing them all."""
    items = [({"text": "甲\n乙"}, [{"id": str(i), "source": "s", "stage": "despam",
                                    "reason": "blank", "line": 1 + i % 2, "text": ""}] * (i % 3))
             for i in range(40)]
    whole, merged = ReportCollector(), ReportCollector()
    for record, rejects in items:
        whole.observe(record, rejects)
    for start in range(0, len(items), 7):
        part = ReportCollector()
        for record, rejects in items[start:start + 7]:
            part.observe(record, rejects)
        merged.merge(part)
    summary = {"records_in": 40, "records_out": 40, "input_errors": 0,
               "rejects": {"despam": {"blank": 26}}, "inputs_read": 1, "inputs_skipped": 0,
               "files_ignored": {}, "bytes_in": 0, "seconds": 0.0, "mb_per_s": 0.0}
    assert merged.html(summary) == whole.html(summary)


def test_report_is_staged_with_the_state(zhclean, tmp_path):
    report = tmp_path / "report.html"
    args = ("run", SAMPLES, "--state", tmp_path / "state.db", "-o", tmp_path / "out.jsonl",
            "--report", report)
    assert zhclean(*args).exit_code == 0
    assert "<h2>Examples</h2>" in report.read_text(encoding="utf-8")
    assert not list(tmp_path.glob(".*zhclean-staged"))
    assert zhclean(*args).exit_code == 0  # nothing to do: the report says so
    assert "Nothing was dropped." in report.read_text(encoding="utf-8")


def test_report_is_refused_where_it_cannot_be(zhclean, tmp_path):
    result = zhclean("run", SAMPLES, "-o", tmp_path / "out.jsonl", "--report",
                     tmp_path / "out.jsonl")
    assert result.exit_code == 2 and "--report" in result.stderr
    result = zhclean("run", SAMPLES, "--engine", "ray", "-o", tmp_path / "o",
                     "--report", tmp_path / "r.html")
    assert result.exit_code == 2 and "--report works with --engine local only" in result.stderr


def _screenshot_script():
    spec = importlib.util.spec_from_file_location("report_screenshot",
                                                  ROOT / "benchmarks/report_screenshot.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.skipif(not _screenshot_script().chromium(), reason="no chromium on PATH")
def test_report_renders_in_a_browser_without_console_errors(zhclean, tmp_path):
    script = _screenshot_script()
    report_of(zhclean, tmp_path, SAMPLES)
    shown = script.browse(script.chromium(), tmp_path / "report.html", "--dump-dom")
    assert shown.returncode == 0, shown.stderr
    assert "<h2>Rejects by stage and reason</h2>" in shown.stdout
    assert script.console_errors(shown.stderr) == []
