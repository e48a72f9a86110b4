"""--state against what reaches it from outside the run: other names of the state file, links at
the names zhclean makes up, inputs that go while a run reads, kill -9 with --stats, and the rerun
of a run killed after its commit."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile

import pytest

from conftest import read_jsonl
from zhclean.state import State
from test_state import articles, write_jsonl


@pytest.fixture
def corpus(tmp_path):
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "a.jsonl", articles(0, 90))
    write_jsonl(d / "b.jsonl", articles(90, 180, prefix="b"))
    write_jsonl(d / "c.jsonl", articles(180, 270, prefix="c"))
    return d


# ------------------------------------------------------------------ other names of the state file

@pytest.mark.parametrize("name", ["link.db", "linked_dir/s.db"])
def test_every_name_of_the_state_meets_one_lock(zhclean, corpus, tmp_path, name):
    """A second run through a symbolic link must not recover (delete) the first run's staged
    output: it stops with exit status 4, and the first run publishes."""
    os.symlink("s.db", tmp_path / "link.db")
    os.symlink(".", tmp_path / "linked_dir")
    with State(str(tmp_path / "s.db")) as first:
        with first.writer(str(tmp_path / "first.jsonl")) as out:
            out.write({"id": "first"})
            second = zhclean("run", corpus, "--state", tmp_path / name,
                             "-o", tmp_path / "second.jsonl")
            assert second.exit_code == 4
            assert f"in use by another zhclean run (pid {os.getpid()})" in second.stderr
        first.commit({})
    assert read_jsonl(tmp_path / "first.jsonl") == [{"id": "first"}]
    assert not (tmp_path / "second.jsonl").exists()


def test_a_state_file_with_hard_links_is_refused(zhclean, corpus, tmp_path):
    """SQLite finds a killed run's journal by the name it opened: one state, one name."""
    assert zhclean("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "1.jsonl",
                   "--no-dedup").exit_code == 0
    os.link(tmp_path / "s.db", tmp_path / "other.db")
    for name in ("s.db", "other.db"):
        r = zhclean("run", corpus, "--state", tmp_path / name, "-o", tmp_path / "2.jsonl")
        assert r.exit_code == 3
        assert f"{tmp_path / name} has 2 hard links" in r.stderr
    assert not (tmp_path / "2.jsonl").exists()


# ------------------------------------------------------------------ names zhclean makes up

@pytest.mark.parametrize("staged", [".o.jsonl.zhclean-staged", ".o.rejects.jsonl.zhclean-staged",
                                    ".o.stats.json.zhclean-staged"])
def test_a_link_at_a_staged_name_is_never_followed(zhclean, corpus, tmp_path, staged):
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    out = tmp_path / "out"
    out.mkdir()
    os.symlink("../victim.txt", out / staged)
    args = ("run", corpus, "--state", tmp_path / "s.db", "-o", out / "o.jsonl",
            "--stats", out / "o.stats.json")
    r = zhclean(*args)
    assert r.exit_code == 5
    assert f"{out / staged} is in the way" in r.stderr and "remove it" in r.stderr
    assert victim.read_text() == "keep me\n"
    assert os.readlink(out / staged) == "../victim.txt"  # refused, left as it was
    assert sorted(os.listdir(out)) == [staged]
    os.unlink(out / staged)
    assert zhclean(*args).exit_code == 0  # the refused run left the state as it was
    assert (out / "o.jsonl").exists() and victim.read_text() == "keep me\n"


def test_two_states_racing_for_one_output_cost_the_loser_only(tmp_path):
    """Run B journals the staged name, run A creates the file first: B's O_EXCL fails, and B
    must not remove A's file on its way out; A publishes."""
    out = str(tmp_path / "o.jsonl")
    with State(str(tmp_path / "a.db")) as a:
        b = State(str(tmp_path / "b.db"))
        late = b.writer(out)  # the name was free when B looked
        with a.writer(out) as first:
            first.write({"id": "a1"})
            with pytest.raises(FileExistsError), b, late:
                pass
        assert os.path.exists(first.staged)
        a.commit({"records_in": 1, "input_errors": 0})
    assert read_jsonl(out) == [{"id": "a1"}]


def test_a_staged_output_gone_before_the_commit_fails_the_run_and_records_nothing(tmp_path):
    state = str(tmp_path / "s.db")
    with pytest.raises(OSError, match="the staged output is gone"):
        with State(state) as run:
            with run.writer(str(tmp_path / "o.jsonl")) as out:
                out.write({"id": "x"})
            os.unlink(out.staged)
            run.commit({"records_in": 1, "input_errors": 0})
    with State(state) as again:
        assert again.conn.execute("SELECT COUNT(*) FROM last_run").fetchone()[0] == 0


