"""--config FILE / ZHCLEAN_CONFIG: options from TOML, flags over the file, clear errors."""
import json
import tomllib

import pytest

from conftest import read_jsonl

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
