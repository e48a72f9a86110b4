"""The segment stage: two engines with one behaviour, user dictionaries, non-Chinese runs kept
whole, Traditional tokens with Simplified boundaries, and the output options."""
import json

import opencc
import pytest

from zhclean.rules import Rules
from zhclean.stages.segment import ENGINES, SegmentOptions, build

# From the seed page (新智元, 2024), as published in Traditional characters.
TRADITIONAL = ("新智元報道編輯：LRS【新智元導讀】Transformer模型自2017年問世以來，已成為AI領域的"
               "核心技術，尤其在自然語言處理中占據主導地位。然而，關于其核心機制“注意力”的起源，"
               "學界存在爭議，一些學者如Jürgen Schmidhuber主張自己更早提出了相關概念。")
SIMPLIFIED = opencc.OpenCC("t2s").convert(TRADITIONAL)
# People's Daily, as in the SIGHAN 2005 PKU test text, with the runs users meet in web news.
NEWS = ("共同创造美好的新世纪——二○○一年新年贺词。详见 www.people.com.cn 或 http://news.qq.com/a/1.htm，"
        "来信请寄 editor@people.cn；增长 3.14%，达到 1,234.5 亿元，版本 v2.0.1 发布，#人工智能# 话题"
        "热度第一，#OpenAI 也参与讨论。")


def segment(text, **options):
    stage = build(SegmentOptions(**options), Rules())
    record, rejects = stage({"id": "t", "text": text, "meta": {}})
    assert rejects == []
    return record


def spans(tokens):
    ends, end = [], 0
    for token in tokens:
        end += len(token)
        ends.append(end)
    return ends


@pytest.mark.parametrize("engine", ENGINES)
def test_non_chinese_runs_stay_whole_and_whitespace_is_never_a_token(engine):
    tokens = segment(NEWS + "\n" + TRADITIONAL, engine=engine)["tokens"]
    for whole in ("www.people.com.cn", "http://news.qq.com/a/1.htm", "editor@people.cn", "3.14%",
                  "1,234.5", "v2.0.1", "#人工智能#", "#OpenAI", "Jürgen", "Schmidhuber",
                  "Transformer", "2017"):
        assert whole in tokens
    assert "，" in tokens  # the URL stops before the Chinese comma
    assert not any(t.isspace() or not t for t in tokens)
    assert "".join(tokens) == "".join((NEWS + TRADITIONAL).split())


def test_diacritics_in_decomposed_form_stay_in_the_word():
    assert "Ju\u0308rgen" in segment("学者Ju\u0308rgen主张")["tokens"]


@pytest.mark.parametrize("mode", ["accurate", "search"])
def test_both_engines_give_the_same_tokens(mode):
    text = NEWS + "\n" + SIMPLIFIED
    fast = segment(text, engine="jieba-rs", mode=mode)["tokens"]
    reference = segment(text, engine="jieba", mode=mode)["tokens"]
    assert fast == reference
    if mode == "search":
        assert {"自然", "语言", "处理", "自然语言处理"} <= set(fast)


def test_both_engines_give_the_same_tags():
    fast = segment(SIMPLIFIED, engine="jieba-rs", pos=True)
    reference = segment(SIMPLIFIED, engine="jieba", pos=True)
    assert fast["tokens"] == reference["tokens"] == segment(SIMPLIFIED)["tokens"]
    assert fast["pos"] == reference["pos"]
    tags = dict(zip(fast["tokens"], fast["pos"]))
    assert tags["Jürgen"] == "eng" and tags["2017"] == "m" and tags["模型"] == "n"


def test_a_user_word_changes_both_engines_the_same_way(zhclean, tmp_path):
    text = "创业公司智谱清言联合清华大学发布新模型"
    record = json.dumps({"id": "a", "text": text}, ensure_ascii=False) + "\n"
    userdict = tmp_path / "mine.txt"
    userdict.write_text("# 公司和产品\n\n智谱清言 nt\n清华大学 5 nt\n", encoding="utf-8")
    for engine in ENGINES:
        before = zhclean("segment", "--engine", engine, input=record).records[0]["tokens"]
        after = zhclean("segment", "--engine", engine, "--userdict", userdict, "--pos",
                        input=record).records[0]
        assert "智谱清言" not in before
        assert after["tokens"] == ["创业", "公司", "智谱清言", "联合", "清华大学", "发布", "新",
                                   "模型"]
        assert after["pos"][2] == "nt" and after["pos"][4] == "nt"  # the user's tag wins


