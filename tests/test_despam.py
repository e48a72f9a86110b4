"""The despam stage on real lines: excerpts of the seed page and of hijacked and clean web pages."""
import json
import os
import subprocess
import sys
import unicodedata

import pytest
import regex

from zhclean.records import new_record
from zhclean.rules import RuleError, Rules
from zhclean.stages import despam, despam_model

SPAM_HEADER = ("国产精品亚洲mnbav网站_成人午夜亚洲精品无码网站_日韩va亚洲va欧洲va国产_"
               "亚洲欧洲精品成人久久曰影片")
LINK_FARM = ("        在线免费av播放| 日本一级免费视频| 精品国产免费视频| 天天躁日日躁成人字幕aⅴ| "
             "国产精品美女久久久免费| 国产精品一级黄| 天天爱天天操天天干| 日韩一区二区在线看片")
TITLE_TRAD = "LSTM之父:我也是注意力之父!1991年就發表線性復雜度,遙遙領先Transformer 26年"
BODY_TRAD = ("新智元報道編輯:LRS【新智元導讀】Transformer模型自2017年問世以來,已成為AI領域的核心技術,"
             "尤其在自然語言處理中占據主導地位。")


@pytest.fixture(scope="module")
def stage():
    return despam.build(despam.DespamOptions(), Rules())


def reasons(stage, lines):
    return [d.reason for d in stage.decide(lines)]


def run(stage, text, title=""):
    return stage(new_record(id="t", source="test", title=title, text=text))


@pytest.mark.parametrize("line", [
    SPAM_HEADER,
    LINK_FARM,
    "成人免费xxxxx在线视频软件_久久精品久久久_亚洲国产精品久久久_天天色天天色_亚洲人成一区",
    "亚洲免费av电影一区二区三区,日韩爱爱视频,51精品视频一区二区三区,91视频爱爱,日韩欧美在线播放视频",
    "九九影院理论片私人影院 I 国产成人精品无码专区 I 色播丁香 I 欧美视频一区在线观看 I 黄色一节片",
    "久久福利_99r_国产日韩在线视频_直接看av的网站_中文欧美日韩_久久一",
])
def test_seo_spam_headers_and_link_farms_are_spam_titles(stage, line):
    assert reasons(stage, [line]) == ["spam_title"]


@pytest.mark.parametrize("line", [
    "國產精品亞洲無碼網站_成人午夜亞洲精品無碼網站_日韓va亞洲va歐洲va國產",  # Traditional
    "国 产 精 品 一 区 二 区_亚 洲 无 码 专 区_日 韩 精 品",  # spaced out
    "ＡＶ在线_国产精品ａⅴ无码_一区二区三区_久久久",  # full-width letters
])
def test_spam_is_found_in_any_script_width_or_spacing(stage, line):
    assert reasons(stage, [line]) == ["spam_title"]


@pytest.mark.parametrize("headline", [
    "2011年成人高考报名时间公布",
    "中日韩峰会将于下月在北京举行",
    "精品超市开进社区 居民买菜更方便",
    "亚洲杯:国足今晚迎战乌兹别克斯坦",
    "免费视频通话功能上线 欧美用户增长迅速",
    "日韩欧美股市全线上涨",
    "Java 与 C++ 性能对比:AV1 编码器实测",
])
def test_headlines_with_ambiguous_words_are_kept(stage, headline):
    record, rejects = run(stage, headline)
    assert record is not None and record["text"] == headline and rejects == []


@pytest.mark.parametrize("line", [
    '<span id="3dn8r"></span>',
    '    1. <span id="3dn8r"><optgroup id="3dn8r"></optgroup></span><li id="3dn8r"></li>',
    "• <ins id=\"pjuwb\"></ins>",
    "        ?",
    "  •  ",
    "[[342490]]",
])
def test_markup_residue_is_html(stage, line):
    assert reasons(stage, [line]) == ["html"]


@pytest.mark.parametrize("line", [
    "#include <vector>",
    "}",
    "    ...",
    "type Client struct { ",
])
def test_code_is_not_markup(stage, line):
    assert reasons(stage, [line]) == [None]


@pytest.mark.parametrize("line", [
    "閱讀原文",
    "暫無評論...",
    "431 0 0",
    "  C++博客 :: 首頁 :: 新隨筆 :: 聯系 :: 聚合  :: 管理",
    "Posted on 2013-05-19 16:07 S.l.e!ep.¢% 閱讀(905) 評論(1)  編輯 收藏 引用 所屬分類: C++",
    "當(dāng)前位置: 首頁 » 企資快報 » 產(chǎn)品 » 正文",
    "發(fā)布時間:2022-04-11 13:38:31 來源:億速云 閱讀:261 作者:iii 欄目:編程語言",
    "熱門標簽:寧波語音外呼系統公司 湛江crm外呼系統排名 仙桃400電話辦理 地圖標注免費定制店",
    "版權(quán)說明:本文檔由用戶提供并上傳,收益歸屬內(nèi)容提供方,若內(nèi)容存在侵權(quán),請進行舉報",
    "8 i# r- S9 m& E8 C",
])
def test_page_chrome_is_boilerplate(stage, line):
    assert reasons(stage, [line]) == ["boilerplate"]


