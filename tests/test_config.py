"""--config FILE / ZHCLEAN_CONFIG: options from TOML, flags over the file, clear errors."""
import json
import tomllib

import click
import pytest

from conftest import read_jsonl
from zhclean import config as configfile
from zhclean.cli import main

TEXT = "同样，施力的大小不同，引起的加速度不同，最终的结果也不一样。"


def jsonl_input(tmp_path):
    path = tmp_path / "in.jsonl"
    path.write_text(json.dumps({"id": "a", "text": TEXT}, ensure_ascii=False) + "\n",
                    encoding="utf-8")
    return path


def test_options_come_from_the_file_and_flags_override_them(zhclean, tmp_path):
    jsonl_input(tmp_path)
    (tmp_path / "zhclean.toml").write_text(
        'format = "text"\n'  # top level: every command with --format
        '[run]\npaths = ["in.jsonl"]\noutput = "out/clean.jsonl"\nhmm = false\n',
        encoding="utf-8")
    (tmp_path / "out").mkdir()
    r = zhclean("--config", tmp_path / "zhclean.toml", "run")
    assert r.exit_code == 0, r.stderr
    record = read_jsonl(tmp_path / "out/clean.jsonl")[0]  # relative to the file's directory
    assert isinstance(record["tokens"], str)
    r = zhclean("--config", tmp_path / "zhclean.toml", "run", "--format", "list", "-o", "-")
    assert isinstance(r.records[0]["tokens"], list)


def test_the_environment_names_the_file(zhclean, tmp_path, monkeypatch):
    (tmp_path / "c.toml").write_text('[segment]\nformat = "text"\n', encoding="utf-8")
    monkeypatch.setenv("ZHCLEAN_CONFIG", str(tmp_path / "c.toml"))
    r = zhclean("segment", input=json.dumps({"id": "a", "text": TEXT}, ensure_ascii=False))
    assert r.exit_code == 0 and isinstance(r.records[0]["tokens"], str)


def test_unknown_keys_tables_and_bad_values_name_the_file_and_key(zhclean, tmp_path):
    cases = {'[run]\nnear-dup-treshold = 0.7\n': "[run] near-dup-treshold: unknown option",
             '[rn]\nstate = "s.db"\n': "[rn]: no such command",
             'colour = true\n': "colour: no command has this option",
             '[run]\nnear-dup-threshold = 2\n': "[run] near-dup-threshold: Invalid value for '--near-dup-threshold': 2.0 is not",
             # the option's own check, not only its type: 0.99 is in (0, 1] but cannot be banded
             '[run]\nnear-dup-threshold = 0.99\n': "[run] near-dup-threshold: Invalid value",
             '[run]\noutput = 5\n': "[run] output: expected a string, found 5",
             '[run]\nrules = [true]\n': "[run] rules: expected strings, found [True]",
             '[run]\nhmm = 3\n': "[run] hmm: expected true or false, found 3",
             '[run\n': "c.toml: "}
    for text, message in cases.items():
        (tmp_path / "c.toml").write_text(text, encoding="utf-8")
        r = zhclean("--config", tmp_path / "c.toml", "run", "-")
        assert r.exit_code == 3, text
        assert "config error" in r.stderr and message in r.stderr, (text, r.stderr)


@pytest.mark.parametrize("args", [["--help"], ["run", "--help"], ["segment", "-h"],
                                  ["config", "show", "--help"]])
def test_help_works_whatever_the_file_holds(zhclean, tmp_path, monkeypatch, args):
    (tmp_path / "c.toml").write_text("[run\n", encoding="utf-8")
    monkeypatch.setenv("ZHCLEAN_CONFIG", str(tmp_path / "c.toml"))
    for given in (["--config", tmp_path / "c.toml"], []):
        r = zhclean(*given, *args)
        assert r.exit_code == 0 and r.stdout.startswith("Usage: "), (given, r.stderr)
    for command in (["run", "-"], ["config", "show"]):  # the error shows when a command runs
        r = zhclean(*command)
        assert r.exit_code == 3 and "config error" in r.stderr and "c.toml" in r.stderr


def test_a_file_saved_with_a_bom_is_read(zhclean, tmp_path):
    (tmp_path / "c.toml").write_bytes('\ufeff[segment]\nformat = "text"\n'.encode("utf-8"))
    r = zhclean("--config", tmp_path / "c.toml", "segment",
                input=json.dumps({"id": "a", "text": TEXT}, ensure_ascii=False))
    assert r.exit_code == 0 and isinstance(r.records[0]["tokens"], str)


