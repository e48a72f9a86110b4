"""The command line as users drive it: the golden seed page, the stage chain, shell and cron manners."""
import bz2
import gzip
import json
import lzma
import os
import re
import subprocess
import sys
import threading

import pytest
import zstandard

from conftest import SAMPLES, read_jsonl
from zhclean import writers
from zhclean.cli import Progress
from zhclean.runner import Stats
from zhclean.writers import JsonlWriter

SEED = SAMPLES / "seed_lstm.txt"
SEED_TITLE = "LSTM之父:我也是注意力之父!1991年就发表线性复杂度,遥遥领先Transformer 26年"


def test_seed_page_comes_out_as_title_and_body_in_simplified(zhclean, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = zhclean("run", SEED, "--rejects", rejects)
    assert result.exit_code == 0, result.stderr
    [record] = result.records
    assert record["title"] == SEED_TITLE
    lines = record["text"].split("\n")
    assert lines[0] == SEED_TITLE
    [body] = lines[1:]
    original_body = SEED.read_text(encoding="utf-8").split("\n")[7]
    assert body.startswith("新智元报道编辑:LRS【新智元导读】Transformer模型自2017年问世以来")
    assert len(body) >= 0.98 * len(original_body)  # the whole article, not a fragment
    for traditional in ("發表", "學界", "機制", "長短期記憶"):
        assert traditional not in record["text"]
    for noise in ("无码", "午夜", "<span", "| ", "阅读原文", "版权声明", "暂无评论", "431 0 0"):
        assert noise not in record["text"]
    assert record["tokens"] and "Transformer" in record["tokens"]

    dropped = read_jsonl(rejects)
    line_rejects = {r["line"]: r for r in dropped if r.get("line") is not None}
    n_lines = len(SEED.read_text(encoding="utf-8").split("\n"))
    # Every input line is in the output or in the rejects, with a reason.
    assert sorted([*line_rejects, 2, 7]) == list(range(n_lines))
    assert line_rejects[0]["reason"] == "spam_title"
    assert line_rejects[20]["reason"] == "spam_title"
    assert line_rejects[24]["reason"] == "spam_title" and line_rejects[24]["text"].count("|") > 300
    assert line_rejects[21]["reason"] == "html" and line_rejects[22]["reason"] == "html"
    assert line_rejects[9]["reason"] == "boilerplate" and line_rejects[5]["reason"] == "boilerplate"
    assert line_rejects[1]["reason"] == "blank"
    assert all(r["stage"] and r["source"] == str(SEED) for r in dropped)


def _chain(zhclean, paths, tmp_path):
    data = zhclean("read", *paths).stdout.encode("utf-8")
    for stage in ("convert", "despam", "segment"):
        result = zhclean(stage, input=data)
        assert result.exit_code == 0, result.stderr
        data = result.stdout.encode("utf-8")
    return data


def test_stage_chain_equals_run(zhclean, tmp_path):
    chained = _chain(zhclean, [SAMPLES], tmp_path)
    fused = zhclean("run", SAMPLES).stdout.encode("utf-8")
    assert chained == fused
    assert len(fused.splitlines()) >= 8


@pytest.mark.parametrize("stage", ["convert", "despam", "segment"])
def test_running_a_stage_twice_equals_once(zhclean, stage):
    records = zhclean("read", SAMPLES).stdout.encode("utf-8")
    once = zhclean(stage, "-", input=records).stdout
    twice = zhclean(stage, input=once.encode("utf-8")).stdout
    assert once == twice and once


def test_stage_commands_read_files_too(zhclean, tmp_path):
    records = tmp_path / "records.jsonl"
    zhclean("read", SAMPLES / "batch.jsonl", "-o", records)
    from_file = zhclean("convert", records).stdout
    from_stdin = zhclean("convert", input=records.read_bytes()).stdout
    assert from_file == from_stdin and "将军澳线全线通车" in from_file


def test_output_file_and_default_rejects_beside_it(zhclean, tmp_path):
    out = tmp_path / "clean.jsonl"
    result = zhclean("run", SAMPLES / "batch.jsonl", "-o", out)
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""
    assert [r["id"] for r in read_jsonl(out)] == ["hk-0059", "cn-0063", "tw-0016"]
    rejects = read_jsonl(tmp_path / "clean.rejects.jsonl")
    whole = [r for r in rejects if "record" in r]
    assert [r["id"] for r in whole] == ["spam-0001"]  # a page that is nothing but spam
    assert sorted(os.listdir(tmp_path)) == ["clean.jsonl", "clean.rejects.jsonl"]


def test_failed_write_leaves_no_file_behind(tmp_path):
    target = tmp_path / "out.jsonl"
    with pytest.raises(RuntimeError):
        with JsonlWriter(str(target)) as out:
            out.write({"id": "1", "text": "半写"})
            raise RuntimeError("killed mid-run")
    assert os.listdir(tmp_path) == []


def test_a_stop_while_the_file_is_opened_leaves_no_file_behind(tmp_path, monkeypatch):
    """A signal can end a run inside __enter__, after the temporary file is made (cron's SIGTERM
    while the rejects file opens); __exit__ does not run then."""
    def stopped(file, name):
        raise KeyboardInterrupt

    monkeypatch.setattr(writers, "compressing", stopped)
    with pytest.raises(KeyboardInterrupt):
        with JsonlWriter(str(tmp_path / "out.jsonl.gz")):
            pass
    assert os.listdir(tmp_path) == []


def test_rerun_replaces_the_output_whole(zhclean, tmp_path):
    out = tmp_path / "clean.jsonl"
    zhclean("run", SAMPLES / "batch.jsonl", "-o", out)
    first = out.read_bytes()
    zhclean("run", SAMPLES / "batch.jsonl", "-o", out)
    assert out.read_bytes() == first


def test_broken_rule_file_names_file_and_line(zhclean, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "boilerplate.txt").write_text("# mine\n^(unclosed\n", encoding="utf-8")
    result = zhclean("despam", "--rules", rules, input=b'{"text": "x"}\n')
    assert result.exit_code == 3
    assert f"{rules / 'boilerplate.txt'}:2" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("text,message", [
    ('[spam]\nmin_score = "high"\n', "spam.min_score must be a number, found 'high'"),
    ("[spam]\nmin_scor = 2\n", "unknown key 'spam.min_scor'"),
    ("[nonsense]\nx = 1\n", "unknown key 'nonsense'"),
    ("spam = 1\n", "spam must be a table")])
def test_a_threshold_file_is_checked_against_the_shipped_one(zhclean, tmp_path, text, message):
    """A typo in a user's despam.toml must not silently leave the shipped value in force."""
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "despam.toml").write_text(text, encoding="utf-8")
    result = zhclean("run", "--rules", rules, SAMPLES / "batch.jsonl")
    assert result.exit_code == 3
    assert f"{rules / 'despam.toml'}: {message}" in result.stderr