def test_lines_above_the_breadcrumb_are_site_banners(stage):
    lines = ["二維碼", "企資網(wǎng)", "當(dāng)前位置: 首頁 » 企資快報 » 產(chǎn)品 » 正文",
             "如何設(shè)計出讓人玩不膩的策略游戲?", BODY_TRAD]
    assert reasons(stage, lines) == ["boilerplate", "boilerplate", "boilerplate", None, None]


def test_related_articles_after_the_article_are_boilerplate(stage):
    lines = [BODY_TRAD, "上一篇: 畅所欲言凝心聚力球迷座谈会顺利召开",
             "体育播报10月23日宣 在本轮欧冠,拜仁4-0大胜布鲁日。本场比赛凯恩破门,赛后他也在社媒晒照庆祝...",
             "2025-10-23"]
    assert reasons(stage, lines) == [None, "boilerplate", "boilerplate", "boilerplate"]


def test_site_name_between_chrome_above_the_article_is_boilerplate(stage):
    lines = ["  • 全國 [切換]", "  • 億企商貿", "    掃一掃關注", "小米大咖講述:從100到2億+用戶,MIUI的發展、創新故事",
             "       2017-10-11 3780", BODY_TRAD]
    assert reasons(stage, lines) == ["boilerplate", "boilerplate", "boilerplate", None,
                                     "boilerplate", None]


def test_short_title_above_the_metadata_line_is_kept(stage):
    # Short, unpunctuated and between chrome, but just above the date line: the title.
    lines = ["全國咨詢熱線400-663-9099", "英脈物流", "冷鏈物流配送路徑研究", "發表時間:2024-08-22 09:03:00",
             BODY_TRAD]
    assert reasons(stage, lines) == ["boilerplate", "boilerplate", None, "boilerplate", None]


def test_channel_tags_under_the_title_are_boilerplate(stage):
    lines = [SPAM_HEADER, "圖文講透Golang標準庫 net/http實現原理 - 客戶端", "開發 前端", BODY_TRAD]
    assert reasons(stage, lines) == ["spam_title", None, "boilerplate", None]


def test_author_names_under_the_journal_line_are_kept(stage):
    lines = ["一種基于版本演進模型和迭代設計模式的軟件版本迭代方法", "電腦知識與技術 2022年14期",
             "汪驥宇 陳武 張千秋 胡芳", BODY_TRAD]
    assert reasons(stage, lines) == [None, "boilerplate", None, None]


@pytest.mark.parametrize("lines", [["英脈物流"], ["開發 前端", "英脈物流"], ["  • 億企商貿", "    掃一掃關注"]])
def test_short_lines_of_a_page_without_paragraph_are_not_scored(stage, lines):
    assert reasons(stage, lines)[0] is None


def test_summary_repeating_the_opening_with_other_quotes_is_boilerplate(stage):
    teaser = ("程序員是個很辛苦的職業,通常面臨無窮無盡的加班,但經過分析發現,大多數加班并不是因為項目時間不夠,"
              "而是前期開發沒有設計好,后期出現了無法跟蹤,甚至無法解決的bug,導致研發時間不可控,"
              "這就是通常所說的“bug是加班之源”。")
    opening = teaser.replace("“", '"').replace("”", '"') + "因此,我們如果能在設計階段,預防、暴露很多bug。"
    assert reasons(stage, ["實戰乃王道:C/C++開發常見bug解析", teaser, opening]) == \
        [None, "boilerplate", None]


def test_summary_of_an_opening_over_several_lines_is_boilerplate(stage):
    teaser = ("摘要:程序員是個很辛苦的職業,通常面臨無窮無盡的加班,但經過分析發現,大多數加班并不是因為項目時間不夠,"
              "而是前期開發沒有設計好,后期出現了無法跟蹤,甚至無法解決的bug,導致研發時間不可控...")
    opening = ["“程序員是個很辛苦的職業,", "通常面臨無窮無盡的加班,但經過分析發現,",
               "大多數加班并不是因為項目時間不夠,而是前期開發沒有設計好,后期出現了無法跟蹤,"
               "甚至無法解決的bug,導致研發時間不可控。”"]
    assert reasons(stage, ["實戰乃王道:C/C++開發常見bug解析", teaser, "", *opening])[1] == "boilerplate"
    assert reasons(stage, ["實戰乃王道:C/C++開發常見bug解析", teaser, *opening[1:]])[1] is None


