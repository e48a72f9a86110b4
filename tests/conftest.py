import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from zhclean.cli import main

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Result:
    """A finished CLI call: exit code, stdout records, stderr text."""

    def __init__(self, click_result):
        self.exit_code = click_result.exit_code
        self.stdout = click_result.stdout
        self.stderr = click_result.stderr
        self.exception = click_result.exception

    @property
    def records(self) -> list[dict]:
        return [json.loads(line) for line in self.stdout.split("\n") if line.strip()]


@pytest.fixture
def zhclean():
    """Call `zhclean ARGS...` in-process through Click's CliRunner; `input` feeds stdin."""
    def call(*args, input=None) -> Result:
        runner = CliRunner()
        return Result(runner.invoke(main, [str(a) for a in args], input=input,
                                    catch_exceptions=False))
    return call


def read_jsonl(path) -> list[dict]:
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").split("\n")
            if line.strip()]


def strict_json(line: str):
    """json.loads refusing what is not JSON (NaN, Infinity), as other tools do."""
    def refuse(token):
        raise ValueError(f"{token} is not JSON")
    return json.loads(line, parse_constant=refuse)
