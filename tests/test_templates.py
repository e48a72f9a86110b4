"""Template lines: the lines a site's records share, counted by `zhclean templates` and read by
despam as evidence."""
import json
from collections import Counter

import pytest

from conftest import read_jsonl

from zhclean.rules import RuleError, Rules
from zhclean.stages import despam
from zhclean.stages.despam import Normaliser
from zhclean.templates import (MIN_RECORDS, TEMPLATE_MAX_CHARS, SiteLines, TemplateCounter,
                               TemplateTable, line_keys, site_of)


@pytest.mark.parametrize("value, site", [
    ("https://www.Example-News.cn/2024/1.html", "example-news.cn"),
    ("http://news.example.cn:8080/a?b=1", "news.example.cn"),
    ("example.com.tw", "example.com.tw"),
    ("  Some\tFeed  ", "some feed"),  # no tab: the site is a field of the table
    ("", None),
    (None, None),
    (42, None),
])
def test_a_records_site_is_its_urls_host_or_the_fields_value(value, site):
    assert site_of({"url": value}, "url") == site


def test_lines_are_known_by_their_normalised_view_with_digits_masked():
    normaliser = Normaliser()
    keys = line_keys(normaliser.lines(["發佈時間：2024-01-10 10:00", "發布時間: 2023-12-31 09:59",
                                       "", "x", "長" * (TEMPLATE_MAX_CHARS + 1)]))
    assert keys[0] == keys[1] == "发布时间:0-0-0:0"  # Traditional, full width, a date apart
    assert keys[2:] == [None, None, None]  # blank, one character, a paragraph


def test_the_table_holds_lines_shared_by_enough_records_of_one_site():
    counter = TemplateCounter(sample=3)
    for n in range(4):  # the fourth record is past the sample: not counted
        counter.add("a.cn", ["首页", f"文章{'甲乙丙丁'[n]}", "分享到:" if n < 2 else ""])
    counter.add("b.cn", ["首页"])
    counter.add(None, ["首页"])  # no site: nothing to count it under
    table = counter.table()
    assert table.records == {"a.cn": 3, "b.cn": 1}
    assert table.lines == {"a.cn": {"首页": 3, "分享到:": MIN_RECORDS}}
    assert table.lines_of("a.cn", ["首页", "文章甲", None]) == SiteLines([3, 0, 0], 3)
    assert table.lines_of("b.cn", ["首页"]) == SiteLines([0], 1)  # one record: no template known
    assert table.lines_of(None, ["首页"]) == SiteLines([0], 0)


def test_a_copy_of_a_record_counts_once():
    # An article a site publishes twice (or a crawl fetched twice) is not the site's template.
    counter = TemplateCounter()
    for lines in (["首页", "北京今天有雨。"], ["首页", "北京今天有雨。"], ["首页", "上海今天晴。"]):
        counter.add("a.cn", lines)
    assert counter.table().records == {"a.cn": 2}
    assert counter.table().lines == {"a.cn": {"首页": 2}}


def test_the_table_is_written_and_read_back(tmp_path):
    counter = TemplateCounter()
    for n in range(3):
        counter.add("a.cn", ["首页", f"第{'一二三'[n]}篇", "版权所有© 2024"])
    path = tmp_path / "templates.tsv"
    path.write_text(counter.table().to_tsv(), encoding="utf-8")
    assert path.read_text(encoding="utf-8").splitlines()[2:] == ["a.cn\t3\t3\t版权所有©0",
                                                               "a.cn\t3\t3\t首页"]
    loaded = TemplateTable.load(str(path))
    assert (loaded.records, loaded.lines) == (counter.table().records, counter.table().lines)