@pytest.mark.parametrize("text", [
    "你好，世界！　（測試）ＡＢＣ１２３…︰﹐﹔", "Ａ\u0301 é ｶﾞ ① ﬁ ㍿ ℃ ½", "ｅ\u0301\u0323", "　\u0308",
    "".join(chr(c) + "\u0301\u3099" for c in range(0xFE30, 0xFF70)),
])
def test_nfkc_is_unicodedata_nfkc(text):
    assert despam.nfkc(text) == unicodedata.normalize("NFKC", text)


def test_space_chars_are_what_regex_reads_as_spaces():
    every = "".join(map(chr, range(0x110000)))
    assert "".join(regex.findall(r"\s", every)) == despam._SPACE_CHARS


def test_leading_bullets_and_spaces_go_from_every_line(stage):
    lines = ["• \u3000 首頁", "\x1c• abc", " - * 1. 新聞　 標題 ", "·\t·", "◆ 相關文章 ◆", "\u00a0\u2003x  y"]
    one_by_one = [despam._SPACES.sub(" ", despam._BULLETS.sub("", stage.normaliser._t2s.convert(
        unicodedata.normalize("NFKC", line)))).strip().lower() for line in lines]
    assert stage.normaliser.lines(lines) == one_by_one == \
        ["首页", "• abc", "1. 新闻 标题", "", "相关文章 ◆", "x y"]


@pytest.mark.parametrize("line", ["濰坊做網站的那家好網絡推廣公司名字大全", "拼多多代運營哪家靠譜"])
def test_keyword_stuffed_query_titles_are_spam(stage, line):
    assert reasons(stage, [line]) == ["spam_title"]


@pytest.mark.parametrize("headline", ["室内高尔夫模拟器哪家好？", "厂房电动伸缩门哪家好-深圳开门红",
                                      "建一个微信小程序商城需要多少钱？", "网络推广细分市场"])
def test_headlines_with_one_query_word_are_kept(stage, headline):
    record, rejects = run(stage, headline)
    assert record is not None and rejects == []


@pytest.mark.parametrize("line", [
    "3 W+ 0",
    "京ICP備05070602號",
    "【責任編輯:王斌】",
    "分享到:",
    "收藏 打印 關閉窗口",
    "掃描二維碼 關注公眾號",
    # chrome any site prints: bylines of the site's header, editors' credits, image credits,
    # sources, dates, counters, editions, widget words alone, document fields, notices
    "記者黃佳萍、許世良/高雄報導",
    "高佳菁／核稿編輯",
    "責任編輯:楊繼斌 蘇永通 王剛 史哲 曹筠武",
    "(资料图片仅供参考)",
    "【資料圖】",
    "本文来源: 公安厅",
    "Published on: 2025-06-13 13:27 UTC",
    "2021/5/4 08:46(5/4 10:19 更新)",
    "405次瀏覽",
    "6 評論 2479 瀏覽 19 收藏 36 分鐘",
    "第C07版:港聞",
    "分享",
    "Continue Reading",
    "廣告 廣告",
    "跳至主要內容",
    "發文機關:山西省人民政府",
    "請同意我們的隱私權規範,才能啟用聽新聞的功能。",
])
def test_more_page_chrome_is_boilerplate(stage, line):
    assert reasons(stage, [line]) == ["boilerplate"]


@pytest.mark.parametrize("line", [
    "本报记者杜若原", "新华社记者 胥冰洁 摄", "作者:何乃强", "文/熊宗荣", "圖片來源:中國體育報", "所屬專欄",
])
def test_the_articles_own_byline_and_credits_stay(stage, line):
    """LABELING.md: the article's own byline is content; only the site's header and its editors'
    credits are chrome."""
    assert reasons(stage, [line]) == [None]


def test_headlines_after_a_more_articles_line_are_boilerplate(stage):
    lines = [BODY_TRAD, "往下看更多文章", "中國成功發射天繪七號衛星", "岑浩輝首份新春賀辭 稱以靈活創新思維面對挑戰"]
    assert reasons(stage, lines) == [None, "boilerplate", "boilerplate", "boilerplate"]


def test_news_about_casinos_is_content(stage):
    line = ("澳门博彩业分为三类:一是幸运博彩。幸运博彩即赌博,被视作澳门博彩的起源。幸运博彩的花样很多,"
            "有骰宝、百家乐、轮盘、廿一点、牌九、角子机(俗称“老虎机”)等20多种。")
    assert reasons(stage, ["赌场", line]) == [None, None]


