"""--state: incremental runs, the lock, and kill -9 at any moment followed by the same command."""
import fcntl
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, SAMPLES, read_jsonl
from zhclean import interrupts
from zhclean.state import State

SENTENCES = (FIXTURES / "gsd_dev_simplified.txt").read_text(encoding="utf-8").splitlines()


def articles(start, stop, prefix="g", step=3):
    return [{"id": f"{prefix}{i}", "title": SENTENCES[i][:10], "text": "\n".join(SENTENCES[i:i + 3])}
            for i in range(start, stop, step)]


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records),
                    encoding="utf-8")
    return path


@pytest.fixture
def corpus(tmp_path):
    """Three input files of real sentences; c.jsonl repeats two articles of a.jsonl."""
    d = tmp_path / "in"
    d.mkdir()
    write_jsonl(d / "a.jsonl", articles(0, 150))
    write_jsonl(d / "b.jsonl", articles(150, 300))
    write_jsonl(d / "c.jsonl", articles(300, 500) + articles(0, 6, prefix="again"))
    return d


def snapshot(path):
    st = os.stat(path)
    return Path(path).read_bytes(), st.st_mtime_ns


def test_a_second_run_over_unchanged_inputs_does_nothing(zhclean, corpus, tmp_path):
    args = ("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "out.jsonl")
    first = zhclean(*args, "--stats", tmp_path / "1.json")
    assert first.exit_code == 0, first.stderr
    out, rejects = snapshot(tmp_path / "out.jsonl"), snapshot(tmp_path / "out.rejects.jsonl")
    assert len(read_jsonl(tmp_path / "out.jsonl")) == 167
    second = zhclean(*args, "--stats", tmp_path / "2.json", "-v")
    assert second.exit_code == 0
    assert "nothing to do: 3 inputs unchanged" in second.stderr
    assert snapshot(tmp_path / "out.jsonl") == out  # not rewritten: same bytes, same mtime
    assert snapshot(tmp_path / "out.rejects.jsonl") == rejects
    stats = json.loads((tmp_path / "2.json").read_text())
    assert (stats["records_in"], stats["inputs_read"], stats["inputs_skipped"]) == (0, 0, 3)
    assert sorted(os.listdir(tmp_path)) == ["1.json", "2.json", "in", "out.jsonl",
                                            "out.rejects.jsonl", "s.db"]


def test_a_changed_input_is_processed_again_and_its_old_records_not_output_twice(
        zhclean, corpus, tmp_path):
    args = ("run", corpus, "--state", tmp_path / "s.db")
    assert zhclean(*args, "-o", tmp_path / "1.jsonl").exit_code == 0
    with open(corpus / "b.jsonl", "a", encoding="utf-8") as f:  # yesterday's file grew
        f.write(json.dumps({"id": "new", "text": SENTENCES[10] + SENTENCES[200]},
                           ensure_ascii=False) + "\n")
    os.utime(corpus / "a.jsonl", ns=(1, 1))  # touched, same content: skipped after hashing
    r = zhclean(*args, "-o", tmp_path / "2.jsonl", "--stats", tmp_path / "2.json")
    assert r.exit_code == 0
    assert [x["id"] for x in read_jsonl(tmp_path / "2.jsonl")] == ["new"]
    again = [x for x in read_jsonl(tmp_path / "2.rejects.jsonl") if x["stage"] == "dedup"]
    assert len(again) == 50 and all(x["duplicate_of"] == x["id"] for x in again)
    stats = json.loads((tmp_path / "2.json").read_text())
    assert (stats["inputs_read"], stats["inputs_skipped"]) == (1, 2)
    assert stats["bytes_in"] == os.path.getsize(corpus / "b.jsonl")
    third = zhclean(*args, "-o", tmp_path / "3.jsonl", "-v")
    assert "nothing to do" in third.stderr and not (tmp_path / "3.jsonl").exists()


def test_a_second_run_on_a_locked_state_stops_with_its_own_status(zhclean, corpus, tmp_path):
    with open(tmp_path / "s.db", "w") as holder:  # the lock is on the state file itself
        fcntl.flock(holder, fcntl.LOCK_EX)
        r = zhclean("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "out.jsonl")
    assert r.exit_code == 4
    assert f"s.db is in use by another zhclean run (pid {os.getpid()})" in r.stderr
    assert not (tmp_path / "out.jsonl").exists()


def test_processes_forked_by_a_run_do_not_hold_its_lock(tmp_path):
    """A killed run's --jobs workers outlive it by the chunk they hold: the next run must not
    find the state locked by them. (The run dies once its worker is running, as a run's workers
    are; a worker killed mid-fork, before its hooks ran, is not what this checks.)"""
    db = str(tmp_path / "s.db")
    run_then_die = (
        "import os, signal, time\n"
        "from zhclean.state import State\n"
        f"state = State({db!r})\n"
        "ready = os.pipe()\n"
        "worker = os.fork()\n"
        "if worker == 0:\n"
        "    os.write(ready[1], b'.')\n"  # a worker at work: past the fork and its hooks
        "    time.sleep(30)\n"
        "    os._exit(0)\n"
        "os.read(ready[0], 1)\n"
        f"open({str(tmp_path / 'worker')!r}, 'w').write(str(worker))\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n")
    dead = subprocess.run([sys.executable, "-c", run_then_die], cwd=tempfile.gettempdir())
    worker = int((tmp_path / "worker").read_text())
    try:
        assert dead.returncode == -signal.SIGKILL
        os.kill(worker, 0)  # the worker is still running ...
        State(db).close()  # ... and the state is free
    finally:
        os.kill(worker, signal.SIGKILL)


def test_an_input_that_is_not_a_regular_file_is_read_every_time(tmp_path):
    """<(...) or a FIFO can be read once: hashing it for the manifest would leave nothing to
    read, and recording it would skip the next run's."""
    line = json.dumps({"id": "fifo", "text": "。".join(SENTENCES[:8]) + "。"}, ensure_ascii=False)
    for n in (1, 2):
        out = tmp_path / f"out{n}.jsonl"
        run = subprocess.run(
            f"{sys.executable} -m zhclean run <(echo '{line}') --state {tmp_path / 's.db'} "
            f"--no-dedup -o {out}", shell=True, executable="/bin/bash", capture_output=True,
            cwd=tmp_path)
        assert run.returncode == 0, run.stderr
        assert [r["id"] for r in read_jsonl(out)] == ["fifo"]


def test_a_broken_state_file_is_a_clear_error(zhclean, corpus, tmp_path):
    (tmp_path / "s.db").write_text("not a database\n" * 100)
    r = zhclean("run", corpus, "--state", tmp_path / "s.db")
    assert r.exit_code == 3 and "state error" in r.stderr and "s.db" in r.stderr


# ------------------------------------------------------------------ kill -9, then the same command

def command(corpus, work, jobs):
    return [sys.executable, "-m", "zhclean", "run", str(corpus), "--state", str(work / "s.db"),
            "-o", str(work / "out.jsonl"), "--jobs", str(jobs), "-q"]


def run(args, crash_at=None, kill_after=None):
    env = {k: v for k, v in os.environ.items() if k != "ZHCLEAN_TEST_CRASH_AT"}
    if crash_at:
        env["ZHCLEAN_TEST_CRASH_AT"] = crash_at
    # Not from the checkout, so that `python -m zhclean` is the installed package.
    proc = subprocess.Popen(args, cwd=tempfile.gettempdir(), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    if kill_after is not None:
        time.sleep(kill_after)
        proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=120)
    return proc


def outputs(work):
    return {name: (work / name).read_bytes() if (work / name).exists() else None
            for name in ("out.jsonl", "out.rejects.jsonl")}


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    base = tmp_path_factory.mktemp("crash")
    corpus = base / "in"
    corpus.mkdir()
    write_jsonl(corpus / "a.jsonl", articles(0, 250))
    write_jsonl(corpus / "b.jsonl", articles(250, 500) + articles(0, 30, prefix="again"))
    # Windows that share sentences with their neighbours: many near duplicates, and a longer run.
    write_jsonl(corpus / "c.jsonl", articles(0, 500, prefix="w", step=1) * 3)
    work = base / "reference"
    work.mkdir()
    started = time.monotonic()
    proc = run(command(corpus, work, 1))
    assert proc.returncode == 0, proc.stderr
    return corpus, outputs(work), time.monotonic() - started


def rerun_and_compare(corpus, work, expected, jobs):
    again = run(command(corpus, work, jobs))
    assert again.returncode == 0, again.stderr
    assert outputs(work) == expected
    assert not [n for n in os.listdir(work) if n.endswith((".tmp", ".zhclean-staged"))]
    last = run(command(corpus, work, jobs))  # and then nothing is left to do
    assert last.returncode == 0 and outputs(work) == expected


@pytest.mark.parametrize("point", ["after_first_record", "before_commit", "after_commit",
                                   "after_output_rename"])
def test_killed_at_a_commit_point_the_rerun_equals_an_uninterrupted_run(
        uninterrupted, tmp_path, point):
    corpus, expected, _ = uninterrupted
    crashed = run(command(corpus, tmp_path, 1), crash_at=point)
    assert crashed.returncode == -signal.SIGKILL
    rerun_and_compare(corpus, tmp_path, expected, 1)


@pytest.mark.parametrize("share,jobs", [(0.2, 1), (0.4, 2), (0.6, 1), (0.8, 2), (0.95, 1)])
def test_killed_after_a_delay_the_rerun_equals_an_uninterrupted_run(
        uninterrupted, tmp_path, share, jobs):
    """Killed at a share of an uninterrupted run's duration: starting, reading, deduplicating,
    committing (where exactly varies with the machine's load)."""
    corpus, expected, duration = uninterrupted
    run(command(corpus, tmp_path, jobs), kill_after=share * duration)
    rerun_and_compare(corpus, tmp_path, expected, jobs)


# ------------------------------------------------------------------ other ways a run ends early

def _leftovers(work):
    return sorted(p.name for p in work.iterdir() if p.name.startswith("."))


def _wait_until(condition, seconds=30):
    deadline = time.monotonic() + seconds
    while not (found := condition()):
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return found


def _workers(pid):
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(child) for child in f.read().split()]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
@pytest.mark.parametrize("jobs", [1, 2])
@pytest.mark.parametrize("state", [False, True])
def test_sigterm_and_sighup_end_a_run_cleanly(uninterrupted, tmp_path, signum, jobs, state):
    """What cron, timeout(1) and a closed terminal send: nothing half-written is left behind
    and the status says which signal."""
    corpus, expected, duration = uninterrupted
    args = command(corpus, tmp_path, jobs)
    if not state:
        args = args[:args.index("--state")] + args[args.index("--state") + 2:]
    proc = subprocess.Popen(args, cwd=tempfile.gettempdir(), stderr=subprocess.PIPE)
    _wait_until(lambda: _leftovers(tmp_path))  # writing has begun
    proc.send_signal(signum)
    assert proc.wait(timeout=60) == 128 + signum
    assert f"stopped by {signal.Signals(signum).name}" in proc.stderr.read().decode()
    assert _leftovers(tmp_path) == []
    if state:
        rerun_and_compare(corpus, tmp_path, expected, jobs)


@pytest.fixture
def handled():
    """The run's handlers installed in this process, the test runner's put back after."""
    before = {signum: signal.getsignal(signum) for signum in interrupts.INTERRUPTIONS}
    interrupts.install()
    yield
    for signum, handler in before.items():
        signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT])
