import json

import pytest

from zhclean.rules import Rules
from zhclean.stages.convert import ConvertOptions, build

# Short excerpts of real text: Academia Sinica (Taiwan) and CityU (Hong Kong) news, MSR and PKU
# (mainland) news, UD Chinese GSD (Taiwan Wikipedia).
TAIWAN = "爺爺、奶奶級的學員唱起英文歌來字正腔圓，\n有模有樣。\n對他們來說，"
MAINLAND_QIAN = "王丙乾提出巩固和发展环境与资源保护工作新局面"
MAINLAND_DIGITS = "本报北京６月１４日讯新华社记者朱幼棣、本报记者白剑峰报道"


def record(text, title="", **meta):
    return {"id": "r1", "source": "test", "title": title, "text": text, "meta": dict(meta)}


@pytest.fixture(scope="module")
def convert():
    return build(ConvertOptions(), Rules())


def test_traditional_page_becomes_simplified_line_by_line(convert):
    out, rejects = convert(record(TAIWAN, title="學員唱英文歌"))
    assert out["text"] == "爷爷、奶奶级的学员唱起英文歌来字正腔圆，\n有模有样。\n对他们来说，"
    assert out["title"] == "学员唱英文歌"
    assert out["meta"]["convert"] == {"script": "traditional", "config": "tw2s",
                                      "normalized": []}
    assert rejects == []


def test_line_count_never_changes(convert):
    text = "第一行&#10;仍是第一行\r\n\r\n著(zhe)\u2028看著他\n\n\n「引號」\r\n最後"
    out, _ = convert(record(text))
    assert len(out["text"].split("\n")) == len(text.split("\n"))


def test_simplified_news_keeps_every_han_character(convert):
    out, _ = convert(record(MAINLAND_QIAN + "\n" + MAINLAND_DIGITS))
    assert out["text"] == MAINLAND_QIAN + "\n本报北京6月14日讯新华社记者朱幼棣、本报记者白剑峰报道"
    assert out["meta"]["convert"] == {"script": "simplified", "config": None,
                                      "normalized": ["width"]}


def test_simplified_with_corner_quotes_and_taiwan_words_is_not_detected_traditional(convert):
    text = "他说：「用滑鼠点一下就行。」乾隆年间的事"
    out, _ = convert(record(text))
    assert out["text"] == text
    assert out["meta"]["convert"]["script"] == "simplified"


def test_taiwan_particle_and_corner_quotes(convert):
    out, _ = convert(record("他看著我說：「『好』，走吧。」"))
    assert out["text"] == "他看着我说：“‘好’，走吧。”"


def test_keep_quotes():
    convert = build(ConvertOptions(keep_quotes=True), Rules())
    out, _ = convert(record("他說：「好。」"))
    assert out["text"] == "他说：「好。」"


def test_exceptions_keep_qian_in_names(convert):
    out, _ = convert(record("吉林省乾安縣位於松原市，乾隆年間設治；乾坤與乾卦。"))
    assert out["text"] == "吉林省乾安县位于松原市，乾隆年间设治；乾坤与乾卦。"


def test_exceptions_for_taiwan_forms(convert):
    out, _ = convert(record("北極土著民族；牠們只會從仙人掌中吸取養份；他於倫敦病逝。"))
    assert out["text"] == "北极土著民族；它们只会从仙人掌中吸取养份；他于伦敦病逝。"


def test_mixed_page_is_decided_line_by_line(convert):
    text = "這是一則臺灣的新聞報導\n这是一条大陆的新闻报道，王丙乾说\n2024\n著作權與戶籍"
    out, _ = convert(record(text))
    lines = out["text"].split("\n")
    assert lines[0] == "这是一则台湾的新闻报导"
    assert lines[1] == "这是一条大陆的新闻报道，王丙乾说"  # 乾 untouched
    assert lines[2] == "2024"
    assert out["meta"]["convert"]["script"] == "mixed"
    assert out["meta"]["convert"]["lines"] == {"traditional": 2, "simplified": 1,
                                               "non-chinese": 1}