def test_seed_page_keeps_title_and_body(stage):
    lines = [SPAM_HEADER, "", TITLE_TRAD, "", "AIGC動態1年前 (2024)發布 新智元", "431 0 0", "",
             BODY_TRAD, "", "閱讀原文", "? 版權聲明", "蟬鏡AI數字人", "", "相關文章", "",
             "暫無評論", SPAM_HEADER, '<span id="3dn8r"></span>', "", LINK_FARM]
    record, rejects = run(stage, "\n".join(lines))
    assert record["text"] == TITLE_TRAD + "\n" + BODY_TRAD
    assert record["title"] == TITLE_TRAD
    assert sorted(r["line"] for r in rejects) == [i for i in range(len(lines)) if i not in (2, 7)]


def test_works_the_same_after_convert(stage):
    simplified = ["当前位置: 首页 » 企资快报 » 产品 » 正文", "如何设计出让人玩不腻的策略游戏?",
                  "发布时间:2022-04-11 13:38:31 来源:亿速云 阅读:261", "国产精品无码网站_日韩va亚洲va欧洲va国产"]
    traditional = ["當前位置: 首頁 » 企資快報 » 產品 » 正文", "如何設計出讓人玩不膩的策略遊戲?",
                   "發佈時間:2022-04-11 13:38:31 來源:億速雲 閱讀:261", "國產精品無碼網站_日韓va亞洲va歐洲va國產"]
    assert reasons(stage, simplified) == reasons(stage, traditional)


def test_spam_title_is_replaced_by_the_first_heading(stage):
    record, rejects = run(stage, TITLE_TRAD + "\n" + BODY_TRAD, title=SPAM_HEADER)
    assert record["title"] == TITLE_TRAD
    assert {"field": "title", "reason": "spam_title", "text": SPAM_HEADER}.items() <= \
        [r for r in rejects if "field" in r][0].items()


def test_record_of_only_noise_is_rejected_whole(stage):
    record, rejects = run(stage, SPAM_HEADER + "\n\n閱讀原文")
    assert record is None and rejects[-1]["reason"] == "no_content"


def test_remaining_text_that_is_spam_rejects_the_record(stage):
    # Doorway prose: no line is a list of titles, but the text as a whole promotes a porn site.
    doorway = ("欢迎来到本站,我们每天为大家更新最新最全的国产精品和无码资源,所有内容均可在手机上流畅观看。\n"
               "注册会员即可享受更多无码内容,老用户推荐好友还能获得久久精品专区的永久观看权限。")
    assert reasons(stage, doorway.split("\n")) == [None, None]
    record, rejects = run(stage, doorway)
    assert record is None and rejects[-1]["reason"] == "spam_text"


def test_rule_override_adds_terms_and_thresholds(tmp_path):
    (tmp_path / "spam_lexicon.tsv").write_text("# mine\n刷流水\tfakead\t1.5\n", encoding="utf-8")
    (tmp_path / "boilerplate.txt").write_text("chrome\t^本站由.*强力驱动$\n", encoding="utf-8")
    stage = despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))
    assert reasons(stage, ["刷流水_刷流水平台_专业刷流水", "本站由某某CMS强力驱动"]) == \
        ["spam_title", "boilerplate"]


def test_broken_lexicon_names_file_and_line(tmp_path):
    (tmp_path / "spam_lexicon.tsv").write_text("# mine\n无码\tporn\theavy\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"spam_lexicon.tsv:2: expected a number"):
        despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))


def test_unknown_boilerplate_kind_names_file_and_line(tmp_path):
    (tmp_path / "boilerplate.txt").write_text("\n\nfooter\t^关于我们$\n", encoding="utf-8")
    with pytest.raises(RuleError, match=r"boilerplate.txt:3: kind must be one of"):
        despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))