def test_the_shipped_user_dictionary_knows_recent_terms():
    tokens = segment("深度求索发布大模型，人形机器人和具身智能成为热点")["tokens"]
    assert {"深度求索", "大模型", "人形机器人", "具身智能"} <= set(tokens)


def test_a_broken_user_dictionary_names_file_and_line(zhclean, tmp_path):
    userdict = tmp_path / "broken.txt"
    userdict.write_text("# ok\n大模型 10 n\n智谱清言 many nt\n", encoding="utf-8")
    result = zhclean("segment", "--userdict", userdict, input='{"id": "a", "text": "你好"}\n')
    assert result.exit_code == 3
    assert f"{userdict}:3" in result.stderr


def test_stopwords_shipped_or_replaced(tmp_path):
    text = "我们的模型在自然语言处理中占据主导地位。"
    assert segment(text)["tokens"][:2] == ["我们", "的"]
    removed = segment(text, remove_stopwords=True, pos=True)
    assert removed["tokens"] == ["模型", "自然语言处理", "中", "占据", "主导地位"]
    assert len(removed["pos"]) == 5 and removed["meta"]["segment"]["stopwords_removed"] == 4
    mine = tmp_path / "stop.txt"
    mine.write_text("# only this one\n模型\n", encoding="utf-8")
    replaced = segment(text, remove_stopwords=True, stopwords=str(mine))["tokens"]
    assert "模型" not in replaced and "的" in replaced


def test_text_format_is_one_space_joined_string(zhclean):
    record = json.dumps({"id": "a", "text": SIMPLIFIED}, ensure_ascii=False) + "\n"
    listed = zhclean("segment", "--pos", input=record).records[0]
    texted = zhclean("segment", "--pos", "--format", "text", input=record).records[0]
    assert texted["tokens"] == " ".join(listed["tokens"])
    assert texted["pos"] == " ".join(listed["pos"])
    assert texted["meta"] == listed["meta"] and set(texted["meta"]) == {"segment"}


def test_keep_script_gives_traditional_tokens_with_simplified_boundaries():
    kept = segment(TRADITIONAL, keep_script=True)
    converted = segment(SIMPLIFIED)["tokens"]
    assert "".join(kept["tokens"]) == "".join(TRADITIONAL.split())
    assert spans(kept["tokens"]) == spans(converted)
    assert {"報道", "核心技術", "學界", "爭議", "自然語言處理"} <= set(kept["tokens"])
    assert kept["text"] == TRADITIONAL
    assert kept["meta"]["segment"]["keep_script_unprojected_lines"] == 0


def test_keep_script_in_a_chain_without_convert(zhclean):
    record = json.dumps({"id": "a", "text": TRADITIONAL}, ensure_ascii=False) + "\n"
    plain = zhclean("segment", input=record).records[0]["tokens"]
    kept = zhclean("segment", "--keep-script", input=record).records[0]["tokens"]
    assert "核心技術" in kept and "核心技術" not in plain  # jieba alone cuts 核心 技術


def test_options_that_need_accurate_mode_are_usage_errors(zhclean):
    for flag in ("--pos", "--keep-script"):
        result = zhclean("segment", "--mode", "full", flag, input='{"id": "a", "text": "你好"}\n')
        assert result.exit_code == 2 and "--mode accurate" in result.stderr


def test_segment_writes_only_its_meta_and_reruns_change_nothing(zhclean):
    record = json.dumps({"id": "a", "text": NEWS, "meta": {"convert": {"script": "simplified"}},
                         "extra": 1}, ensure_ascii=False) + "\n"
    once = zhclean("segment", input=record)
    twice = zhclean("segment", "--pos", input=once.stdout)
    assert twice.stdout == once.stdout
    [out] = once.records
    assert out["meta"]["convert"] == {"script": "simplified"} and out["extra"] == 1
    assert out["meta"]["segment"]["tokens"] == len(out["tokens"])