def test_odd_traditional_character_on_a_simplified_line(convert):
    text = "这是一条大陆的新闻报道，记者来自臺灣\n另一条大陆新闻"
    out, _ = convert(record(text))
    assert out["text"] == "这是一条大陆的新闻报道，记者来自台湾\n另一条大陆新闻"


def test_hong_kong_forms_pick_hk2s(convert):
    out, _ = convert(record("衞生署説，市民應留意天氣，著名學者看着報告。"))
    assert out["meta"]["convert"]["config"] == "hk2s"
    assert out["text"] == "卫生署说，市民应留意天气，著名学者看着报告。"


def test_non_chinese(convert):
    out, _ = convert(record("Breaking news &amp; more"))
    assert out["text"] == "Breaking news & more"
    assert out["meta"]["convert"]["script"] == "non-chinese"


def test_pinyin_pasted_after_characters_removed_before_conversion(convert):
    out, _ = convert(record("golang標(biāo)準(zhǔn)庫(kù) net/http實(shí)現(xiàn)原理"))
    assert out["text"] == "golang标准库 net/http实现原理"
    assert out["meta"]["convert"]["normalized"] == ["pinyin"]


def run_cli(zhclean, records, *args):
    stdin = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    result = zhclean("convert", *args, "-", input=stdin)
    assert result.exit_code == 0, result.stderr
    return result.records


def test_cli_config_tw2sp_uses_mainland_words(zhclean):
    [out] = run_cli(zhclean, [{"id": "a", "text": "用滑鼠點選正規表示式"}], "--opencc-config",
                    "tw2sp")
    assert out["text"] == "用鼠标点击正则表达式"
    assert out["meta"]["convert"]["config"] == "tw2sp"


def test_cli_explicit_config_converts_text_without_evidence(zhclean):
    # 演算法 has no character only one script uses; --opencc-config declares the input Traditional
    [out] = run_cli(zhclean, [{"id": "a", "text": "演算法"}], "--opencc-config", "tw2sp")
    assert out["text"] == "算法"


def test_cli_keep_quotes(zhclean):
    [out] = run_cli(zhclean, [{"id": "a", "text": "「魔法」條目"}], "--keep-quotes")
    assert out["text"] == "「魔法」条目"


def test_cli_user_rules_add_and_override_exceptions(zhclean, tmp_path):
    (tmp_path / "convert_exceptions.tsv").write_text(
        "# my exceptions\n乾隆\t干隆\n瞭望臺\t瞭望台\n", encoding="utf-8")
    [out] = run_cli(zhclean, [{"id": "a", "text": "乾隆登上瞭望臺"}], "--rules", tmp_path)
    assert out["text"] == "干隆登上瞭望台"


def test_cli_broken_rule_file_names_file_and_line(zhclean, tmp_path):
    (tmp_path / "convert_exceptions.tsv").write_text("乾隆\t乾隆\t多餘\n", encoding="utf-8")
    result = zhclean("convert", "--rules", tmp_path, "-", input='{"text": "乾隆"}\n')
    assert result.exit_code == 3
    assert "convert_exceptions.tsv:1" in result.stderr


def test_cli_rerun_is_idempotent(zhclean):
    first = run_cli(zhclean, [{"id": "a", "text": "他看著我"}])
    assert run_cli(zhclean, first) == first


@pytest.mark.parametrize("command", ["convert", "run"])
def test_the_old_spelling_of_the_opencc_option_is_refused_with_both_ways(zhclean, command):
    """`run --config my.toml` once failed with "not one of 'auto', 't2s', ..."."""
    result = zhclean(command, "--config", "my.toml", input='{"text": "臺灣"}\n')
    assert result.exit_code == 2
    assert "--opencc-config" in result.stderr and "zhclean --config FILE" in result.stderr