def test_a_link_where_the_lock_file_was_is_not_written(zhclean, corpus, tmp_path):
    """The lock is on the state file itself: no STATE.lock is opened (older versions wrote their
    pid into it, through a link)."""
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me\n")
    os.symlink("victim.txt", tmp_path / "s.db.lock")
    r = zhclean("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "o.jsonl")
    assert r.exit_code == 0 and victim.read_text() == "keep me\n"


# ------------------------------------------------------------------ inputs that go mid-run

@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("change", ["deleted", "directory"])
@pytest.mark.parametrize("state", [False, True])
def test_an_input_gone_when_its_turn_comes_is_an_unreadable_reject(zhclean, corpus, tmp_path,
                                                                   monkeypatch, change, state,
                                                                   jobs):
    """Gone or replaced by a directory between listing and reading: that file is a reject, the
    others are read and published, and the state does not record it as done."""
    gone = corpus / "b.jsonl"
    content = gone.read_bytes()
    select = State.select

    def select_then_change(self, files):
        selected = select(self, files)
        gone.unlink()
        if change == "directory":
            gone.mkdir()
        return selected

    monkeypatch.setattr(State, "select", select_then_change)
    args = ("run", corpus, "-o", tmp_path / "o.jsonl", "--jobs", jobs,
            *(("--state", tmp_path / "s.db") if state else ()))
    r = zhclean(*args)
    assert r.exit_code == 1
    assert f"{gone}: unreadable" in r.stderr
    ids = {x["id"][0] for x in read_jsonl(tmp_path / "o.jsonl")}
    assert ids == {"g", "c"}
    rejects = read_jsonl(tmp_path / "o.rejects.jsonl")
    assert [x["source"] for x in rejects if x["reason"] == "unreadable"] == [str(gone)]
    if state:
        monkeypatch.undo()
        shutil.rmtree(gone, ignore_errors=True)  # back as it was
        gone.write_bytes(content)
        again = zhclean(*args, "--stats", tmp_path / "again.json")
        assert again.exit_code == 0
        stats = json.loads((tmp_path / "again.json").read_text())
        assert (stats["inputs_read"], stats["inputs_skipped"]) == (1, 2)
        assert {x["id"][0] for x in read_jsonl(tmp_path / "o.jsonl")} == {"b"}


# ------------------------------------------------------------------ kill -9, then the same command

def crash_corpus(tmp_path, bad_line=False):
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "a.jsonl", articles(0, 150))
    if bad_line:
        with open(d / "a.jsonl", "a", encoding="utf-8") as f:
            f.write("{not json\n")
    write_jsonl(d / "b.jsonl", articles(150, 300))
    return d


def run_killed_at(point, corpus, work):
    """The command, killed at a commit point (None: not killed)."""
    args = [sys.executable, "-m", "zhclean", "run", str(corpus), "--state", str(work / "s.db"),
            "-o", str(work / "out.jsonl"), "--stats", str(work / "stats.json"), "--jobs", "1",
            "-q"]
    env = {k: v for k, v in os.environ.items() if k != "ZHCLEAN_TEST_CRASH_AT"}
    if point:
        env["ZHCLEAN_TEST_CRASH_AT"] = point
    return subprocess.run(args, cwd=tempfile.gettempdir(), env=env, capture_output=True,
                          text=True, timeout=120)


def counts(stats_path):
    """A --stats summary without its timing."""
    stats = json.loads(stats_path.read_text())
    return {k: v for k, v in stats.items() if k not in ("seconds", "mb_per_s")}


@pytest.mark.parametrize("point", ["after_first_record", "before_commit", "after_commit",
                                   "after_output_rename"])
def test_kill_9_with_stats_leaves_nothing_the_rerun_does_not_remove(tmp_path, point):
    corpus = crash_corpus(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    assert run_killed_at(point, corpus, work).returncode == -signal.SIGKILL
    assert run_killed_at(None, corpus, work).returncode == 0
    assert sorted(os.listdir(work)) == ["out.jsonl", "out.rejects.jsonl", "s.db", "stats.json"]
    assert counts(work / "stats.json")["records_in"] == 100


@pytest.mark.parametrize("point", ["after_commit", "after_output_rename"])
def test_the_rerun_of_a_run_killed_after_its_commit_reports_that_runs_outcome(tmp_path, point):
    """The killed run met an input error it could not report (exit status 1): its rerun, which
    finds every input done, does, with the killed run's --stats; the run after is a new one."""
    corpus = crash_corpus(tmp_path, bad_line=True)
    reference, work = tmp_path / "reference", tmp_path / "work"
    reference.mkdir()
    work.mkdir()
    assert run_killed_at(None, corpus, reference).returncode == 1
    assert run_killed_at(point, corpus, work).returncode == -signal.SIGKILL
    rerun = run_killed_at(None, corpus, work)
    assert rerun.returncode == 1
    assert "killed after its commit" in rerun.stderr and "1 input errors" in rerun.stderr
    assert counts(work / "stats.json") == counts(reference / "stats.json")
    assert (work / "out.jsonl").read_bytes() == (reference / "out.jsonl").read_bytes()
    after = run_killed_at(None, corpus, work)
    assert after.returncode == 0 and after.stderr == ""
    assert counts(work / "stats.json")["records_in"] == 0