def test_a_line_a_pattern_cannot_read_in_time_is_that_lines_reject_and_the_run_goes_on(
        zhclean, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "boilerplate.txt").write_text("# slow\nchrome\t^(\\w|\\w\\w)+$\n", encoding="utf-8")
    slow = "a" * 60 + "!"
    records = [{"id": "slow", "text": f"{slow}\n{BODY_TRAD}"}, {"id": "next", "text": BODY_TRAD}]
    result = zhclean("despam", "--rules", rules, "--rejects", tmp_path / "rejects.jsonl",
                     input="".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    assert result.exit_code == 0, result.stderr
    assert [json.loads(line)["text"] for line in result.stdout.splitlines()] == [BODY_TRAD] * 2
    rejects = [json.loads(line) for line in (tmp_path / "rejects.jsonl").read_text().splitlines()]
    assert [(r["id"], r["reason"], r["text"]) for r in rejects] == [("slow", "rule_timeout", slow)]
    assert "boilerplate.txt:2 took more than 0.25 s" in rejects[0]["error"]


def test_a_users_keep_pattern_has_the_last_word(tmp_path, stage):
    page = ["(編輯:陳嘉俊)", BODY_TRAD, "(編輯:陳嘉俊)", "相關文章", "谷歌發布Gemini 2.0", ""]
    shipped = reasons(stage, page)
    assert shipped[0] == shipped[2] == "boilerplate" and shipped[1] is None
    (tmp_path / "boilerplate.txt").write_text("keep\t^\\(编辑:\n", encoding="utf-8")
    user = despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))
    decisions = user.decide(page)
    assert [d.reason for d in decisions] == [None, None, None] + shipped[3:]
    assert decisions[0].evidence == "keep boilerplate.txt:1 (was boilerplate)"


def test_the_shipped_rules_read_a_crafted_page_in_linear_time(stage):
    """The channel pattern once backtracked quadratically on a row of words ending in a long one."""
    page = ["今日要闻", "新闻 " * 40000, "新闻 " * 30000 + "abcdefgh", BODY_TRAD]
    assert reasons(stage, page)[-1] is None and "rule_timeout" not in reasons(stage, page)


def test_explain_shows_decision_reason_and_score(zhclean, tmp_path):
    page = tmp_path / "page.txt"
    page.write_text(SPAM_HEADER + "\n" + TITLE_TRAD + "\n431 0 0\n", encoding="utf-8")
    result = zhclean("explain", page)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "spam_title" in lines[1] and "mnbav" in lines[1]
    assert "keep" in lines[2] and TITLE_TRAD in lines[2]
    assert "boilerplate" in lines[3] and "boilerplate.txt:" in lines[3]
    assert "\x1b[" not in result.stdout  # plain when not a terminal


def test_despam_explain_reads_jsonl(zhclean):
    line = json.dumps({"id": "a", "text": "閱讀原文\n" + TITLE_TRAD}, ensure_ascii=False)
    result = zhclean("despam", "--explain", input=line + "\n")
    assert result.exit_code == 0
    assert "boilerplate" in result.stdout.splitlines()[1]
    assert "keep" in result.stdout.splitlines()[2]


GATE_LINES = [
    "当前位置: 首页 » 企资快报 » 产品 » 正文", "发布时间:2022-04-11 13:38:31 来源:亿速云 阅读:261",
    "2022年4月11日 星期一", "3 w+ 0", "12345", "京icp备05070602号", "【责任编辑:王斌】",
    "收藏 打印 关闭窗口", "posted on 2009-03-01", "Copyright © 2024", "ßtraße 上一篇", "",
    "室内高尔夫模拟器哪家好", "第2页", "_第2页", "相关文章", "首页 > 新闻 > 正文",
]


@pytest.mark.parametrize("line", GATE_LINES)
def test_pattern_gates_never_skip_a_pattern_that_matches(stage, line):
    for patterns in [stage.boilerplate, *stage.hints.values()]:
        every = next((p for p in patterns.patterns if p.pattern.search(line)), None)
        found = patterns.first_match(line)
        assert (found[0] if found else None) is every


@pytest.mark.parametrize("text, terms", [
    ("国产精品一区二区三区", ["国产精品", "一区二区"]),  # longest term, then past it
    ("java av 1991 91视频 xxxxx", ["av", "91", "视频", "xxxxx"]),
    ("xxxxxx 91 av8", ["91"]),  # Latin terms only where no letter or digit touches them
    ("无码\n久久精品", ["无码", "久久精品"]),
])
def test_lexicon_takes_the_longest_term_at_each_place(stage, text, terms):
    assert stage.lexicon.hits(text) == terms
    lines = text.split("\n")
    assert stage.lexicon.hits_per_line(lines) == [stage.lexicon.hits(line) for line in lines]


# Hong Kong news (CityU, SIGHAN 2005), each paragraph one line, with the site's hotline footer
# glued to the end of the second paragraph as a crawler joins them.
HK_NEWS = [
    "露宿者炎夏避暑 社工派蚊香",
    "有外展社工稱，露宿者日間多到商場等冷氣場所避暑，流連至晚上11、12時，才用紙皮在公園外"
    "「打地鋪」，他們早已「練得一身銅皮鐵骨」，徹夜被蚊叮也習以為常，但社工在炎夏仍會頻頻給他們"
    "派發蚊香。",
    "基督教關懷無家者協會的外展社工，過去一直有探訪李鄭屋遊樂場外的露宿者，該會總幹事賴淑芬說，"
    "該處的露宿者只有數人，且流動性很大。暖流熱線 電話：29908688",
]


