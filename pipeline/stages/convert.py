"""Traditional to Simplified: normalise, detect the script, convert with OpenCC."""
from __future__ import annotations

from dataclasses import dataclass

import opencc

from pipeline.rules import Rules

NAME = "convert"
CONFIGS = ("auto", "t2s", "tw2s", "hk2s", "tw2sp")


@dataclass(frozen=True)
class ConvertOptions:
    config: str = "auto"
    keep_quotes: bool = False


class Converter:
    def __init__(self, options: ConvertOptions, rules: Rules):
        self.options = options
        self._t2s = opencc.OpenCC("t2s")
        self._cc = opencc.OpenCC("tw2s" if options.config == "auto" else options.config)

    def __call__(self, record: dict) -> tuple[dict | None, list]:
        text = record["text"]
        simplified = self._t2s.convert(text)
        changed = sum(a != b for a, b in zip(text, simplified))
        script = "traditional" if changed else "simplified"
        if changed:
            record["text"] = self._cc.convert(text)
            if record.get("title"):
                record["title"] = self._cc.convert(record["title"])
        record["meta"][NAME] = {"script": script,
                                "config": self._config_name() if changed else None}
        return record, []

    def _config_name(self) -> str:
        return "tw2s" if self.options.config == "auto" else self.options.config


def build(options: ConvertOptions, rules: Rules) -> Converter:
    return Converter(options, rules)
