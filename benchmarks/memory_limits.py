"""Peak memory of `zhclean run` on inputs built to exhaust it (issue 13, item 6).

Generates, in a temporary directory, the inputs of the issue:

    bomb.txt.gz     a gzip bomb: 100 MB of text in a file of about 100 KB
    one.jsonl       one JSONL record of 100 MB
    array.json      the same record as an element of a JSON array, between two small ones

and runs `zhclean run FILE -o OUT` on each in a process of its own, printing its peak RSS
(getrusage of the process and the workers it waited for), its time, exit status and what it
rejected. Each is over the default --max-record-mb (16), so it is rejected as too_large without
being read whole; the target is a peak of at most 500 MB each. With --kept-mb N it also runs a
record of N MB, under the limit, which zhclean keeps and cleans: what the limit lets through costs.

    python benchmarks/memory_limits.py [--mb 100] [--kept-mb 15] [--jobs 1]
"""
from __future__ import annotations

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

# Real sentences (UD Chinese GSD, CC BY-SA 4.0), as in the tests.
SENTENCES = ["北极土著民族一直与外界接触甚少，直到现代，与其他地区的交流才开始变得频繁。",
             "华尔街的公司反对政府的监督与管制。", "随后爱斯基摩人和维京人相继定居于此。"]
MB = 1_000_000  # as --max-record-mb counts
TARGET_MB = 500


def text_blocks(n_bytes: int, line_break: str = "\n"):
    """About n_bytes of UTF-8 text, a block at a time (never held whole here either)."""
    block = (line_break.join(SENTENCES) + line_break).encode() * 10_000
    for _ in range(max(1, n_bytes // len(block))):
        yield block


def write_bomb(path: Path, n_bytes: int) -> None:
    with gzip.open(path, "wb", compresslevel=9) as f:
        for block in text_blocks(n_bytes):
            f.write(block)


def write_record(path: Path, n_bytes: int, array: bool = False) -> None:
    """One record whose text is n_bytes long (its line breaks escaped, as JSON writes them)."""
    small = json.dumps({"id": "small", "text": SENTENCES[1]}, ensure_ascii=False).encode()
    with open(path, "wb") as f:
        f.write(b"[" + small + b",\n" if array else b"")
        f.write(b'{"id": "big", "text": "')
        for block in text_blocks(n_bytes, line_break="\\n"):
            f.write(block)
        f.write(b'"}')
        f.write(b",\n" + small + b"]\n" if array else b"\n")


def peak_run(path: Path, out: Path, jobs: int) -> tuple[float, float, int]:
    """Peak RSS in MB (the process and the workers it waited for), seconds, exit status."""
    started = time.monotonic()
    proc = subprocess.Popen(["zhclean", "run", str(path), "-o", str(out), "--jobs", str(jobs),
                             "-q"], stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return usage.ru_maxrss / 1024, time.monotonic() - started, proc.returncode


def rejected(out: Path) -> str:
    rejects = out.with_name(out.name.replace(".jsonl", ".rejects.jsonl"))
    reasons = Counter(json.loads(line)["reason"] for line in rejects.read_text().splitlines())
    return ", ".join(f"{reason} {n}" for reason, n in sorted(reasons.items())) or "none"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--mb", type=int, default=100, help="size of each oversized input")
    parser.add_argument("--kept-mb", type=int, default=0,
                        help="also run one record of this size, under the limit (kept)")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        inputs = [(work / "bomb.txt.gz", lambda p: write_bomb(p, args.mb * MB)),
                  (work / "one.jsonl", lambda p: write_record(p, args.mb * MB)),
                  (work / "array.json", lambda p: write_record(p, args.mb * MB, array=True))]
        if args.kept_mb:
            inputs.append((work / "kept.jsonl", lambda p: write_record(p, args.kept_mb * MB)))
        print(f"zhclean run --jobs {args.jobs}; target: peak RSS <= {TARGET_MB} MB on the "
              f"{args.mb} MB inputs", file=sys.stderr)
        print(f"{'input':<14}{'on disk':>12}{'peak RSS':>11}{'seconds':>9}{'exit':>6}  rejects")
        for path, write in inputs:
            write(path)
            out = work / (path.name.split(".")[0] + ".out.jsonl")
            peak, seconds, status = peak_run(path, out, args.jobs)
            size = path.stat().st_size
            shown = f"{size / MB:.1f} MB" if size >= MB else f"{size / 1000:.0f} KB"
            print(f"{path.name:<14}{shown:>12}{peak:>9.0f} M{seconds:>9.1f}{status:>6}  "
                  f"{rejected(out)}")
            path.unlink()


if __name__ == "__main__":
    main()
