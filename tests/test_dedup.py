"""Deduplication: planted copies of real articles are found, distinct articles are kept."""
import importlib.util
import json
import re
import sqlite3
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLES, read_jsonl
from zhclean import parallel
from zhclean.dedup import (MAX_NEAR_THRESHOLD, DedupError, DedupFilter, Deduper, DedupOptions,
                           lsh_bands)
from zhclean.runner import Stats, run_stream
from zhclean.writers import BufferWriter, JsonlWriter

ROOT = Path(__file__).resolve().parent.parent


def load_eval():
    spec = importlib.util.spec_from_file_location("eval_dedup", ROOT / "benchmarks/eval_dedup.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EVAL = load_eval()
SEED_ARTICLE = max((line for line in (SAMPLES / "seed_lstm.txt").read_text(encoding="utf-8")
                    .splitlines() if "。" in line), key=len)
# Real text: 500 Wikipedia sentences (UD GSD) and the 46 sentences of the seed page's news article.
SENTENCES = (FIXTURES / "gsd_dev_simplified.txt").read_text(encoding="utf-8").splitlines() + \
    re.findall(r"[^。！？]+[。！？]?", SEED_ARTICLE)
ARTICLES = EVAL.articles_from_lines(SENTENCES, min_chars=200)


def run_deduper(records, db, threshold=0.5):
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("BEGIN")
    dedup = Deduper(conn, DedupOptions(near_threshold=threshold))
    rejects = [r for record in records for r in dedup(dict(record))[1]]
    conn.execute("COMMIT")
    conn.close()
    return rejects


def test_planted_duplicates_are_found_and_distinct_articles_kept(tmp_path):
    records, planted = EVAL.plant_duplicates(ARTICLES, share=0.3)
    half = len(records) // 2  # two runs over one state: half of the copies are found across runs
    rejects = run_deduper(records[:half], tmp_path / "s.db") + \
        run_deduper(records[half:], tmp_path / "s.db")
    s = EVAL.score(records, rejects, planted, threshold=0.5, ngram=5)
    assert s["distinct"] >= 100 and s["planted"] >= 30
    assert s["recall"] >= 0.95, s
    assert s["false_merge_rate"] <= 0.005, s
    assert s["source_duplicates"] == 0  # GSD sentences do not repeat: every merge was planted


def article_record(i, **changes):
    return {"id": f"gsd-{i}", "title": ARTICLES[i][0][:12], "text": "\n".join(ARTICLES[i]),
            **changes}


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


def test_run_rejects_copies_with_the_id_they_duplicate(zhclean, tmp_path):
    edited = "\n".join(ARTICLES[1]).replace("的", "之", 2)
    dropped = "\n".join(ARTICLES[2][1:])
    inputs = write_jsonl(tmp_path / "in.jsonl", [
        article_record(0), article_record(1), article_record(2),
        article_record(0, id="copy-exact", title="另一个标题"),
        article_record(1, id="copy-edited", text=edited),
        article_record(2, id="copy-dropped", text=dropped)])
    r = zhclean("run", inputs, "--dedup", "-o", tmp_path / "out.jsonl", "--stats",
                tmp_path / "stats.json")
    assert r.exit_code == 0, r.stderr
    assert [x["id"] for x in read_jsonl(tmp_path / "out.jsonl")] == ["gsd-0", "gsd-1", "gsd-2"]
    dups = {x["id"]: x for x in read_jsonl(tmp_path / "out.rejects.jsonl")
            if x["stage"] == "dedup"}
    assert dups["copy-exact"]["reason"] == "duplicate"
    assert dups["copy-exact"]["duplicate_of"] == "gsd-0"
    assert dups["copy-edited"]["reason"] == "near_duplicate"
    assert dups["copy-edited"]["duplicate_of"] == "gsd-1"
    assert dups["copy-dropped"]["duplicate_of"] == "gsd-2"
    assert dups["copy-dropped"]["record"]["text"].startswith(ARTICLES[2][1][:10])
    stats = json.loads((tmp_path / "stats.json").read_text())
    assert stats["records_out"] == 3
    assert stats["rejects"]["dedup"] == {"duplicate": 1, "near_duplicate": 2}


def test_without_state_or_flag_nothing_is_deduplicated(zhclean, tmp_path):
    inputs = write_jsonl(tmp_path / "in.jsonl", [article_record(0), article_record(0, id="b")])
    r = zhclean("run", inputs)
    assert [x["id"] for x in r.records] == ["gsd-0", "b"]


def test_threshold_one_keeps_near_copies(zhclean, tmp_path):
    edited = "\n".join(ARTICLES[1]).replace("的", "之", 2)
    inputs = write_jsonl(tmp_path / "in.jsonl", [article_record(1),
                                                 article_record(1, id="b", text=edited)])
    r = zhclean("run", inputs, "--dedup", "--near-dup-threshold", "1")
    assert [x["id"] for x in r.records] == ["gsd-1", "b"]


@pytest.mark.parametrize("args,message", [
    (["--no-dedup"], "has no effect where dedup is off (--no-dedup)"),
    (["--state", "s.db", "--no-dedup"], "has no effect where dedup is off (--no-dedup)"),
    ([], "--near-dup-threshold has no effect without --state or --dedup")])
def test_a_threshold_where_dedup_is_off_is_refused(zhclean, tmp_path, monkeypatch, args,
                                                   message):
    monkeypatch.chdir(tmp_path)
    inputs = write_jsonl(tmp_path / "in.jsonl", [article_record(0)])
    r = zhclean("run", inputs, *args, "--near-dup-threshold", "0.7")
    assert r.exit_code == 2 and message in r.stderr
    assert not (tmp_path / "s.db").exists()


def test_a_threshold_by_default_or_from_the_file_is_left_unused(zhclean, tmp_path):
    """Only a threshold typed on the command line asks for dedup: --no-dedup overrides the
    file's, as a flag overrides the file."""
    inputs = write_jsonl(tmp_path / "in.jsonl", [article_record(0), article_record(0, id="b")])
    (tmp_path / "c.toml").write_text("[run]\nnear-dup-threshold = 0.7\n", encoding="utf-8")
    for args in (["run", "--no-dedup"], ["--config", tmp_path / "c.toml", "run", "--no-dedup"],
                 ["--config", tmp_path / "c.toml", "run"]):
        r = zhclean(*args, inputs)
        assert r.exit_code == 0, (args, r.stderr)
        assert [x["id"] for x in r.records] == ["gsd-0", "b"]


def test_jobs_give_the_same_decisions(zhclean, tmp_path, monkeypatch):
    """Workers send despam's rejects and the parent adds dedup's: the rejects file still comes
    out in the order of one process."""
    records, _ = EVAL.plant_duplicates(ARTICLES[:40], share=0.5)
    for record in records:  # page chrome around every article, for despam to drop
        record["text"] = f"首页 > 新闻中心 > 正文\n{record['text']}\n相关文章\n责任编辑：王小明"
    inputs = write_jsonl(tmp_path / "in.jsonl", records)
    one = zhclean("run", inputs, "--dedup", "--jobs", "1", "--rejects", tmp_path / "r1.jsonl")
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4000)  # several chunks, so the pool is used
    two = zhclean("run", inputs, "--dedup", "--jobs", "2", "--rejects", tmp_path / "r2.jsonl")
    assert one.exit_code == two.exit_code == 0
    assert one.stdout == two.stdout
    assert (tmp_path / "r1.jsonl").read_bytes() == (tmp_path / "r2.jsonl").read_bytes()
    rejects = read_jsonl(tmp_path / "r1.jsonl")
    assert sum(x["stage"] == "dedup" for x in rejects) == 20
    assert sum(x["stage"] == "despam" for x in rejects) >= 40


