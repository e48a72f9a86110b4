"""How convert's mojibake repair does on real text: lines misread on purpose, and text left alone.

    python benchmarks/eval_mojibake.py [--sighan DIR] [--lines N] [TEXT_DIR ...]

For each SIGHAN 2005 test set (AS and CityU Traditional as Big5, PKU and MSR Simplified as GBK),
N lines drawn at random (a fixed seed) are encoded in that codec and read as Latin-1, and as
UTF-8 read as GBK: the share repaired exactly, left as they were, and repaired wrongly. Then
each line again with one byte of one of its characters removed, which cannot come back: how
many were changed all the same (a repair that would hide a loss). Then N pieces of 2 to 6
characters of those lines, misread as Latin-1: short text is where GBK and Big5 read the same
bytes as common characters alike. Every line of the UTF-8 text
files under each TEXT_DIR (*.txt, *.utf8, *.tsv) is also passed through as it is: a line changed
there is real text that the repair took for mojibake.
"""
from __future__ import annotations

import argparse
import random
from pathlib import Path

from zhclean.stages.normalize import repair_mojibake

DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
SETS = (("as_test.utf8", "big5"), ("cityu_test.utf8", "big5"), ("pku_test.utf8", "gbk"),
        ("msr_test.utf8", "gbk"))


def misread(text: str, codec: str) -> str:
    if codec == "utf-8 as gbk":
        return text.encode("utf-8").decode("gbk", errors="replace")
    return text.encode(codec).decode("latin-1")


def round_trip(lines: list[str], codec: str, rng: random.Random) -> str:
    exact = left = wrong = lossy = changed_lossy = 0
    for line in lines:
        try:
            garbled = misread(line, codec)
        except UnicodeEncodeError:
            continue
        if garbled == line:  # ASCII: nothing to misread
            continue
        repaired = repair_mojibake(garbled)
        exact += repaired == line
        left += repaired == garbled
        wrong += repaired not in (line, garbled)
        data = garbled.encode("latin-1") if codec != "utf-8 as gbk" else line.encode("utf-8")
        high = [i for i, byte in enumerate(data) if byte >= 0x80]
        if high:
            cut = rng.choice(high)
            lost = data[:cut] + data[cut + 1:]
            damaged = lost.decode("latin-1") if codec != "utf-8 as gbk" else \
                lost.decode("gbk", errors="replace")
            lossy += 1
            changed_lossy += repair_mojibake(damaged) != damaged
    n = max(exact + left + wrong, 1)
    return (f"{n} lines: repaired exactly {exact / n:.1%}, left {left / n:.1%}, repaired wrongly "
            f"{wrong}; with a byte lost, changed {changed_lossy} of {lossy}")


def left_alone(dirs: list[Path]) -> None:
    lines = changed = 0
    for folder in dirs:
        for path in sorted(p for ext in ("*.txt", "*.utf8", "*.tsv") for p in folder.rglob(ext)):
            try:
                text = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:  # the GBK and Big5 originals
                continue
            for line in text.split("\n"):
                lines += 1
                if (repaired := repair_mojibake(line)) != line:
                    changed += 1
                    print(f"  {path}: {line[:60]!r} -> {repaired[:60]!r}")
    print(f"real text: {lines} lines, {changed} changed")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sighan", type=Path, default=DATA / "sighan2005")
    parser.add_argument("--lines", type=int, default=2000)
    parser.add_argument("text_dirs", type=Path, nargs="*")
    args = parser.parse_args()
    rng = random.Random(1)
    for name, codec in SETS:
        lines = [line.strip() for line in (args.sighan / name).read_text(encoding="utf-8")
                 .split("\n") if len(line.strip()) >= 4]
        sample = rng.sample(lines, min(args.lines, len(lines)))
        for how in (codec, "utf-8 as gbk"):
            label = "UTF-8 read as GBK" if how == "utf-8 as gbk" else f"{how} read as Latin-1"
            print(f"{name} ({label}): {round_trip(sample, how, rng)}")
        pieces = [line[k:k + rng.randint(2, 6)] for line in sample
                  for k in [rng.randrange(len(line) - 1)]]
        print(f"{name} (pieces, {codec} read as Latin-1): {round_trip(pieces, codec, rng)}")
    if args.text_dirs:
        left_alone(args.text_dirs)


if __name__ == "__main__":
    main()