def test_a_threshold_file_overrides_single_keys(zhclean, tmp_path):
    rules = tmp_path / "rules"
    rules.mkdir()
    # Saved with a BOM, as editors on Windows do; no title is short enough to be taken.
    (rules / "despam.toml").write_bytes("\ufeff[title]\nmax_chars = 1\n".encode("utf-8"))
    records = zhclean("run", "--rules", rules, SAMPLES / "seed_lstm.txt").records
    assert records[0]["title"] == "" and records[0]["text"]


@pytest.mark.parametrize("args,message", [
    (["-o", "same.jsonl", "--rejects", "same.jsonl"],
     "--rejects same.jsonl is the same file as -o same.jsonl"),
    (["-o", "out.jsonl", "--state", "out.jsonl"], "--state out.jsonl is the same file as -o"),
    (["-o", "out.jsonl", "--stats", "out.rejects.jsonl"],  # the default rejects file
     "--stats out.rejects.jsonl is the same file as --rejects out.rejects.jsonl"),
    (["-o", "in.jsonl"], "-o in.jsonl is the same file as input"),
    (["--rejects", "-"], "--rejects - needs -o FILE")])
def test_outputs_that_would_overwrite_each_other_or_an_input_are_refused(
        zhclean, tmp_path, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "in.jsonl").write_bytes((SAMPLES / "batch.jsonl").read_bytes())
    result = zhclean("run", "in.jsonl", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert (tmp_path / "in.jsonl").read_bytes() == (SAMPLES / "batch.jsonl").read_bytes()


@pytest.mark.parametrize("args,message", [
    (["-q", "-v"], "-q (only errors) and -v (a summary) do not go together"),
    (["--address", "auto"], "--address names a Ray cluster: it needs --engine ray")])
def test_options_that_contradict_each_other_are_refused(zhclean, args, message):
    result = zhclean("run", SAMPLES / "batch.jsonl", *args)
    assert result.exit_code == 2 and message in result.stderr


def test_explain_with_output_options_is_refused(zhclean, tmp_path):
    result = zhclean("despam", "--explain", "-o", tmp_path / "x.jsonl", SAMPLES / "batch.jsonl")
    assert result.exit_code == 2 and "--explain prints its report on stdout: -o" in result.stderr


@pytest.mark.parametrize("suffix,decompress", [
    (".gz", gzip.decompress), (".bz2", bz2.decompress), (".xz", lzma.decompress),
    (".zst", lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b))])
