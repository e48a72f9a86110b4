"""Segmentation quality and speed of the segment stage on the SIGHAN 2005 bakeoff test sets.

Prints, per corpus and engine, precision, recall and F1 over word spans against the gold
segmentation, and MB/s of the stage (one record per test line); for the Traditional corpora (AS,
CityU) both plain and with --keep-script (boundaries from OpenCC t2s, words in the original
characters). Then the span agreement of the fast engine with the jieba engine on the PKU test words,
and the stage's throughput on Simplified news grouped into article-sized records.

    python benchmarks/eval_segment.py [--data ../shared/data/sighan2005] [--engines jieba-rs,jieba]

Timings are wall-clock on a shared machine: treat MB/s as indicative.
"""
from __future__ import annotations

import argparse
import time
from pathlib import Path

from zhclean.rules import Rules
from zhclean.stages.segment import ENGINES, SegmentOptions, build

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "sighan2005"
CORPORA = {  # name: (test file, gold file, Traditional)
    "pku": ("pku_test.utf8", "pku_test_gold.utf8", False),
    "msr": ("msr_test.utf8", "msr_test_gold.utf8", False),
    "as": ("as_test.utf8", "as_testing_gold.utf8", True),
    "cityu": ("cityu_test.utf8", "cityu_test_gold.utf8", True),
}
ARTICLE_LINES = 30  # PKU lines per record for the throughput figure


def read_lines(path: Path) -> list[str]:
    # CRLF line ends; cityu starts with a BOM.
    return path.read_text(encoding="utf-8-sig").splitlines()


def spans(words) -> set[tuple[int, int]]:
    """Word spans over the non-whitespace characters of a line."""
    result, start = set(), 0
    for word in words:
        result.add((start, start + len(word)))
        start += len(word)
    return result


def segment_lines(segmenter, lines: list[str]) -> tuple[list[list[str]], float]:
    started = time.perf_counter()
    out = [segmenter({"text": line, "meta": {}})[0]["tokens"] for line in lines]
    return out, time.perf_counter() - started


def aligned(lines: list[str], gold: list[list[str]]) -> list[bool]:
    """Lines whose gold holds the same characters (16 MSR lines and 1 AS line do not: quotes moved
    across lines, a letter changed); they are left out for every engine alike."""
    return ["".join(line.split()) == "".join(words) for line, words in zip(lines, gold, strict=True)]


def score(system: list[list[str]], gold: list[list[str]], usable: list[bool]):
    found = expected = correct = 0
    for sys_words, gold_words, use in zip(system, gold, usable, strict=True):
        if not use:
            continue
        s, g = spans(sys_words), spans(gold_words)
        found, expected, correct = found + len(s), expected + len(g), correct + len(s & g)
    precision, recall = correct / found, correct / expected
    return precision, recall, 2 * precision * recall / (precision + recall)


def megabytes(lines: list[str]) -> float:
    return sum(len(line.encode("utf-8")) + 1 for line in lines) / 1e6


def evaluate(data: Path, engines: list[str]) -> dict:
    """Prints one row per corpus, engine and variant; returns PKU output per engine."""
    print(f"{'corpus':7} {'engine':9} {'variant':12} {'P':>6} {'R':>6} {'F1':>6} {'MB/s':>6}")
    pku_words = {}
    for name, (test, gold, traditional) in CORPORA.items():
        lines = read_lines(data / test)
        gold_words = [line.split() for line in read_lines(data / gold)]
        usable = aligned(lines, gold_words)
        print(f"{name}: {usable.count(False)} of {len(lines)} lines left out (gold differs)")
        for engine in engines:
            variants = [("plain", False)] + ([("keep-script", True)] if traditional else [])
            for variant, keep_script in variants:
                options = SegmentOptions(engine=engine, keep_script=keep_script)
                words, seconds = segment_lines(build(options, Rules()), lines)
                p, r, f = score(words, gold_words, usable)
                print(f"{name:7} {engine:9} {variant:12} {p:6.3f} {r:6.3f} {f:6.3f} "
                      f"{megabytes(lines) / seconds:6.2f}", flush=True)
                if name == "pku":
                    pku_words[engine] = words
    return pku_words


def agreement(pku_words: dict) -> None:
    """The share of the jieba engine's PKU words that the fast engine cuts at the same span."""
    if set(pku_words) != set(ENGINES):
        return
    same = total = 0
    for fast, reference in zip(pku_words["jieba-rs"], pku_words["jieba"]):
        reference_spans = spans(reference)
        same += len(spans(fast) & reference_spans)
        total += len(reference_spans)
    print(f"\nPKU span agreement jieba-rs vs jieba: {same}/{total} = {same / total:.5f}")


def throughput(data: Path) -> None:
    lines = read_lines(data / CORPORA["pku"][0])
    records = ["\n".join(lines[i:i + ARTICLE_LINES]) for i in range(0, len(lines), ARTICLE_LINES)]
    segmenter = build(SegmentOptions(), Rules())
    best = float("inf")
    for _ in range(3):  # best of three: the machine is shared
        started = time.perf_counter()
        for text in records:
            segmenter({"text": text, "meta": {}})
        best = min(best, time.perf_counter() - started)
    print(f"segment stage (jieba-rs, accurate) on PKU news, {ARTICLE_LINES}-line records: "
          f"{megabytes(lines) / best:.1f} MB/s (best of 3, one core)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--engines", default=",".join(ENGINES))
    args = parser.parse_args()
    agreement(evaluate(args.data, args.engines.split(",")))
    throughput(args.data)


if __name__ == "__main__":
    main()
