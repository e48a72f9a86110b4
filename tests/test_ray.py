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