def test_an_output_named_compressed_is_compressed(zhclean, tmp_path, suffix, decompress):
    zhclean("run", SAMPLES, "-o", tmp_path / "plain.jsonl")
    for name in ("a", "b"):
        assert zhclean("run", SAMPLES, "-o", tmp_path / f"{name}.jsonl{suffix}").exit_code == 0
    for kind in ("", ".rejects"):
        packed = (tmp_path / f"a{kind}.jsonl{suffix}").read_bytes()
        assert decompress(packed) == (tmp_path / f"plain{kind}.jsonl").read_bytes()
        assert packed == (tmp_path / f"b{kind}.jsonl{suffix}").read_bytes()  # same bytes again


def test_output_through_a_symlink_keeps_the_link(zhclean, tmp_path):
    (tmp_path / "link.jsonl").symlink_to("target.jsonl")
    assert zhclean("run", SAMPLES / "batch.jsonl", "-o", tmp_path / "link.jsonl").exit_code == 0
    assert (tmp_path / "link.jsonl").is_symlink()
    assert len(read_jsonl(tmp_path / "target.jsonl")) == 3


@pytest.mark.parametrize("state", [False, True])
def test_output_to_a_fifo_is_written_not_replaced(tmp_path, state):
    """-o /dev/stdout, --rejects /dev/stderr, a FIFO: not regular files, so written directly."""
    fifo = tmp_path / "records"
    os.mkfifo(fifo)
    args = [sys.executable, "-m", "zhclean", "run", str(SAMPLES / "batch.jsonl"), "-o", str(fifo)]
    run = subprocess.Popen(args + (["--state", str(tmp_path / "s.db")] if state else []),
                           cwd=tmp_path, stderr=subprocess.PIPE)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()
    assert run.wait(timeout=60) == 0, run.stderr.read()
    reader.join(timeout=10)
    if reader.is_alive():  # the run never opened the FIFO: let the reader go
        os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
    assert fifo.is_fifo() and len(received[0].splitlines()) == 3
    assert not list(tmp_path.glob(".*"))  # no temporary or staged file left


def test_a_closed_stdout_is_an_output_error(tmp_path):
    proc = subprocess.run(f"{sys.executable} -m zhclean read {SAMPLES / 'batch.jsonl'} >&-",
                          shell=True, capture_output=True, cwd=tmp_path)
    assert proc.returncode == 5 and b"standard output is closed" in proc.stderr


def _big_jsonl(tmp_path, n=3000):
    path = tmp_path / "big.jsonl"
    line = (SAMPLES / "batch.jsonl").read_text(encoding="utf-8").splitlines()[0]
    path.write_text("\n".join([line] * n) + "\n", encoding="utf-8")
    return path