def test_a_footer_inside_an_article_paragraph_never_costs_the_paragraph(stage):
    record, rejects = run(stage, "\n".join(HK_NEWS))
    assert record is not None and record["text"].split("\n") == HK_NEWS
    assert rejects == []


@pytest.mark.parametrize("line", [
    "正因为完全依赖于游戏，这家公司的收入在过去三年里增长了一倍。",
    "正因為完全依賴於遊戲，這家公司的收入在過去三年裡增長了一倍。",
])
def test_utf8_decoded_as_gbk_or_big5_is_mojibake_and_the_text_itself_is_not(stage, line):
    gbk = line.encode("utf-8").decode("gb18030", errors="replace")
    big5 = line.encode("utf-8").decode("big5", errors="replace")
    assert reasons(stage, [gbk]) == ["mojibake"]
    assert reasons(stage, [big5]) == ["mojibake"]
    assert reasons(stage, [line]) == [None]


@pytest.mark.parametrize("line,residue", [
    ("-", True), ("  •", True), ("||||", True), ("？？？", True), ("![]()", True),
    ('<image>data:image/png;base64,iVBORw0KGgo" alt', True),
    ("}", False), (" *", False), ("--", False), ("***", False), ("----", False), ("->", False),
    ("{{ message }}", False), ("—— 完 ——", False),
    ("也可以写 data:image/png;base64 的图片地址嵌入页面，适合小图标。", False),
])
def test_lone_marks_are_residue_but_code_and_rules_written_by_authors_stay(line, residue):
    assert despam.is_html_residue(line) is residue


@pytest.mark.parametrize("line,residue", [
    ('{% hint style="warning" %}', True), ("{{{2}}}", True), ("×", True), ("2、", True),
    ("![2023年通信電子計算機技能考試歷年參考題](/img/1.png)", True),
    ('ata-alt="" poster="//img.huanqiucdn.cn/dp/api/files/imageDir/3687.jpg"', True),
    ("2019-10-09 1 1 澳门日报 content_2079.html 特首擬周三立會宣讀施政報告 /enpproperty-->", True),
    ('<figure><img src="/files/hhr8z" alt=""><figcaption><p>售賣資訊</p></figcaption></figure>',
     True),
    ("此篇文章已有 {{article.like_count | currency '' 0 }} 人讚許", True),
    # Text with a tag or two, code and list items with their text stay.
    ("<b>注意</b>:今天下午三点在大礼堂召开全体会议,请准时参加。", False),
    ("{{ message }}", False), ('x = "a"', False), ("1、我们今天开会。", False), ("1.", False),
    ('<p class="ql-block"><span style="color:rgb(1, 1, 1);">七律: 张家界 </span></p><p class="ql'
     '-block"><span style="color:rgb(1, 1, 1);"> 世人都说大庸好,</span></p><p class="ql-block">'
     '<span style="color:rgb(1, 1, 1);">天门仙洞藏玄妙,</span></p>', False),
])
def test_unrendered_templates_attributes_and_empty_list_items_are_residue(line, residue):
    assert despam.is_html_residue(line) is residue


def test_the_model_names_its_evidence(stage):
    seed_chrome = ["LSTM之父:我也是注意力之父!1991年就發表線性復雜度", "", BODY_TRAD, "",
                   "相關文章", "馬斯克xAI首個大模型Grok開源", "谷歌發布Gemini 2.0"]
    decisions = stage.decide(seed_chrome)
    assert [d.reason for d in decisions[:4]] == [None, "blank", None, "blank"]
    assert all("p(noise)" in d.evidence for d in decisions if d.reason is None)
    assert [d.reason for d in decisions[4:]] == ["boilerplate"] * 3


def test_a_line_is_weighed_by_the_words_it_shares_with_the_article(stage):
    # A Macau news page (exmoo.com): two paragraphs, then the site's list of other headlines.
    page = ["懷疑縱火案 司警跟進",
            "於今日中午時份,司警接報消防局通知指出,青洲新馬路青翠樓附近街道上兩處地點發生懷疑縱火案。"
            "經調查,司警列為懷疑縱火案。",
            "司警指出,較早前有市民發現上述地點街道上有紙皮著火及冒煙情况,並將火救熄。期後,市民再於"
            "附近休憩區內之路牌柱上發現又有紙皮起火,市民再次將火救熄並報警求助。",
            "地盤浮雕走紅 逾500人求拜師", "戰場熱成像反制效果受質疑"]
    _, features, _ = stage.evidence(page, stage.normaliser.lines(page))
    title, first, second, *others = features
    assert title["topic"] >= 0.5 and "topic_half" in title
    assert first["topic"] > 0.1 and second["topic"] > 0.1  # each shares words with the other
    assert all("topic_none" in f and "after_body*topic_none" in f for f in others)
    assert despam_model.han_pairs("司警跟進 2024") == {"司警", "警跟", "跟進"}