def test_an_index_built_with_other_parameters_is_refused(tmp_path):
    run_deduper([], tmp_path / "s.db")
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    with pytest.raises(DedupError, match="ngram=5 \\(now 4\\)"):
        Deduper(conn, DedupOptions(ngram=4))


@pytest.mark.parametrize("then", [0.8, 1.0])
def test_an_index_banded_for_another_threshold_is_refused(tmp_path, then):
    """Band keys cut for 0.5 never match those cut for 0.8, and a threshold-1 run stores no
    signatures: either way near copies of earlier runs would silently go unfound."""
    run_deduper([article_record(0)], tmp_path / "s.db", threshold=0.5)
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    with pytest.raises(DedupError, match="near_dup_bands_x_rows="):
        Deduper(conn, DedupOptions(near_threshold=then))
    assert lsh_bands(0.5) == lsh_bands(0.51)  # the same bands: the index is still usable
    Deduper(conn, DedupOptions(near_threshold=0.51))


def test_the_cli_refuses_a_state_banded_for_another_threshold(zhclean, tmp_path):
    edited = "\n".join(ARTICLES[1]).replace("的", "之", 2)
    first = write_jsonl(tmp_path / "a.jsonl", [article_record(1)])
    second = write_jsonl(tmp_path / "b.jsonl", [article_record(1, id="b", text=edited)])
    state = tmp_path / "s.db"
    assert zhclean("run", first, "--state", state, "-o", tmp_path / "a.out.jsonl").exit_code == 0
    r = zhclean("run", second, "--state", state, "--near-dup-threshold", "0.8",
                "-o", tmp_path / "b.out.jsonl")
    assert r.exit_code == 3
    assert "near_dup_bands_x_rows" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "b.out.jsonl").exists()


def test_the_highest_threshold_datasketch_can_band_is_the_limit(zhclean, tmp_path):
    bands, rows = lsh_bands(MAX_NEAR_THRESHOLD)
    assert bands >= 2 and bands * rows <= 128
    with pytest.raises(ValueError, match="bands"):  # datasketch: "too small"
        lsh_bands(0.99)
    inputs = write_jsonl(tmp_path / "in.jsonl", [article_record(0)])
    for threshold in (0.99, 0.985):
        r = zhclean("run", inputs, "--dedup", "--near-dup-threshold", threshold)
        assert r.exit_code == 2
        assert f"0 < T <= {MAX_NEAR_THRESHOLD}" in r.stderr and "Traceback" not in r.stderr
    r = zhclean("run", inputs, "--dedup", "--near-dup-threshold", MAX_NEAR_THRESHOLD)
    assert r.exit_code == 0 and len(r.records) == 1
    assert f"0 < T <= {MAX_NEAR_THRESHOLD}" in " ".join(zhclean("run", "--help").stdout.split())


def test_a_record_that_cannot_be_written_is_not_indexed(tmp_path):
    # Otherwise its writable copy would go as its duplicate, where --jobs N (whose workers
    # serialise first) keeps it.
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)
    conn.execute("BEGIN")
    stats, rejects, errors = Stats(), BufferWriter(), []
    unwritable = article_record(0, meta={"score": float("nan")})
    with JsonlWriter(str(tmp_path / "out.jsonl")) as out:
        sink = DedupFilter(Deduper(conn, DedupOptions(near_threshold=0.5)), out, rejects, stats)
        run_stream([unwritable, article_record(0)], [], sink, rejects, stats, errors.append)
    assert [r["reason"] for r in errors] == ["unwritable"]
    assert [r["id"] for r in read_jsonl(tmp_path / "out.jsonl")] == ["gsd-0"]
    assert stats.records_out == 1
