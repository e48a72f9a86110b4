"""The Python API: `import zhclean`, the README's example, and the command line's output in memory."""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import zhclean as zhclean_api  # the `zhclean` fixture is the command line
from conftest import SAMPLES

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.S)


def test_the_readme_example_runs_and_prints_what_its_comments_say(capsys, monkeypatch):
    monkeypatch.chdir(README.parent)
    exec(compile(readme_python_blocks()[0], "README.md", "exec"), {})
    assert capsys.readouterr().out.splitlines() == [
        "LSTM之父:我也是注意力之父!1991年就发表线性复杂度,遥遥领先Transformer 26年",
        "https://example.com/a ['LSTM', '之父', ':', '我']",
        "['blank', 'boilerplate', 'html', 'spam_title']",
        "reject spam_title", "reject no_content", "record None"]


class InMemoryDataset:
    """What the README's example needs of a `datasets.Dataset` (not installed here): map over
    batches of columns."""

    def __init__(self, columns: dict):
        self.columns = columns

    def map(self, function, batched: bool):
        assert batched
        return InMemoryDataset({**self.columns, **function(self.columns)})


def test_the_readme_datasets_example_cleans_a_batch():
    dataset = InMemoryDataset({"text": ["臺灣總統選舉結果備受關注。", "國產精品無碼_日韩av_一区二区三区"]})
    scope = {"zhclean": zhclean_api, "dataset": dataset}
    exec(compile(readme_python_blocks()[1], "README.md", "exec"), scope)
    cleaned = scope["dataset"].columns
    assert cleaned["clean"] == ["台湾总统选举结果备受关注。", None]
    assert cleaned["tokens"][0][:2] == ["台湾", "总统"] and cleaned["tokens"][1] == []


def test_a_cleaner_gives_what_zhclean_run_writes(zhclean, tmp_path):
    batch = SAMPLES / "batch.jsonl"
    out = tmp_path / "out.jsonl"
    assert zhclean("run", batch, "-o", out).exit_code in (0, 1)
    by_cli = {r["id"]: r for r in map(json.loads, out.read_text(encoding="utf-8").splitlines())}
    cleaner = zhclean_api.Cleaner()
    by_api = {}
    for line in batch.read_text(encoding="utf-8").splitlines():
        record = cleaner(json.loads(line)).record
        if record is not None:
            by_api[record["id"]] = record
    assert by_api.keys() == by_cli.keys() and by_api
    for rid, record in by_api.items():
        assert {**record, "source": None} == {**by_cli[rid], "source": None}


def test_clean_yields_each_items_rejects_then_its_record():
    items = list(zhclean_api.clean(["國產精品無碼_日韩av_一区二区三区",
                                       {"id": "bj", "text": "北京市今天召开新闻发布会。"},
                                       {"id": "empty", "text": {"body": "不是文字"}}],
                                      stages=["despam"]))
    kinds = [(type(i).__name__, i.get("reason"), i.get("id")) for i in items]
    assert kinds[-2:] == [("dict", None, "bj"), ("Reject", "no_text", "empty")]
    assert [k[1] for k in kinds[:-2]] == ["spam_title", "no_content"]
    assert items[-2]["text"] == "北京市今天召开新闻发布会。" and "tokens" not in items[-2]


def test_options_are_the_command_lines():
    cleaner = zhclean_api.Cleaner(["convert"], convert=zhclean_api.ConvertOptions(
        config="tw2sp", keep_quotes=True))
    # tw2sp takes Taiwan's words for the mainland's; the quotes stay as they are.
    assert cleaner("「台灣」的軟體").record["text"] == "「台湾」的软件"
    assert zhclean_api.Cleaner(["convert"])("「台灣」的軟體").record["text"] == "“台湾”的软体"
    with pytest.raises(ValueError, match="unknown stages"):
        zhclean_api.Cleaner(name for name in ["convert", "dedupe"])
    assert [name for name, _ in zhclean_api.Cleaner(s for s in ["segment", "convert"]).stages] \
        == ["convert", "segment"]


def test_the_package_is_zhclean_and_not_pipeline(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    run = subprocess.run(
        [sys.executable, "-c", "import zhclean; print(zhclean.__version__); import pipeline"],
        cwd=tmp_path, capture_output=True, text=True, env=env)
    assert run.stdout.strip() == zhclean_api.__version__
    assert "No module named 'pipeline'" in run.stderr