@pytest.mark.parametrize("row", ["1\tbias\tnot-a-number\t0\t0\t0", "1\tbias\tnan\t0\t0\t0",
                                 "3\tbias\t1\t0\t0\t0", "0\tp:赌场\t1e12\t0\t0\t0"])
def test_a_broken_model_row_names_file_and_line(tmp_path, row):
    (tmp_path / "despam_model.tsv").write_text(f"# weights\n{row}\n2\tbias\t1\t0\t0\t0\n")
    with pytest.raises(RuleError, match=r"despam_model.tsv:2"):
        despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))


def test_a_users_model_replaces_the_shipped_one_whole(tmp_path):
    # A model that keeps everything: were it merged with the shipped weights, they would still
    # drop the doorway page, which only the model drops.
    (tmp_path / "despam_model.tsv").write_text("1\tbias\t5\t0\t0\t0\n2\tbias\t5\t0\t0\t0\n")
    stage = despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))
    assert set(stage.model.weights["1"]) == {"bias"}
    assert [d.reason for d in stage.decide(DOORWAY)] == [None] * len(DOORWAY)


@pytest.mark.parametrize("setting", ["min_content_probability = 1.5", "min_lines = 2.5"])
def test_model_settings_out_of_range_are_rule_errors(tmp_path, setting):
    (tmp_path / "despam.toml").write_text(f"[model]\n{setting}\n")
    with pytest.raises(RuleError, match=r"despam.toml: \[model\]"):
        despam.build(despam.DespamOptions(), Rules((str(tmp_path),)))


# A betting platform's doorway page (benchmarks/data/pages 2072, its opening): article-shaped
# paragraphs, each of which alone could pass for news.
DOORWAY = [
    "引言",
    "在当今数字化时代,体育赛事直播和博彩平台已成为全球数亿体育爱好者和博彩玩家的日常选择。其中,"
    "“环球体育台子”(通常指环球体育博彩平台或相关体育直播服务)作为市场中的重要参与者。",
    "一、环球体育台子的可靠性分析",
    "1.1 技术架构与稳定性",
    "环球体育台子的技术架构是其可靠性的基础。一个稳定的平台需要强大的服务器支持、高效的负载均衡和实时"
    "数据处理能力。根据行业标准,优秀的体育博彩平台通常采用分布式云架构,以确保高并发访问下的稳定性。",
]
# News about gambling from a site no labelled page comes from (8i8i8i.com): Macau's gaming revenue.
GAMING_NEWS = [
    "中新社澳門7月1日電 (記者 龍土有)澳門特區政府博彩監察協調局7月1日公布,今年1至6月,澳門博彩毛收入"
    "累計達1502億元,按年升18.9%。",
    "6月澳門博彩毛收入為224.9億元(澳門元,下同),按年升12.5%,也是連續第23個月錄得按年升幅。",
    "但相比澳門5月的博彩毛收入,6月份博彩毛收入下跌了11.7%。有業內人士分析認為,在農歷端午節假期后及在"
    "世界杯足球賽的負面影響下,仍有此表現,已屬理想。(完)",
]

# Video-game news (takechance.work, no labelled page's site): 游戏, 玩家 and 平台 are the doorway
# pages' words too.
GAME_NEWS = [
    "本周末,这款被誉为年度最性感游戏的作品再度刷新同时在线人数纪录。没错——《沙丘:觉醒》(Dune: "
    "Awakening)成功跻身Steam历史百大热门游戏榜单,周日以189,333的峰值在线人数位列第85名。",
    "尽管我们的评测作者莫莉·泰勒(Mollie Taylor)在《剑星》评测中给出了褒贬参半的评价,但该作在Steam"
    "玩家群体中反响热烈。游戏不仅获得94%的“特别好评”,其周末表现更是超越绝大多数PlayStation移植作品。",
    "《剑星》近日捷报频传。开发商Shift Up今日刚在社交媒体庆祝销量突破300万份,游戏目前稳居Steam畅销榜"
    "第六名。而《沙丘:觉醒》则雄踞榜首。",
]


def test_a_doorway_page_goes_whole_and_explain_names_its_words(stage):
    decisions = stage.decide(DOORWAY)
    assert [d.reason for d in decisions] == ["spam_title"] * len(DOORWAY)
    assert all("the page's words read as spam_title" in d.evidence for d in decisions)