def test_a_stop_during_a_held_step_ends_the_run_after_it(handled, signum):
    """A stop never falls between making a staged file and naming it the run's: sent during
    the step (blocked in the kernel) or come just before it (Python runs the handler inside)."""
    done = []
    expected = KeyboardInterrupt if signum == signal.SIGINT else interrupts.Stopped
    # Sent to the main thread, where it is blocked: os.kill's signal may go to another thread
    # of the test runner, which lets Python run the handler at any later moment.
    for arrive in (lambda: signal.pthread_kill(threading.main_thread().ident, signum),
                   lambda: signal.getsignal(signum)(signum, None)):
        with pytest.raises(expected) as stop:
            with interrupts.held():
                arrive()
                done.append(signum)
        assert getattr(stop.value, "signum", signal.SIGINT) == signum
    assert done == [signum, signum]  # the step went on to its end both times


def test_a_killed_worker_ends_the_run_with_its_own_status(uninterrupted, tmp_path):
    corpus, _, _ = uninterrupted
    proc = subprocess.Popen(command(corpus, tmp_path, 2), cwd=tempfile.gettempdir(),
                            stderr=subprocess.PIPE)
    os.kill(_wait_until(lambda: _workers(proc.pid))[0], signal.SIGKILL)  # as the OOM killer
    assert proc.wait(timeout=60) == 6
    assert "a worker process died" in proc.stderr.read().decode()
    assert _leftovers(tmp_path) == []


