"""Throughput of the convert stage in-process, next to OpenCC alone; prints MB/s (UTF-8 input).

    python benchmarks/bench_convert.py [FILE ...] [--repeat N] [--lines-per-record N]

Default input: the SIGHAN 2005 AS and CityU test text (Traditional news), cut into records of
--lines-per-record lines. Best of --repeat runs, taking turns (the machine is shared, so
figures are noisy; the ratio to OpenCC alone is steadier than MB/s). OpenCC alone is timed with
each config auto may pick, and with t2s: the stage can be no faster than the config it runs.
"""
from __future__ import annotations

import argparse
import time
from collections import Counter
from pathlib import Path

import opencc

from zhclean.rules import Rules
from zhclean.stages.convert import AUTO_HONGKONG, AUTO_TAIWAN, ConvertOptions, build

SIGHAN = Path("/work/shared/data/sighan2005")
DEFAULT_FILES = [SIGHAN / "as_test.utf8", SIGHAN / "cityu_test.utf8"]


def records_of(paths: list[Path], lines_per_record: int) -> list[str]:
    texts = []
    for path in paths:
        lines = path.read_text(encoding="utf-8-sig").replace("\r\n", "\n").split("\n")
        texts += ["\n".join(lines[i:i + lines_per_record])
                  for i in range(0, len(lines), lines_per_record)]
    return texts


def best_seconds(runs: list, repeat: int) -> list[float]:
    """Best time of each run; the runs take turns, so load from other processes hits all."""
    best = [float("inf")] * len(runs)
    for _ in range(repeat):
        for i, run in enumerate(runs):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", type=Path, default=DEFAULT_FILES)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--lines-per-record", type=int, default=20)
    args = parser.parse_args()
    texts = records_of(args.files, args.lines_per_record)
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    stage = build(ConvertOptions(), Rules())
    configs = Counter(stage({"id": "b", "source": "bench", "title": "", "text": text,
                             "meta": {}})[0]["meta"]["convert"]["config"] for text in texts)

    def run_stage():
        for text in texts:
            stage({"id": "b", "source": "bench", "title": "", "text": text, "meta": {}})

    def run_opencc(config: str):
        cc = opencc.OpenCC(config)
        return lambda: [cc.convert(text) for text in texts]

    alone_configs = (AUTO_TAIWAN, AUTO_HONGKONG, "t2s")
    print(f"{megabytes:.2f} MB in {len(texts)} records of {args.lines_per_record} lines "
          f"({', '.join(p.name for p in args.files)}); best of {args.repeat}")
    *alone, stage_seconds = best_seconds([*map(run_opencc, alone_configs), run_stage],
                                         args.repeat)
    for config, seconds in zip(alone_configs, alone):
        print(f"  {'opencc ' + config + ' alone':22} {megabytes / seconds:6.1f} MB/s")
    print(f"  convert stage (auto)   {megabytes / stage_seconds:6.1f} MB/s; configs picked: "
          f"{', '.join(f'{c} {n}' for c, n in configs.most_common())}")
    # OpenCC alone with the configs the stage picked, in the same proportions.
    seconds_of = dict(zip(alone_configs, alone))
    converted = sum(configs[c] for c in seconds_of)
    if converted:
        baseline = sum(seconds_of[c] * configs[c] for c in seconds_of) / converted
        print(f"  stage / OpenCC alone with those configs: {baseline / stage_seconds:.0%}")


if __name__ == "__main__":
    main()