def test_config_show_prints_the_effective_configuration_as_toml(zhclean, tmp_path):
    (tmp_path / "c.toml").write_text('[run]\nstate = "/var/lib/zhclean/s.db"\n'
                                     'near_dup_threshold = 0.7\nrules = []\n', encoding="utf-8")
    r = zhclean("--config", tmp_path / "c.toml", "config", "show")
    assert r.exit_code == 0
    assert r.stdout.startswith(f"# zhclean configuration: {tmp_path / 'c.toml'}")
    shown = tomllib.loads(r.stdout)
    assert shown["run"]["state"] == "/var/lib/zhclean/s.db"
    assert shown["run"]["near-dup-threshold"] == 0.7
    assert shown["segment"]["format"] == "list"  # built-in default
    assert "output" not in shown["run"]  # unset: printed as a comment
    (tmp_path / "shown.toml").write_text(r.stdout, encoding="utf-8")  # it reads back
    again = zhclean("--config", tmp_path / "shown.toml", "config", "show", "run")
    assert tomllib.loads(again.stdout)["run"] == shown["run"]


@pytest.mark.parametrize("text,message", [
    ('[run]\njobs = 2.9\n', "[run] jobs: expected an integer, found 2.9"),
    ('[run]\njobs = true\n', "[run] jobs: expected an integer, found True"),
    ('[run]\njobs = "2"\n', "[run] jobs: expected an integer, found '2'"),
    ('[run]\njobs = 0\n', "[run] jobs: Invalid value for '-j' / '--jobs': 0 is not in the range"),
    ('[run]\nnear-dup-threshold = true\n', "[run] near-dup-threshold: expected a number, found True"),
    ('[run]\nnear-dup-threshold = nan\n', "[run] near-dup-threshold: Invalid value"),
    ('max-record-mb = false\n', "c.toml: max-record-mb: expected a number, found False"),
    ('[read]\nmax-record-mb = 0\n', "[read] max-record-mb: Invalid value for '--max-record-mb'"),
    ('[read]\nmax-record-mb = inf\n', "[read] max-record-mb: Invalid value for '--max-record-mb'"),
    ('[read]\nmax-record-mb = 1%s\n' % ("0" * 400), "[read] max-record-mb: 1000"),
    ('[read]\nexclude = [1]\n', "[read] exclude: expected strings, found [1]"),
    ('[segment]\nmode = 1\n', "[segment] mode: expected a string, found 1")])
def test_config_values_are_checked_as_strictly_as_flags(zhclean, tmp_path, text, message):
    """A flag is given text, which Click converts and checks; a TOML value has a type of its own,
    which must be the option's: Click would take 2.9 as the count 2 and true as the number 1.0."""
    (tmp_path / "c.toml").write_text(text, encoding="utf-8")
    r = zhclean("--config", tmp_path / "c.toml", "config", "show")
    assert r.exit_code == 3
    assert f"config error: {tmp_path / 'c.toml'}: " in r.stderr and message in r.stderr, r.stderr


def _a_value(param: click.Parameter, tmp_path):
    """A valid value for the option, other than its default, as awkward to print as it can be."""
    kind = param.type
    if isinstance(kind, click.types.BoolParamType):
        value = not param.default
    elif isinstance(kind, click.Choice):
        value = kind.choices[-1]
    elif isinstance(kind, click.types.IntParamType):
        value = 3
    elif isinstance(kind, click.types.FloatParamType):
        value = 0.7
    elif isinstance(kind, click.Path) and kind.exists:
        value = str(tmp_path / ("words.txt" if kind.file_okay else "rules"))
    else:  # text, and paths to be written (absolute: not resolved again)
        value = str(tmp_path / 'odd\x7f "name" \\ 中文\t.jsonl')
    return [value] if param.multiple or param.nargs == -1 else value


def test_config_show_round_trips_every_key(zhclean, tmp_path):
    """Every key of every command set in a file: `config show` prints them, and what it prints
    reads back to the same settings."""
    (tmp_path / "rules").mkdir()
    (tmp_path / "words.txt").write_text("大模型 5\n", encoding="utf-8")
    tables = {name: {configfile.key_of(p): _a_value(p, tmp_path)
                     for p in configfile.configurable(command)}
              for name, command in configfile.configurable_commands(main).items()}
    # Written as JSON strings escape them (\u007f, \u4e2d), unlike `config show`.
    (tmp_path / "set.toml").write_text("".join(
        f"[{name}]\n" + "".join(f"{key} = {json.dumps(v)}\n" for key, v in values.items())
        for name, values in tables.items()), encoding="utf-8")
    shown = zhclean("--config", tmp_path / "set.toml", "config", "show")
    assert shown.exit_code == 0, shown.stderr
    assert tomllib.loads(shown.stdout) == tables
    (tmp_path / "shown.toml").write_text(shown.stdout, encoding="utf-8")
    again = zhclean("--config", tmp_path / "shown.toml", "config", "show")
    assert again.exit_code == 0, again.stderr
    assert tomllib.loads(again.stdout) == tables
    defaults = zhclean("config", "show").stdout
    (tmp_path / "defaults.toml").write_text(defaults, encoding="utf-8")
    assert tomllib.loads(zhclean("--config", tmp_path / "defaults.toml", "config", "show").stdout) \
        == tomllib.loads(defaults)