def test_head_ends_quietly(tmp_path):
    big = _big_jsonl(tmp_path)
    proc = subprocess.run(
        f"{sys.executable} -m zhclean run {big} | head -n 1",
        shell=True, capture_output=True, cwd=tmp_path, executable="/bin/bash")
    assert proc.stderr == b""
    assert json.loads(proc.stdout)["id"] == "hk-0059"
    status = subprocess.run(
        f"set -o pipefail; {sys.executable} -m zhclean run {big} | head -n 1 >/dev/null",
        shell=True, capture_output=True, cwd=tmp_path, executable="/bin/bash")
    assert status.returncode == 0 and status.stderr == b""


def test_explain_into_head_ends_quietly(tmp_path):
    big = _big_jsonl(tmp_path, 300)
    status = subprocess.run(
        f"set -o pipefail; {sys.executable} -m zhclean explain {big} | head -n 1 >/dev/null",
        shell=True, capture_output=True, cwd=tmp_path, executable="/bin/bash")
    assert status.returncode == 0 and status.stderr == b""


def test_help_lists_every_stage(zhclean):
    out = zhclean("--help").stdout
    for command in ("read", "convert", "despam", "segment", "run"):
        assert command in out


def test_run_keep_script_gives_traditional_text_and_tokens(zhclean):
    [plain] = zhclean("run", SAMPLES / "big5_wallstreet.txt").records
    [kept] = zhclean("run", SAMPLES / "big5_wallstreet.txt", "--keep-script").records
    assert "华尔街" in plain["tokens"] and "美国" in plain["tokens"]
    assert "華爾街" in kept["tokens"] and "美國" in kept["tokens"]
    assert kept["text"].startswith("華爾街") and kept["meta"]["convert"]["config"] is None
    # The same boundaries, in the original characters.
    assert len(kept["tokens"]) == len(plain["tokens"])


def test_progress_line_reads_bytes_share_speed_and_time_left():
    stats = Stats(records_in=1234, records_out=1200, bytes_in=100_000_000)
    progress = Progress(stats)
    progress(25_000_000)
    assert progress.line(5.0) == ("zhclean: 25.0 MB of 100.0 MB (25%), 5.0 MB/s, 0:00:15 left; "
                                  "1,234 records in, 1,200 out")
    # stdin: no size, no bytes counted
    assert Progress(Stats(records_in=3)).line(5.0) == "zhclean: 3 records in, 0 out"


def test_a_person_at_a_terminal_sees_progress_and_the_outcome_and_a_pipe_sees_neither(tmp_path):
    primary, secondary = os.openpty()  # stderr a terminal, stdout a file: as `zhclean run ... -o`
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": \n', encoding="utf-8")
    args = [sys.executable, "-m", "zhclean", "run", str(SAMPLES), str(bad),
            "-o", str(tmp_path / "o.jsonl")]
    proc = subprocess.run(args, stderr=secondary, stdin=subprocess.DEVNULL, timeout=120)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(primary, 65536)
        except OSError:  # the terminal's other end closed: all read
            break
        if not chunk:
            break
        shown += chunk
    os.close(primary)
    assert proc.returncode == 1
    assert b"MB of" in shown and b"MB/s" in shown
    # An error erases the progress line rather than running into it.
    assert b"\r\x1b[Kzhclean: " + str(bad).encode() + b":1: malformed json" in shown
    assert re.search(rb"zhclean: \d+ records in, \d+ out, 1 input errors; rejects: ", shown)
    piped = subprocess.run(args, capture_output=True, timeout=120)
    assert piped.returncode == 1
    assert piped.stderr.decode() == f"zhclean: {bad}:1: malformed json: " \
        "Expecting value at column 10\n"


def test_a_short_game_article_in_a_hijacked_frame_keeps_every_line(zhclean):
    # samples/hijacked_page.html: five lines about a video game (玩家, 平台, 游戏: a doorway page's
    # words too) between a spam header and a link farm; a model that let the page's words decide
    # every line once dropped it whole.
    result = zhclean("run", SAMPLES / "hijacked_page.html")
    assert result.exit_code == 0, result.stderr
    [record] = result.records
    text = record["text"]
    for line in ("《勇者斗恶龙》的史莱姆", "史莱姆是由鸟山明为《勇者斗恶龙》设计的", "玩家将会和随机遇到的敌人作战",
                 "四百万日本人可能错了"):
        assert line in text
    assert "免费" not in text and "431 0 0" not in text
