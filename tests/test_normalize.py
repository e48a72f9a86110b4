import pytest

from zhclean.stages.normalize import (collapse_spaces, decode_entities, halfwidth_alnum, nfc,
                                       normalize, remove_invisible, remove_pinyin,
                                       repair_mojibake)

# Excerpts of real scraped pages (a Taiwan tech blog with pinyin pasted after the characters).
PINYIN_PAGE = "golang標(biāo)準(zhǔn)庫(kù) net/http實(shí)現(xiàn)原理"
PINYIN_REQUEST = "根據(jù)用戶的入參,處理這個(gè)請(qǐng)求。"


def test_pinyin_after_han_removed():
    assert remove_pinyin(PINYIN_PAGE) == "golang標準庫 net/http實現原理"
    assert remove_pinyin(PINYIN_REQUEST) == "根據用戶的入參,處理這個請求。"


def test_pinyin_in_fullwidth_brackets_removed():
    assert remove_pinyin("標（biāo）準（zhǔn）") == "標準"


def test_brackets_that_are_not_toned_pinyin_after_han_stay():
    # English, untoned syllables, code, mojibake, and two syllables in one bracket (a gloss
    # someone wrote, not one pasted per character)
    for text in ("理解“表格(Table)”這種", "人工智能(AI)“真正", "的(de)", "emit(c);",
                 "??⒉┻M(jìn)行內", "因?yàn)樗?Unicode", "法國(Fàguó)"):
        assert remove_pinyin(text) == text


def test_fullwidth_letters_and_digits_halfwidth_chinese_punctuation_stays():
    text = "本报北京６月１４日讯，ＡＰＥＣ会议。！？、；：「」（）"
    assert halfwidth_alnum(text) == "本报北京6月14日讯，APEC会议。！？、；：「」（）"


def test_invisible_and_control_characters_removed_but_never_newline():
    text = "\ufeff新聞\u200b標題\r\n第二\x00行\u200d\r\n\n最後\x07一行\r"
    assert remove_invisible(text) == "新聞標題\n第二行\n\n最後一行"


def test_lone_carriage_return_becomes_a_space_not_a_line():
    assert remove_invisible("上半句\r下半句") == "上半句 下半句"


def test_entities_decoded_without_adding_lines():
    assert decode_entities("張三&amp;李四&nbsp;說&#21644;&#x597D;&lt;b&gt;") == \
        "張三&李四\u00a0說和好<b>"
    assert decode_entities("第一行&#10;仍是第一行") == "第一行 仍是第一行"
    assert decode_entities("AT&T 與 R&D") == "AT&T 與 R&D"


def test_space_runs_collapsed():
    assert collapse_spaces("香港  新聞\t\t報道\u00a0\u00a0今日") == "香港 新聞 報道 今日"
    assert collapse_spaces("　　全角空格縮進保留") == "　　全角空格縮進保留"


def test_nfc_maps_compatibility_ideographs():
    assert nfc("\uf900") == "\u8c48"
    assert nfc("cafe\u0301") == "café"


def test_normalize_names_the_steps_it_applied_and_keeps_lines():
    text = "標(biāo)準(zhǔn)&amp;ＡＢＣ\u200b  庫\r\n\n第三行"
    applied: set[str] = set()
    out = normalize(text, applied)
    assert out == "標準&ABC 庫\n\n第三行"
    assert applied == {"entities", "invisible", "width", "spaces", "pinyin"}
    assert out.count("\n") == text.count("\n")


def test_characters_an_entity_decodes_to_are_normalised_too():
    applied: set[str] = set()
    assert normalize("&#65313;&#8203;&#65297;號", applied) == "A1號"
    assert applied == {"entities", "invisible", "width"}


def test_clean_text_is_returned_unchanged():
    applied: set[str] = set()
    text = "王丙乾提出巩固和发展环境与资源保护工作新局面"
    assert normalize(text, applied) is text
    assert applied == set()


# Mojibake: the UTF-8 bytes of 正因为完全依赖于游戏 read as GBK, and its GBK bytes read as Latin-1.
UTF8_AS_GBK = "姝ｅ洜涓哄畬鍏ㄤ緷璧栦簬娓告垙"
GBK_AS_LATIN1 = "ÕýÒòÎªÍêÈ«ÒÀÀµÓÚÓÎÏ·"


