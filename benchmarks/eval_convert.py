"""Evaluates the convert stage; prints figures (no assertions).

    python benchmarks/eval_convert.py [--data /work/shared/data] [--errors N]

- UD Chinese GSD dev (Taiwan Wikipedia, hand-corrected Simplified): sentence accuracy and
  character error rate through the stage (config auto), next to plain OpenCC tw2s; also per half
  (odd/even sentences) to show how much the figure moves between halves.
- OpenCC's own test cases: pass rate per config in-process and through `zhclean convert --opencc-config X`.
- PKU and MSR test text (Simplified news): Han characters the stage changed (should be 0).
"""
from __future__ import annotations

import argparse
import csv
import json
import re
import subprocess
import sys
from pathlib import Path

import opencc

from zhclean.rules import Rules
from zhclean.stages.convert import ConvertOptions, build
from zhclean.stages.normalize import HAN

HAN_CHAR = re.compile(f"[{HAN}]")
CASE_CONFIGS = ("t2s", "tw2s", "tw2sp", "hk2s")


def edit_distance(a: str, b: str) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        prev = cur
    return prev[-1]


def stage_for(config: str = "auto", keep_quotes: bool = False):
    return build(ConvertOptions(config=config, keep_quotes=keep_quotes), Rules())


def run_stage(stage, text: str) -> str:
    record, _ = stage({"id": "e", "source": "eval", "title": "", "text": text, "meta": {}})
    return record["text"]


def score(pairs: list[tuple[str, str]], convert) -> tuple[float, float, list]:
    right, edits, chars, wrong = 0, 0, 0, []
    for source, expected in pairs:
        got = convert(source)
        right += got == expected
        edits += edit_distance(got, expected) if got != expected else 0
        chars += len(expected)
        if got != expected:
            wrong.append((source, expected, got))
    return right / len(pairs), edits / chars, wrong


def eval_ud(data: Path, show_errors: int) -> None:
    with open(data / "ud-gsd" / "gsd_dev_trad_simp_parallel.tsv", encoding="utf-8") as f:
        pairs = [(r["traditional"], r["simplified"]) for r in csv.DictReader(f, delimiter="\t")]
    stage, tw2s = stage_for(), opencc.OpenCC("tw2s")
    print(f"UD GSD dev, {len(pairs)} sentences, Traditional -> Simplified")
    for name, convert in (("opencc tw2s", tw2s.convert),
                          ("stage auto", lambda t: run_stage(stage, t))):
        acc, cer, wrong = score(pairs, convert)
        halves = [score(pairs[h::2], convert)[0] for h in (0, 1)]
        print(f"  {name:12} sentence accuracy {acc:.4f} (halves {halves[0]:.4f} / "
              f"{halves[1]:.4f})  CER {cer:.5f}  wrong {len(wrong)}")
    for source, expected, got in wrong[:show_errors]:
        diff = [(e, g) for e, g in zip(expected, got) if e != g]
        print(f"    {diff} | {source}")


def load_cases(data: Path) -> list[dict]:
    return json.loads((data / "opencc" / "testcases.json").read_text(encoding="utf-8"))["cases"]


def eval_cases_in_process(cases: list[dict]) -> None:
    print("OpenCC test cases through the stage (in-process)")
    for config in CASE_CONFIGS:
        stage = stage_for(config)
        mine = [c for c in cases if config in c["expected"]]
        failed = [c["id"] for c in mine if run_stage(stage, c["input"]) != c["expected"][config]]
        print(f"  {config:6} {len(mine) - len(failed)}/{len(mine)} pass"
              + (f"  failed: {failed}" if failed else ""))


def eval_cases_cli(cases: list[dict]) -> None:
    print("OpenCC test cases through `zhclean convert --opencc-config X`")
    for config in CASE_CONFIGS:
        mine = [c for c in cases if config in c["expected"]]
        lines = "".join(json.dumps({"id": c["id"], "text": c["input"]}, ensure_ascii=False) + "\n"
                        for c in mine)
        out = subprocess.run([sys.executable, "-m", "zhclean", "convert", "--opencc-config", config],
                             input=lines, capture_output=True, text=True, check=True).stdout
        got = {r["id"]: r["text"] for r in map(json.loads, out.splitlines())}
        failed = [c["id"] for c in mine if got.get(c["id"]) != c["expected"][config]]
        print(f"  {config:6} {len(mine) - len(failed)}/{len(mine)} pass"
              + (f"  failed: {failed}" if failed else ""))


def changed_han(before: str, after: str) -> int:
    a, b = HAN_CHAR.findall(before), HAN_CHAR.findall(after)
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def eval_simplified(data: Path) -> None:
    print("Simplified news through the stage (config auto): Han characters changed")
    stage, t2s = stage_for(), opencc.OpenCC("t2s")
    for name in ("pku_test.utf8", "msr_test.utf8"):
        text = (data / "sighan2005" / name).read_text(encoding="utf-8-sig")
        lines = text.split("\n")
        as_page = run_stage(stage, text).split("\n")
        per_line = [run_stage(stage, line) for line in lines]
        plain = t2s.convert(text).split("\n")
        assert len(as_page) == len(lines), "line count changed"
        print(f"  {name:14} lines {len(lines)}  stage (one page) "
              f"{sum(map(changed_han, lines, as_page))}  stage (line records) "
              f"{sum(map(changed_han, lines, per_line))}  plain t2s "
              f"{sum(map(changed_han, lines, plain))}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=Path("/work/shared/data"))
    parser.add_argument("--errors", type=int, default=0, help="print this many UD GSD errors")
    args = parser.parse_args()
    eval_ud(args.data, args.errors)
    cases = load_cases(args.data)
    eval_cases_in_process(cases)
    eval_cases_cli(cases)
    eval_simplified(args.data)


if __name__ == "__main__":
    main()
