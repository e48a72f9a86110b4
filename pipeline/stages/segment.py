"""Word segmentation: jieba's algorithm and dictionary, on jieba-rs by default."""
from __future__ import annotations

from dataclasses import dataclass

import rjieba

from pipeline.rules import Rules

NAME = "segment"


ENGINES = ("jieba-rs", "jieba")
MODES = ("accurate", "search", "full")
FORMATS = ("list", "text")


@dataclass(frozen=True)
class SegmentOptions:
    engine: str = "jieba-rs"
    mode: str = "accurate"
    hmm: bool = True
    userdicts: tuple[str, ...] = ()
    remove_stopwords: bool = False
    stopwords: str | None = None  # a file replacing rules/stopwords.txt
    pos: bool = False
    format: str = "list"
    keep_script: bool = False


class Segmenter:
    def __init__(self, options: SegmentOptions, rules: Rules):
        self.options = options
        self._jieba = rjieba.Jieba()

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        tokens = [w for line in record["text"].split("\n")
                  for w in self._jieba.cut(line, True) if not w.isspace()]
        record["tokens"] = tokens
        record["meta"][NAME] = {"engine": self.options.engine, "tokens": len(tokens)}
        return record, []


def build(options: SegmentOptions, rules: Rules) -> Segmenter:
    return Segmenter(options, rules)