def test_mojibake_is_repaired_where_its_bytes_are_recovered_exactly():
    assert repair_mojibake(UTF8_AS_GBK) == "正因为完全依赖于游戏"
    assert repair_mojibake(GBK_AS_LATIN1) == "正因为完全依赖于游戏"
    # A fragment inside a paragraph, one line of several; 0x80 as Windows reads it (涓€ is 一)
    text = f"他说：“{UTF8_AS_GBK}。”\n第二行\n浣滆€咃綔璧靛仴"
    assert repair_mojibake(text) == "他说：“正因为完全依赖于游戏。”\n第二行\n作者｜赵健"
    applied = set()
    assert normalize(GBK_AS_LATIN1, applied) == "正因为完全依赖于游戏" and applied == {"mojibake"}


def test_a_line_whose_bytes_were_partly_lost_is_left_for_despam_to_drop():
    # A page's own misreading (benchmarks/data/pages 6013): bytes of 基础软件 and 数据 are gone,
    # so half the line could be repaired and half could not; it stays whole mojibake.
    line = "浣滀负涓夊ぇ鍩虹杞欢涔嬩竴锛屽浗浜ф暟鎹簱涓€鐩存槸澶囧彈鍏虫敞鐨勯鍩熴€"
    assert repair_mojibake(line) == line


# Big5 read as Latin-1: some second bytes are ASCII (許 is B3 5C, "³\\"), so the runs break.
BIG5_TEXT = "中華民國總統府今日發布新聞稿，許多民眾關注功課"
BIG5_AS_LATIN1 = BIG5_TEXT.encode("big5").decode("latin-1")


def test_big5_read_as_latin1_is_repaired_and_told_from_gbk():
    assert repair_mojibake(BIG5_AS_LATIN1) == BIG5_TEXT
    # The same line's GBK bytes read as Latin-1 come back as GBK (GBK holds these characters too)
    assert repair_mojibake(BIG5_TEXT.encode("gbk").decode("latin-1")) == BIG5_TEXT
    text = f"第一行\n{BIG5_AS_LATIN1}"
    assert repair_mojibake(text) == f"第一行\n{BIG5_TEXT}"


@pytest.mark.parametrize("lost", [0, 8, 20, 29])
def test_big5_or_gbk_that_lost_a_byte_stays_for_despam_to_drop(lost):
    # A lost byte shifts the pairs: the codec reads rare characters up to the next ASCII second
    # byte, which it leaves as a letter or mark. In Big5, 0, 8 and 20 are the first bytes of 中,
    # 總 (C1 60, "`") and 布 (A5 AC), 29 the second byte of ，(A1 41, "A").
    for codec in ("big5", "gbk"):
        data = BIG5_TEXT.encode(codec)
        line = (data[:lost] + data[lost + 1:]).decode("latin-1")
        assert repair_mojibake(line) == line


@pytest.mark.parametrize("text, lost", [("好言相勸，", "，"), ("發言為詩。", None)])
def test_utf8_read_as_gbk_that_lost_bytes_stays_for_despam_to_drop(text, lost):
    # (SIGHAN 2005 AS) A reader that replaces what it cannot decode, or a byte lost before it:
    # the characters before the loss come back, what is left of the last one would stay glued to
    # them (好言相勸紝, 發言為詩銆�) and pass for text.
    data = text.encode("utf-8")
    if lost:
        cut = data.index(lost.encode("utf-8"))
        data = data[:cut] + data[cut + 1:]
    line = data.decode("gbk", errors="replace")
    assert repair_mojibake(line) == line


def test_text_that_only_looks_like_mojibake_stays():
    # Traditional text with characters from the GBK rows UTF-8 lead bytes fall in (錄), German
    # letters, marks repeated for a censored name, a separator of middle dots, French.
    for text in ("紀錄片與錄音", "ÄÖÜß", "××××公司", "····", "Café Élysée", "……——",
                 "因?yàn)樗?Unicode", "¯¯¯¯¯¯¯¯", "¤¤¤¤¤¤"):
        assert repair_mojibake(text) == text
    # Short Big5 read as Latin-1 that GBK reads as other common characters (跟著唱 as 蛤帝佰):
    # no clear reading, so no repair
    for text in ("跟著唱", "證實國", "教授等等"):
        garbled = text.encode("big5").decode("latin-1")
        assert repair_mojibake(garbled) == garbled