# A slot-machine guide of the doorway pages' kind, written for this test (no site's text): its
# steps and definitions read as plain instructions line by line; the page's words give it away.
SLOT_GUIDE = [
    "老虎機新手入門:玩法、術語與選台技巧一次看懂",
    "老虎機是娛樂城裡最容易上手的遊戲,不論是實體賭場或線上平台都很常見。本篇整理老虎機的基本玩法、"
    "常見術語和挑選機台的方法,讓第一次玩的新手也能快速掌握。",
    "一、老虎機怎麼玩",
    "先決定每一注的金額與要啟用的支付線,再按下旋轉鍵,轉軸停下後只要符號連成一線,就能依照賠率表領取獎金。",
    "二、認識常見術語",
    "RTP代表長期下來返還給玩家的比例,數字越高越有利;Wild可以替代其他符號,Scatter則常用來觸發免費旋轉。",
    "三、如何挑選機台",
    "建議優先選擇RTP在96%以上、波動度符合自己預算的機台,並善用平台提供的免費試玩與儲值優惠。",
]


def test_a_gambling_guide_goes_whole_though_its_steps_read_as_instructions(stage):
    decisions = stage.decide(SLOT_GUIDE)
    assert [d.reason for d in decisions] == ["spam_title"] * len(SLOT_GUIDE)
    assert "the page's words read as spam_title" in decisions[3].evidence


@pytest.mark.parametrize("article", [GAMING_NEWS, GAME_NEWS], ids=["gaming", "games"])
def test_news_in_the_doorway_pages_words_keeps_its_article(stage, article):
    assert reasons(stage, article) == [None] * len(article)


def test_the_page_words_are_read_as_the_trainer_fits_them(stage):
    # page_shares sums whole ten-thousandths from an array; the trainer fits the same weights as
    # a regression over page_word_features.
    model = stage.model
    for page in (DOORWAY, GAMING_NEWS, HK_NEWS):
        words = despam_model.page_words([despam.compact(line) for line in page])
        assert len(words) > 50
        expected = model.probabilities(model.weights["0"], despam_model.page_word_features(words))
        assert model.page_shares(words) == pytest.approx(expected, abs=1e-9)


def test_the_page_words_are_read_the_same_whatever_the_hash_seed():
    # Stage 0 reads a set of character pairs, whose order changes with PYTHONHASHSEED; a sum of
    # floats in that order would differ in its last bits from run to run.
    script = ("from zhclean.rules import Rules\n"
              "from zhclean.stages import despam, despam_model\n"
              "stage = despam.build(despam.DespamOptions(), Rules())\n"
              f"page = {DOORWAY + GAMING_NEWS!r}\n"
              "words = despam_model.page_words([despam.compact(line) for line in page])\n"
              "print(repr(stage.model.page_shares(words)))\n")
    outputs = set()
    for seed in ("1", "2", "3"):
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                              env={**os.environ, "PYTHONHASHSEED": seed})
        assert done.returncode == 0, done.stderr
        outputs.add(done.stdout)
    assert len(outputs) == 1


def test_a_line_is_weighed_by_its_edges(stage):
    # From a Malaysian news page (orientaldaily.com.my) and a Beijing-news mirror: a site's name,
    # a related teaser cut short, a related headline listed with its date, a sentence.
    page = ["东方日报", "非法赛车多次造成致命事故 林冠英批魏家祥对飙车党无作为...",
            "- 李成钢:中美就一些议题取得初步共识2026-03-17",
            "警方已传召参与集会的30人包括主办单位,以在明天及后天录取口供。"]
    _, features, _ = stage.evidence(page, stage.normaliser.lines(page))
    name, teaser, listed, sentence = features
    assert "first:东" in name and "last:报" in name
    assert "ends_ellipsis" in teaser and "first:非" not in teaser  # over EDGE_MAX_CHARS
    assert "ends_date" in listed
    assert not {"ends_ellipsis", "ends_date"} & set(sentence)


def test_the_page_words_leave_out_the_spam_titles_the_rules_found(stage):
    # A hijacked page: its spam header and link farm must not make the article read as spam.
    page = [SPAM_HEADER, "", TITLE_TRAD, "", BODY_TRAD, "", LINK_FARM]
    normalised = stage.normaliser.lines(page)
    rules, _, words = stage.evidence(page, normalised)
    assert [rules[i].reason for i in (0, 6)] == ["spam_title", "spam_title"]
    assert "模型" in words and "注意" in words  # the article's
    assert not {"无码", "精品", "免费"} & words  # the header's and the link farm's
    whole = despam_model.page_words([despam.compact(line) for line in normalised])
    assert {"无码", "精品"} <= whole
    spam = despam_model.LABELS.index("spam_title")
    assert stage.model.page_shares(words)[spam] < stage.model.page_shares(whole)[spam]
