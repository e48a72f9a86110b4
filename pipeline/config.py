"""Options from a TOML file: `zhclean --config FILE COMMAND ...`, or the ZHCLEAN_CONFIG variable.

One table per command; a key is the option's long name without the dashes (`near-dup-threshold`,
`text-field`; `near_dup_threshold` works too), a flag pair takes true or false (`hmm = false`), a
repeatable option a list (`rules = ["/etc/zhclean/rules"]`), and `paths` names the inputs:

    rules = ["/etc/zhclean/rules"]      # top level: every command that has --rules

    [run]
    paths = ["/srv/crawl"]
    output = "/srv/clean/today.jsonl"
    state = "/var/lib/zhclean/state.db"
    near-dup-threshold = 0.6

Keys outside any table apply to every command that has the option; a command's table overrides
them, and a flag on the command line overrides both. Relative paths are relative to the file's
directory (cron starts jobs in $HOME). An unknown table or key, a value of another type than the
flag's (true is no number, 2.9 no integer) or one the option refuses, is a ConfigError naming the
file, table and key. The file becomes Click's default_map, so every option of
every command can be set without a second list of options. `zhclean config show` prints the
effective values as TOML that can be fed back.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path

import click

from .rules import RuleError, read_toml

TOP = "(top level)"


class ConfigError(Exception):
    """A configuration file that cannot be used; the message names the file and key."""


def default_map(group: click.Group, path: str) -> dict:
    """{command: {parameter name: value}} for Click, from the TOML file at path."""
    try:
        data = read_toml(Path(path))
    except OSError as e:
        raise ConfigError(f"{path}: {e}") from None
    except RuleError as e:  # not UTF-8, or not TOML; the message names the file
        raise ConfigError(str(e)) from None
    base = os.path.dirname(os.path.abspath(path))
    commands = configurable_commands(group)
    shared = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for key in shared:
        if not any(_find(key, c) for c in commands.values()):
            raise ConfigError(f"{path}: {key}: no command has this option")
    for table in (k for k, v in data.items() if isinstance(v, dict)):
        if table not in commands:
            raise ConfigError(f"{path}: [{table}]: no such command "
                              f"(one of {', '.join(sorted(commands))})")
    result: dict = {}
    for name, command in commands.items():
        values = {k: v for k, v in shared.items() if _find(k, command)}
        values.update(data.get(name, {}))
        result[name] = {}
        for key, value in values.items():
            where = f"{path}: [{name}] {key}" if key in data.get(name, {}) else f"{path}: {key}"
            param = _find_or_fail(key, command, where)
            result[name][param.name] = _convert(param, value, command, base, where)
    return result


def configurable_commands(group: click.Group) -> dict[str, click.Command]:
    return {name: c for name, c in group.commands.items() if not isinstance(c, click.Group)}


def key_of(param: click.Parameter) -> str:
    """The name a parameter has in the file: its long option without dashes, or its name."""
    longs = [o for o in param.opts if o.startswith("--")]
    return longs[0][2:] if longs else param.name


def configurable(command: click.Command) -> list[click.Parameter]:
    """The parameters a file can set: not the hidden ones (an old spelling kept to be refused)."""
    return [p for p in command.params if not getattr(p, "hidden", False)]


def _find(key: str, command: click.Command) -> click.Parameter | None:
    wanted = key.replace("_", "-")
    return next((p for p in configurable(command) if key_of(p).replace("_", "-") == wanted), None)


def _find_or_fail(key: str, command: click.Command, where: str) -> click.Parameter:
    param = _find(key, command)
    if param is None:
        raise ConfigError(f"{where}: unknown option (known: "
                          f"{', '.join(sorted(key_of(p) for p in configurable(command)))})")
    return param


def _convert(param: click.Parameter, value, command: click.Command, base: str, where: str):
    """The value checked as the command line would check it (the option's type and callback);
    relative paths made relative to base."""
    many = param.multiple or param.nargs == -1
    if many and not isinstance(value, list):
        value = [value]
    types, one, several = _toml_types(param.type)
    if any(type(v) not in types for v in (value if many else [value])):
        raise ConfigError(f"{where}: expected {several if many else one}, found {value!r}")
    if isinstance(param.type, click.Path):
        value = [_resolve(v, base) for v in value] if many else _resolve(value, base)
    try:
        param.process_value(click.Context(command), value)
    except click.BadParameter as e:
        raise ConfigError(f"{where}: {e.format_message()}") from None
    except OverflowError:  # an integer no float holds, where a number is wanted
        raise ConfigError(f"{where}: {value} is too large a number") from None
    return value


def _toml_types(param_type: click.ParamType) -> tuple[tuple[type, ...], str, str]:
    """The TOML types a value of the option's type must have, and their names (one, several).
    Click would take 5 as the path "5", 2.9 as the count 2 and true as the threshold 1.0: the file
    must say what it means. bool is no int here, as TOML has both."""
    if isinstance(param_type, click.types.BoolParamType):
        return (bool,), "true or false", "true or false"
    if isinstance(param_type, click.types.IntParamType):
        return (int,), "an integer", "integers"
    if isinstance(param_type, click.types.FloatParamType):
        return (int, float), "a number", "numbers"
    return (str,), "a string", "strings"  # paths, choices, text: what a flag is given


def _resolve(value, base: str):
    if isinstance(value, str) and value != "-" and not os.path.isabs(value):
        return os.path.normpath(os.path.join(base, os.path.expanduser(value)))
    return value


def effective(group: click.Group, defaults: dict | None) -> dict[str, dict]:
    """{command: {key: value}}: what each command runs with when no flag is given."""
    shown = {}
    for name, command in configurable_commands(group).items():
        from_file = (defaults or {}).get(name, {})
        ctx = click.Context(command)
        shown[name] = {key_of(p): from_file.get(p.name, _default(p, ctx))
                       for p in configurable(command)}
    return shown


def _default(param: click.Parameter, ctx: click.Context):
    if callable(param.default):  # worked out on each machine (--jobs: its cores): leave unset
        return None
    value = param.get_default(ctx)
    if isinstance(value, (str, int, float, bool, list, tuple)):
        return value
    return [] if param.multiple or param.nargs == -1 else None  # Click's "unset"


def to_toml(tables: dict[str, dict], source: str | None) -> str:
    lines = [f"# zhclean configuration: {source or 'built-in defaults (no configuration file)'}",
             "# unset options are commented out"]
    for name, values in tables.items():
        lines.append(f"\n[{name}]")
        for key, value in values.items():
            if value is None:
                lines.append(f"# {key} =")
            else:
                lines.append(f"{_toml_key(key)} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _toml_key(key: str) -> str:
    return key if _BARE_KEY.fullmatch(key) else _toml_string(key)


def _toml_value(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)  # inf and nan are TOML too
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return _toml_string(str(value))


def _toml_string(text: str) -> str:
    """A TOML basic string: a JSON string is one, but for DEL, which JSON leaves as it is and
    TOML allows only escaped."""
    return json.dumps(text, ensure_ascii=False).replace("\x7f", "\\u007f")
