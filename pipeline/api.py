"""The Python API: the stages of `zhclean run` on records in memory (a notebook, `datasets.map`,
a datatrove step), with the same output as the command line for the same options.

    import zhclean

    cleaner = zhclean.Cleaner()                 # rules and dictionaries load once
    result = cleaner({"id": "a1", "text": page})
    result.record                               # the clean record, or None when dropped whole
    result.rejects                              # what was dropped, each with its reason

    for item in zhclean.clean(records):         # records and rejects, in input order
        if isinstance(item, zhclean.Reject): ...
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator

from .readers import FieldMap, jsonl_record
from .records import Reject
from .runner import apply_stages
from .stages import ORDER, Settings, named_stages
from .stages.convert import ConvertOptions
from .stages.despam import DespamOptions
from .stages.segment import SegmentOptions

SOURCE = "<api>"


@dataclass
class Cleaned:
    record: dict | None  # None: the record was dropped whole (its reject says why)
    rejects: list[Reject] = field(default_factory=list)


class Cleaner:
    """The stages built once (rules compiled, dictionaries loaded); call it per record or text.

    stages: any of "convert", "despam", "segment", in pipeline order. The options are those of
    the command line: `convert=ConvertOptions(config="tw2s")`,
    `segment=SegmentOptions(mode="search")`, `rules_dirs=("my_rules",)`."""

    def __init__(self, stages: Iterable[str] = ORDER, *, rules_dirs: Iterable[str] = (),
                 convert: ConvertOptions = ConvertOptions(),
                 despam: DespamOptions = DespamOptions(),
                 segment: SegmentOptions = SegmentOptions(), fields: FieldMap = FieldMap()):
        wanted = set(stages)
        names = tuple(name for name in ORDER if name in wanted)
        unknown = wanted - set(ORDER)
        if unknown:
            raise ValueError(f"unknown stages {sorted(unknown)}: choose from {', '.join(ORDER)}")
        settings = Settings(rules_dirs=tuple(map(str, rules_dirs)), convert=convert,
                            despam=despam, segment=segment)
        self.stages = named_stages(names, settings)
        self.fields = fields
        self._count = 0

    def __call__(self, item: dict | str) -> Cleaned:
        """One record (a dict with text, and optionally id, title, meta and fields of your own,
        which pass through) or a text. Without an id, one is derived from the call's position."""
        self._count += 1
        obj = {self.fields.text: item} if isinstance(item, str) else dict(item)
        record = jsonl_record(obj, SOURCE, self._count, self.fields, self._count)
        if isinstance(record, Reject):  # no text to clean
            return Cleaned(None, [record])
        return Cleaned(*apply_stages(record, self.stages))


def clean(items: Iterable[dict | str], **options) -> Iterator[dict]:
    """Each item's clean record (when one is left) after its rejects; `options` as Cleaner's.
    A Reject is a dict: tell them apart with isinstance(item, zhclean.Reject)."""
    cleaner = Cleaner(**options)
    for item in items:
        result = cleaner(item)
        yield from result.rejects
        if result.record is not None:
            yield result.record
