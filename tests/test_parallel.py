"""`run --jobs N`: workers give the bytes of one process, in input order, and stop cleanly."""
import gzip
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import SAMPLES, read_jsonl
from zhclean import parallel

SEED = SAMPLES / "seed_lstm.txt"
BATCH = read_jsonl(SAMPLES / "batch.jsonl")  # Hong Kong, Taiwan and Simplified news, and spam


def _mixed_jsonl(path, copies: int) -> None:
    """The seed page, Traditional and Simplified news, records without an id (their id comes from
    the line number), a blank line and a broken one (input errors are counted and reported)."""
    seed = SEED.read_text(encoding="utf-8")
    lines = []
    for i in range(copies):
        lines.append(json.dumps({"id": f"seed-{i}", "text": seed, "url": f"u{i}"},
                                ensure_ascii=False))
        for n, record in enumerate(BATCH):
            copy = {"text": record["text"]} if n % 2 else {**record, "id": i * 100 + n}
            lines.append(json.dumps(copy, ensure_ascii=False))
        lines.append("")
        if i % 7 == 3:
            lines.append('{"id": "broken", "text": ')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture
def inputs(tmp_path, monkeypatch):
    """A directory of every input format, cut into many small chunks."""
    monkeypatch.setattr(parallel, "CHUNK_BYTES", 4000)
    folder = tmp_path / "in"
    shutil.copytree(SAMPLES, folder)
    _mixed_jsonl(folder / "mixed.jsonl", 12)
    with gzip.open(folder / "more.jsonl.gz", "wb") as f:
        f.write((folder / "mixed.jsonl").read_bytes())
    # An export as one pretty-printed JSON array: elements numbered by the line they start on.
    records = [json.loads(line) for line in (folder / "mixed.jsonl").read_text().splitlines()[:40]
               if line.strip() and line.endswith("}")]
    (folder / "export.json").write_text(json.dumps(records, ensure_ascii=False, indent=2))
    return folder


def test_jobs_give_the_bytes_of_one_process(zhclean, inputs, tmp_path):
    runs = {}
    for jobs in (1, 2, 3):
        rejects = tmp_path / f"rejects{jobs}.jsonl"
        result = zhclean("run", inputs, "--jobs", jobs, "--rejects", rejects, "-v")
        assert result.exit_code == 1  # the broken lines are input errors
        runs[jobs] = (result.stdout, rejects.read_bytes(), result.stderr)
    assert runs[2] == runs[1] and runs[3] == runs[1]  # records, rejects, counts and warnings
    assert len(runs[1][0].splitlines()) > 50
    assert "malformed json" in runs[1][2]


def test_jobs_equal_the_stage_chain(zhclean, inputs):
    fused = zhclean("run", inputs, "--jobs", 2).stdout
    data = zhclean("read", inputs).stdout
    for stage in ("convert", "despam", "segment"):
        data = zhclean(stage, input=data).stdout
    assert fused == data


def test_batches_keep_input_order_and_size(inputs):
    from zhclean.readers import read_inputs

    chunks = list(parallel.batches(read_inputs((str(inputs),), chunk_bytes=4000)))
    assert len(chunks) > 10
    records = [r for chunk in chunks for r in parallel.parsed(chunk)]
    assert records == list(read_inputs((str(inputs),)))


def _big_input(tmp_path, megabytes: int):
    path = tmp_path / "big.jsonl"
    _mixed_jsonl(path, 1)
    one = path.read_bytes()
    path.write_bytes(one * (megabytes * (1 << 20) // len(one) + 1))
    return path


def test_head_ends_quietly_with_workers(tmp_path):
    big = _big_input(tmp_path, 4)
    proc = subprocess.run(
        f"set -o pipefail; {sys.executable} -m zhclean run {big} --jobs 2 | head -n 1",
        shell=True, capture_output=True, executable="/bin/bash", timeout=120)
    assert proc.returncode == 0
    assert b"Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["id"] == "seed-0"


def test_ctrl_c_stops_parent_and_workers_without_traceback(tmp_path):
    big = _big_input(tmp_path, 40)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zhclean", "run", str(big), "--jobs", "2", "-q"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=tmp_path)
    proc.stdout.readline()  # the workers are at work
    os.killpg(proc.pid, signal.SIGINT)  # what a terminal sends to the whole job
    _, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and stderr.strip() == b"zhclean: interrupted"
    assert b"Traceback" not in stderr and b"KeyboardInterrupt" not in stderr
    with pytest.raises(ProcessLookupError):  # no worker left behind
        os.killpg(proc.pid, 0)


def test_default_jobs_is_the_usable_cores():
    assert 1 <= parallel.default_jobs() <= (os.cpu_count() or 1)


def test_run_names_the_segmenter_segmenter_and_the_engine_local_or_ray(zhclean):
    batch = SAMPLES / "batch.jsonl"
    [first, *_] = zhclean("run", batch, "--segmenter", "jieba").records
    assert first["meta"]["segment"]["engine"] == "jieba"
    assert zhclean("run", batch, "--engine", "local").records == \
        zhclean("run", batch, "--engine", "local", "--jobs", 1).records
    wrong = zhclean("run", batch, "--engine", "jieba")
    assert wrong.exit_code == 2 and "local" in wrong.stderr