@pytest.mark.parametrize("row", ["a.cn\t3\t2\t首页", "a.cn\tmany\t3\t首页", "a.cn\t3\t首页"])
def test_a_broken_table_is_a_rule_error_naming_its_line(tmp_path, row):
    path = tmp_path / "templates.tsv"
    path.write_text("# a comment\n" + row + "\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"templates.tsv:2: "):
        TemplateTable.load(str(path))


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")


# Four stories of one local news site, each page wrapped in the site's template: a masthead and a
# slogan above the article, a footer of prompts and channels below it. On one page these lines
# could be the site's own headings (only 热门推荐 goes, by a tail rule); held by every page of the
# site, they are its template.
SITE_URL = "https://www.jiangcheng-news.cn/2024/{}.html"
HEADER = ["江城日报全媒体", "传递正能量 讲好家乡事"]
FOOTER = ["热门推荐", "扫一扫 手机看新闻", "本地新闻 一网打尽", "今日看点", "编辑推荐",
          "更多精彩内容请关注江城发布"]
STORIES = [
    ("城市更新工作取得新进展", "北京市今天召开新闻发布会，介绍今年城市更新工作的进展。",
     "市住建委负责人表示，全市已完成老旧小区改造三百余个，惠及居民十万余户。"),
    ("上海港吞吐量再居全球首位", "上海港集装箱吞吐量连续第十四年位居全球第一。",
     "港口负责人说，自动化码头的效率比传统码头提高了三成，明年还将新建两个泊位。"),
    ("广东发布暴雨黄色预警", "广东省气象台发布暴雨黄色预警。",
     "预计未来三小时内广州、佛山等地将出现强降雨，请市民注意防范，尽量减少外出。"),
    ("杭州企业发布开源大模型", "浙江杭州的一家科技公司发布了新的开源大模型。",
     "公司表示，该模型在中文理解任务上的表现有明显提升，已向开发者免费开放。"),
]


@pytest.fixture
def site_pages(tmp_path):
    path = tmp_path / "site.jsonl"
    write_jsonl(path, [{"id": f"s{n}", "url": SITE_URL.format(n),
                        "text": "\n".join([*HEADER, *story, *FOOTER])}
                       for n, story in enumerate(STORIES)])
    return path


def test_template_lines_of_a_site_go_as_chrome_and_its_articles_stay(zhclean, tmp_path,
                                                                     site_pages):
    table = tmp_path / "templates.tsv"
    counted = zhclean("templates", site_pages, "-o", table, "-v")
    assert counted.exit_code == 0, counted.stderr
    assert "4 records of 1 sites counted" in counted.stderr
    rows = [line.split("\t") for line in table.read_text(encoding="utf-8").splitlines()
            if not line.startswith("#")]
    assert {row[3] for row in rows} == {line.replace(" ", "") for line in HEADER + FOOTER}
    assert {(row[0], row[1], row[2]) for row in rows} == {("jiangcheng-news.cn", "4", "4")}

    without, with_table = tmp_path / "without.jsonl", tmp_path / "with.jsonl"
    assert zhclean("run", site_pages, "--rejects", without).exit_code == 0
    result = zhclean("run", site_pages, "--templates", table, "--rejects", with_table)
    assert result.exit_code == 0, result.stderr
    dropped_without = Counter(r["text"] for r in read_jsonl(without))
    dropped_with = Counter(r["text"] for r in read_jsonl(with_table))
    # Alone, the rules and the model find part of the template (热门推荐 by a pattern); the
    # table finds all of it, on every record.
    assert "热门推荐" in dropped_without and set(dropped_without) < set(HEADER + FOOTER)
    assert dropped_with == {line: len(STORIES) for line in HEADER + FOOTER}
    assert {r["reason"] for r in read_jsonl(with_table)} == {"boilerplate"}
    for record, story in zip(result.records, STORIES, strict=True):
        assert all(line in record["text"].split("\n") for line in story)


def test_explain_names_the_template_and_another_sites_page_gets_no_such_evidence(
        zhclean, tmp_path, site_pages):
    table = tmp_path / "templates.tsv"
    zhclean("templates", site_pages, "-o", table)
    other = tmp_path / "other.jsonl"
    title, *paragraphs = STORIES[0]
    write_jsonl(other, [{"id": "o", "url": "https://another-site.cn/1.html",
                         "text": "\n".join([*HEADER, title, *paragraphs, *FOOTER])}])
    shown = zhclean("explain", site_pages, other, "--templates", table).stdout
    mine, theirs = shown.split("== ")[1], shown.split("== ")[-1]
    assert "更多精彩内容请关注江城发布  [the site's template: 4 of its 4 records hold it]" in mine
    assert "template" not in theirs


def test_a_missing_or_broken_table_stops_the_run_before_it_starts(zhclean, tmp_path,
                                                                  site_pages):
    missing = zhclean("run", site_pages, "--templates", tmp_path / "none.tsv")
    assert missing.exit_code == 2 and "none.tsv" in missing.stderr
    broken = tmp_path / "broken.tsv"
    broken.write_text("jiangcheng-news.cn\t5\t4\t编辑推荐\n", encoding="utf-8")
    result = zhclean("run", site_pages, "--templates", broken, "-o", tmp_path / "out.jsonl")
    assert result.exit_code == 3
    assert "broken.tsv:1:" in result.stderr and not (tmp_path / "out.jsonl").exists()


def test_a_bad_line_is_reported_and_the_rest_is_counted(zhclean, tmp_path, site_pages):
    pages = site_pages.read_text(encoding="utf-8").splitlines()
    site_pages.write_text("\n".join([*pages[:2], '{"id": "broken", "text": ', *pages[2:]]) + "\n",
                          encoding="utf-8")
    table = tmp_path / "templates.tsv"
    result = zhclean("templates", site_pages, "-o", table)
    assert result.exit_code == 1
    assert f"{site_pages}:3: malformed json" in result.stderr
    assert "jiangcheng-news.cn\t4\t4\t编辑推荐" in table.read_text(encoding="utf-8")


def test_raw_pages_take_their_site_from_their_sidecars(zhclean, tmp_path):
    pages = tmp_path / "pages"
    pages.mkdir()
    for n, story in enumerate(STORIES):
        (pages / f"{n}.txt").write_text("\n".join([*HEADER, *story, *FOOTER]), encoding="utf-8")
        (pages / f"{n}.meta.json").write_text(json.dumps({"url": SITE_URL.format(n)}),
                                              encoding="utf-8")
    table = tmp_path / "templates.tsv"
    assert zhclean("templates", pages, "-o", table).exit_code == 0
    assert "jiangcheng-news.cn\t4\t4\t编辑推荐" in table.read_text(encoding="utf-8")
    rejects = tmp_path / "rejects.jsonl"
    assert zhclean("run", pages, "--templates", table, "--rejects", rejects).exit_code == 0
    assert Counter(r["text"] for r in read_jsonl(rejects)) == \
        {line: len(STORIES) for line in HEADER + FOOTER}


def test_the_python_api_reads_the_table_as_the_command_line_does(zhclean, tmp_path, site_pages):
    import zhclean as api

    table = tmp_path / "templates.tsv"
    zhclean("templates", site_pages, "-o", table)
    cleaner = api.Cleaner(despam=api.DespamOptions(templates=str(table)))
    without = tmp_path / "without.jsonl"
    zhclean("run", site_pages, "--rejects", without)
    for record in read_jsonl(site_pages):
        assert {r["text"] for r in cleaner(record).rejects} == set(HEADER + FOOTER)
        assert {r["text"] for r in api.Cleaner()(record).rejects} == \
            {r["text"] for r in read_jsonl(without) if r["id"] == record["id"]}


@pytest.fixture(scope="module")
def stage():
    return despam.build(despam.DespamOptions(), Rules())


@pytest.mark.parametrize("held, records, decided", [
    (4, 4, True), (3, 6, True),  # most records of the site hold the line
    (2, 2, False),  # two records: evidence for the model, not a rule's decision
    (3, 7, False),  # fewer than half the records
])
def test_the_template_rule_takes_lines_most_records_of_a_site_hold(stage, held, records, decided):
    lines = ["江城日报全媒体", *STORIES[0]]
    templates = SiteLines([held, 0, 0, 0], records)
    decision = stage.decide_normalised(lines, stage.normaliser.lines(lines), templates)[0]
    assert (decision.evidence == f"the site's template: {held} of its {records} records hold it") \
        is decided
