"""`run --engine ray` on a local Ray instance gives the records of the local engine."""
import json
import lzma
import shutil

import pytest

from conftest import SAMPLES, read_jsonl

ray = pytest.importorskip("ray")


@pytest.fixture(scope="module")
def local_ray():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture
def shards(tmp_path):
    """JSONL shards: plain, gzip and xz-compressed, and one with a broken line."""
    folder = tmp_path / "shards"
    folder.mkdir()
    shutil.copy(SAMPLES / "batch.jsonl", folder / "a.jsonl")
    shutil.copy(SAMPLES / "archive.jsonl.gz", folder / "b.jsonl.gz")
    seed = (SAMPLES / "seed_lstm.txt").read_text(encoding="utf-8")
    (folder / "c.jsonl").write_text(
        json.dumps({"text": seed}, ensure_ascii=False) + "\n{broken\n", encoding="utf-8")
    (folder / "d.jsonl.xz").write_bytes(lzma.compress((SAMPLES / "batch.jsonl").read_bytes()))
    return folder


def test_ray_gives_the_records_of_the_local_engine(zhclean, local_ray, shards, tmp_path):
    local_rejects = tmp_path / "local.rejects.jsonl"
    local = zhclean("run", shards, "--jobs", 1, "--rejects", local_rejects, "-v")
    out, rejects = tmp_path / "out", tmp_path / "rejects"
    result = zhclean("run", "--engine", "ray", shards, "-o", out, "--rejects", rejects, "-v")
    assert result.exit_code == local.exit_code == 1  # the broken line is an input error
    summary = [line for line in result.stderr.splitlines() if "records in" in line]
    assert summary == [line for line in local.stderr.splitlines() if "records in" in line]
    assert len(summary) == 1

    assert sorted(p.name for p in out.iterdir()) == ["00000-a.jsonl", "00001-b.jsonl",
                                                     "00002-c.jsonl", "00003-d.jsonl"]
    on_ray = [r for p in sorted(out.iterdir()) for r in read_jsonl(p)]
    assert on_ray == local.records
    assert len(on_ray) >= 4
    dropped = [r for p in sorted(rejects.iterdir()) for r in read_jsonl(p)]
    assert dropped == read_jsonl(local_rejects)
    assert any(r["reason"] == "malformed_json" for r in dropped)


def test_ray_needs_an_output_directory(zhclean, shards):
    result = zhclean("run", "--engine", "ray", shards)
    assert result.exit_code == 2
    assert "-o DIR" in result.stderr


def test_a_truncated_shard_is_reported_and_the_others_come_out(zhclean, local_ray, shards,
                                                                 tmp_path):
    """A truncated .gz and a truncated .xz among good shards: reported (file: reason), counted
    (exit status 1), their records before the break kept, every good shard's records out."""
    batch = (SAMPLES / "batch.jsonl").read_bytes()
    gz = (SAMPLES / "archive.jsonl.gz").read_bytes()
    (shards / "e.jsonl.gz").write_bytes(gz[: len(gz) // 2])
    xz = lzma.compress(batch)
    (shards / "f.jsonl.xz").write_bytes(xz[: len(xz) * 2 // 3])
    local = zhclean("run", shards, "--jobs", 1, "--stats", tmp_path / "local.json")
    out = tmp_path / "out"
    result = zhclean("run", "--engine", "ray", shards, "-o", out, "--stats", tmp_path / "ray.json")
    assert result.exit_code == local.exit_code == 1
    for name in ("e.jsonl.gz", "f.jsonl.xz"):
        assert f"{shards / name}: unreadable" in result.stderr
    assert "Traceback" not in result.stderr
    on_ray = [r for p in sorted(out.iterdir()) for r in read_jsonl(p)]
    assert on_ray == local.records
    good = [r for p in sorted(out.iterdir())[:4] for r in read_jsonl(p)]
    assert len(good) >= 4 and {r["source"] for r in good} == {
        str(shards / n) for n in ("a.jsonl", "b.jsonl.gz", "c.jsonl", "d.jsonl.xz")}
    rejects = [r for p in sorted((tmp_path / "out.rejects").iterdir()) for r in read_jsonl(p)]
    assert sorted(r["source"] for r in rejects if r["reason"] == "unreadable") == [
        str(shards / "e.jsonl.gz"), str(shards / "f.jsonl.xz")]

    stats = json.loads((tmp_path / "ray.json").read_text())
    local_stats = json.loads((tmp_path / "local.json").read_text())
    for key in ("records_in", "records_out", "input_errors", "rejects", "inputs_read", "bytes_in"):
        assert stats[key] == local_stats[key], key
    assert stats["inputs_read"] == 6 and stats["input_errors"] >= 3


@pytest.mark.parametrize("existing, flags", [("out", ["--rejects", "rejects"]),
                                             ("rejects", ["--rejects", "rejects"]),
                                             ("out.rejects", [])])
def test_an_existing_shard_directory_is_a_usage_error(zhclean, shards, tmp_path, monkeypatch,
                                                      existing, flags):
    """Refused before Ray starts, naming the directory; nothing is created, so a rerun works."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / existing).mkdir()
    result = zhclean("run", "--engine", "ray", shards, "-o", "out", *flags)
    assert result.exit_code == 2
    assert f"'{existing}'" in result.stderr or f"{existing} exists" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["shards", existing])