def test_workers_die_with_a_killed_parent(uninterrupted, tmp_path):
    corpus, _, _ = uninterrupted
    proc = subprocess.Popen(command(corpus, tmp_path, 2), cwd=tempfile.gettempdir())
    workers = _wait_until(lambda: _workers(proc.pid))
    proc.kill()
    proc.wait()
    deadline = time.monotonic() + 10
    while workers and time.monotonic() < deadline:
        workers = [pid for pid in workers if os.path.exists(f"/proc/{pid}")
                   and "Z" not in open(f"/proc/{pid}/stat").read().split(")")[-1][:3]]
        time.sleep(0.05)
    assert workers == []


def test_a_full_disk_leaves_no_temporary_file_and_names_the_output(zhclean, tmp_path,
                                                                   monkeypatch):
    def full(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    r = zhclean("run", SAMPLES / "batch.jsonl", "-o", tmp_path / "out.jsonl", "--jobs", "1")
    assert r.exit_code == 5
    assert f"cannot write {tmp_path / 'out'}" in r.stderr  # the rejects file fails first
    assert "No space left on device" in r.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_state_that_cannot_be_written_is_an_output_error(zhclean, corpus, tmp_path,
                                                           monkeypatch):
    def full(self, summary):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(State, "commit", full)
    r = zhclean("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "out.jsonl")
    assert r.exit_code == 5 and "cannot write the state: database or disk is full" in r.stderr
    assert _leftovers(tmp_path) == [] and not (tmp_path / "out.jsonl").exists()
    monkeypatch.undo()
    r = zhclean("run", corpus, "--state", tmp_path / "s.db", "-o", tmp_path / "out.jsonl")
    assert r.exit_code == 0 and (tmp_path / "out.jsonl").exists()
