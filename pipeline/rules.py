"""Loads the rule files in rules/ (shipped inside the package) and the user's --rules DIRs.

Every rule file is plain text a user can read and extend: `#` starts a comment, blank lines are
ignored. A user directory holding a file of the same name adds to the shipped one; entries with the
same key override it (later files win). A broken rule gives a RuleError naming file and line.
"""
from __future__ import annotations

import math
import tomllib
from importlib import resources
from pathlib import Path
from typing import Iterator, NamedTuple

import regex

# A user pattern that takes longer than this on one line is a broken rule, not a reason to hang a
# cron job: matching raises TimeoutError, and the line is rejected (despam's rule_timeout).
PATTERN_TIMEOUT_SECONDS = 0.25


class RuleError(Exception):
    """A rule file that cannot be used; the message names the file and line."""


class RuleLine(NamedTuple):  # a tuple: a model file holds tens of thousands of rows
    path: Path
    lineno: int
    fields: tuple[str, ...]

    def where(self) -> str:
        return f"{self.path}:{self.lineno}"

    def error(self, message: str) -> RuleError:
        return RuleError(f"{self.where()}: {message}")


def shipped_rules_dir() -> Path:
    try:
        return Path(str(resources.files(f"{__package__}.rulefiles")))  # zhclean.rulefiles
    except ModuleNotFoundError:
        # Run from a source checkout that is not installed: rules/ sits beside pipeline/.
        return Path(__file__).resolve().parent.parent / "rules"


class Rules:
    """The shipped rules plus user directories, in override order."""

    def __init__(self, user_dirs: tuple[str, ...] = ()):
        for d in user_dirs:
            if not Path(d).is_dir():
                raise RuleError(f"{d}: --rules must name a directory")
        self.dirs = (shipped_rules_dir(), *map(Path, user_dirs))

    def files(self, name: str) -> list[Path]:
        return [d / name for d in self.dirs if (d / name).is_file()]

    def table(self, name: str, min_fields: int = 1, max_fields: int | None = None,
              sep: str | None = "\t") -> Iterator[RuleLine]:
        """Rows of a commented table: fields split on `sep` (None: any whitespace)."""
        for path in self.files(name):
            yield from read_table(path, min_fields, max_fields, sep)

    def toml(self, name: str) -> dict:
        """A TOML rule file: the shipped one, then each user file of that name overriding single
        keys. The shipped file is the schema: a user file sets only keys it has, to values of
        the same kind (a number for a number), so a typo is an error, not a silent no-op."""
        merged: dict | None = None
        for path in self.files(name):
            data = read_toml(path)
            if merged is None:
                merged = data
                continue
            _check_keys(path, data, merged)
            _deep_merge(merged, data)
        return merged or {}


def read_toml(path: Path) -> dict:
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8-sig"))
    except UnicodeDecodeError as e:
        raise RuleError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    except tomllib.TOMLDecodeError as e:
        raise RuleError(f"{path}: {e}") from None


def _check_keys(path: Path, data: dict, schema: dict, table: str = "") -> None:
    for key, value in data.items():
        name = f"{table}.{key}" if table else key
        if key not in schema:
            known = ", ".join(sorted(schema))
            raise RuleError(f"{path}: unknown key {name!r} (known here: {known})")
        expected = schema[key]
        if isinstance(expected, dict):
            if not isinstance(value, dict):
                raise RuleError(f"{path}: {name} must be a table [{name}]")
            _check_keys(path, value, expected, name)
        elif _kind(value) != _kind(expected):
            raise RuleError(f"{path}: {name} must be a {_kind(expected)}, found {value!r}")


def _kind(value) -> str:
    if isinstance(value, bool):
        return "boolean"
    return "number" if isinstance(value, (int, float)) else type(value).__name__


def read_table(path: Path, min_fields: int = 1, max_fields: int | None = None,
               sep: str | None = "\t") -> Iterator[RuleLine]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # editors on Windows add a BOM
    except UnicodeDecodeError as e:
        raise RuleError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        fields = tuple(filter(None, map(str.strip, line.split(sep)))) if sep else \
            tuple(line.split())
        row = RuleLine(path, lineno, fields)
        if len(fields) < min_fields or (max_fields is not None and len(fields) > max_fields):
            want = f"{min_fields}" if max_fields == min_fields else \
                f"{min_fields} to {max_fields if max_fields is not None else 'any'}"
            raise row.error(f"expected {want} fields, found {len(fields)}: {raw!r}")
        yield row


def compile_pattern(row: RuleLine, pattern: str, flags: int = 0) -> regex.Pattern:
    try:
        return regex.compile(pattern, flags | regex.VERSION1)
    except regex.error as e:
        raise row.error(f"bad pattern {pattern!r}: {e}") from None


def parse_number(row: RuleLine, value: str) -> float:
    try:
        number = float(value)
    except ValueError:
        raise row.error(f"expected a number, found {value!r}") from None
    if not math.isfinite(number):
        raise row.error(f"expected a finite number, found {value!r}")
    return number


def _deep_merge(into: dict, other: dict) -> None:
    for key, value in other.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value
