"""The cleaning stages, in pipeline order. Each module has an Options dataclass and
`build(options, rules)`, which returns a callable `record -> (record | None, rejects)`: pure on
records, with rules compiled once at build time, so the same stage runs in a shell pipe, in the
fused `run`, in worker processes and on Ray."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from ..rules import Rules
from ..stages import convert, despam, segment

ORDER = ("convert", "despam", "segment")
MODULES = {"convert": convert, "despam": despam, "segment": segment}


@dataclass(frozen=True)
class Settings:
    """Every option of every stage: plain data, so it pickles to workers and Ray tasks."""
    rules_dirs: tuple[str, ...] = ()
    convert: convert.ConvertOptions = field(default_factory=convert.ConvertOptions)
    despam: despam.DespamOptions = field(default_factory=despam.DespamOptions)
    segment: segment.SegmentOptions = field(default_factory=segment.SegmentOptions)


def build_stages(names: tuple[str, ...], settings: Settings) -> list:
    rules = Rules(settings.rules_dirs)
    return [MODULES[name].build(getattr(settings, name), rules) for name in names]


def named_stages(names: tuple[str, ...], settings: Settings) -> list[tuple[str, Callable]]:
    """(name, stage) pairs, as the runner takes them."""
    return list(zip(names, build_stages(names, settings)))
