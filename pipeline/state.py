"""`run --state STATE.db`: incremental, locked, crash-safe batch runs.

The state is one SQLite file holding
    manifest       the inputs already processed: absolute path, size, mtime (ns), SHA-256
    pending        the outputs of the run being committed (a journal, see below)
    last_run       the --stats summary of the last committed run, and whether it was reported
    dedup_*        the duplicate index (pipeline/dedup.py), committed with the rest

Incremental: an input whose size and mtime match the manifest is skipped without being read; one
whose size or mtime differ is hashed, and skipped when the hash matches (its mtime is updated);
otherwise it is processed again, and the duplicate index keeps the records already output from
coming out twice. An input is recorded only if, at the commit, it is still the regular file it was
when selected: one deleted or replaced (by a directory, say) while the run went, which the reader
rejected as unreadable, is read again by the next run. stdin and other inputs that are not regular
files (a FIFO, `<(...)`) are always processed. When every input is skipped the run does nothing at
all: -o OUT and the rejects file are left as they are (not rewritten, not emptied). When at least
one input is processed, OUT and the rejects file hold this run's records only; give each nightly
run its own -o name (e.g. out/$(date +%F).jsonl) to keep them.

Lock: the state file itself is held with flock(2) for the whole run (SQLite's own locks are
fcntl(2) locks, which flock does not meet on Linux), so every name that reaches it, a symbolic
link or another path, meets the same lock: a second run stops at once with StateLocked (exit
status 4). A state file with hard links is refused (StateError): SQLite looks for a killed run's
rollback journal beside the name it opens, so a run through another name would read a half-written
database. The kernel drops the lock when a process dies, kill -9 included, so a crashed run never
leaves a stale lock. Processes forked by the run (the --jobs workers) close their inherited copy of
the lock's descriptor, so the lock never outlives the run's own process.

Crash safety (kill -9 at any moment, then the same command again, gives the outputs of one
uninterrupted run): one SQLite transaction T holds every manifest and dedup change of the run,
and the outputs (OUT, the rejects, the --stats summary, the --report page) are staged next to
their final names (.OUT.zhclean-staged), created new: whatever is already at a staged name (a
symbolic link planted there, the file of a run on another state) stops the run and is never
followed nor overwritten.
The order is

    1. journal: insert (staged, final, 'staging') rows in `pending` and commit (before T)
    2. BEGIN T; process; stage OUT, the rejects and the summary; fsync the staged files
    3. in T: manifest rows for the processed inputs, pending rows -> 'publish', the summary in
       last_run (not reported); COMMIT T
    4. os.replace each staged file onto its final name; fsync the directory
    5. delete the pending rows and mark the summary reported (commits)

A crash before 3 leaves T uncommitted: SQLite rolls it back, the next run finds 'staging' rows,
deletes those staged files and redoes the whole run, which writes the same outputs. A crash after
3 leaves 'publish' rows: the next run first finishes step 4 (a staged file that is gone was already
renamed) and deletes the pending rows, then finds every input processed and does nothing, so the
outputs are those of the committed run, but report that run's summary (its --stats, exit status 1
if it met input errors), which the killed run could not. Records written to stdout cannot be taken
back: with --state and no -o, a run killed before 3 has printed records that the next run prints
again (at least once, not exactly once).

ZHCLEAN_TEST_CRASH_AT=<point> makes the process kill itself with SIGKILL at that point, so tests can
crash a run exactly there: after_first_record, before_commit, after_commit, after_output_rename.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import signal
import sqlite3
import stat
from dataclasses import dataclass
from typing import BinaryIO

from . import interrupts
from .writers import JsonlWriter, replaceable, unlink_if_there

CRASH_AT = os.environ.get("ZHCLEAN_TEST_CRASH_AT")  # test hook, see the module docstring

_HELD_LOCKS: set[int] = set()  # the lock descriptors this process holds


def _close_inherited_locks() -> None:
    for fd in _HELD_LOCKS:
        os.close(fd)
    _HELD_LOCKS.clear()


os.register_at_fork(after_in_child=_close_inherited_locks)

SCHEMA = """
CREATE TABLE IF NOT EXISTS manifest (path TEXT PRIMARY KEY, size INTEGER NOT NULL,
                                     mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS pending (staged TEXT PRIMARY KEY, final TEXT NOT NULL,
                                    phase TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS last_run (id INTEGER PRIMARY KEY CHECK (id = 1),
                                     summary TEXT NOT NULL, reported INTEGER NOT NULL);
"""


class StateLocked(Exception):
    """Another run holds the state."""


class StateError(Exception):
    """The state file cannot be used (not an SQLite database, unwritable, ...)."""


@dataclass(frozen=True)
class Input:
    path: str  # as given (or found below a directory)
    size: int = 0
    mtime_ns: int = 0
    sha256: str | None = None  # None: not recorded (stdin, or a file that could not be read)


def crash_point(name: str) -> None:
    if CRASH_AT == name:
        os.kill(os.getpid(), signal.SIGKILL)


class StagedWriter(JsonlWriter):
    """JSONL into a fixed staging file next to the final one; State.commit renames it."""

    def __init__(self, path: str):
        super().__init__(path)
        self.final = os.path.realpath(path)  # through a symbolic link: the link stays
        directory, name = os.path.split(self.final)
        self.staged = os.path.join(directory, f".{name}.zhclean-staged")

    @property
    def created(self) -> bool:
        """The staged file is this writer's: it made it (O_EXCL)."""
        return self._tmp is not None

    def _create(self) -> BinaryIO:
        """A new file: O_EXCL refuses a name already taken (a symbolic link too, never followed),
        which is not this state's (recovery removed its own): it is left as it is."""
        # Made and named as this writer's at once: a stop between the two would leave a file
        # that the run's unwinding takes for another run's.
        with interrupts.held():
            try:
                fd = os.open(self.staged,
                             os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
            except FileExistsError:
                raise OSError(errno.EEXIST, f"{self.staged} is in the way (a link, or the file of "
                              f"a run on another state): remove it if no run is writing "
                              f"{self.path}", self.path) from None
            except OSError as e:  # named as the user named it, not as the staged file
                raise OSError(e.errno, e.strerror, self.path) from None
            self._tmp = self.staged
        return os.fdopen(fd, "wb", buffering=1 << 16)

    def _publish(self) -> None:
        """Nothing yet: State.commit renames the staged file once the run is committed."""

    def write_bytes(self, data: bytes) -> None:
        first = self._stream.tell() == 0
        super().write_bytes(data)
        if first:
            crash_point("after_first_record")


class State:
    """The SQLite state of --state PATH, or (path None) an in-memory one for a single run: then
    nothing is skipped, locked or journalled, and outputs are plain atomic JsonlWriters."""

    def __init__(self, path: str | None):
        self.path = path
        self.persistent = path is not None
        self._lock_fd = _lock(path) if self.persistent else None
        try:
            self.conn = sqlite3.connect(path or ":memory:", isolation_level=None)
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    self.conn.execute(statement)
            self._recover()
        except sqlite3.DatabaseError as e:
            self.close()
            raise StateError(f"{path}: {e}") from None
        self._writers: list[StagedWriter] = []
        self._processed: list[Input] = []
        self._touched: list[Input] = []

    def __enter__(self) -> "State":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            try:
                # A failed COMMIT (disk full) has rolled back already; the staged files of a run
                # that did not commit go either way ('publish' rows, once committed, stay).
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                # A staged name another run took first (O_EXCL refused it) holds that run's file.
                self._discard_staged(keep={w.staged for w in self._writers if not w.created})
            except sqlite3.Error:
                pass  # the next run's recovery does it
        self.close()

    def close(self) -> None:
        if getattr(self, "conn", None) is not None:
            self.conn.close()
            self.conn = None
        if self._lock_fd is not None:
            _HELD_LOCKS.discard(self._lock_fd)
            os.close(self._lock_fd)  # closing the descriptor releases the flock
            self._lock_fd = None

    # -- inputs ---------------------------------------------------------------------------

    def select(self, files: list[str]) -> tuple[list[Input], int]:
        """(inputs to process, number skipped as unchanged) among the input files (expanded)."""
        todo, skipped = [], 0
        for path in files:
            current = self._unchanged(path) if self.persistent and path != "-" else None
            if current is True:
                skipped += 1
            else:
                todo.append(current or Input(path))
        self._processed = [i for i in todo if i.sha256]
        return todo, skipped

    def _unchanged(self, path: str) -> Input | bool | None:
        """True when the manifest has the file as it is; else its Input (None if unreadable)."""
        try:
            st = os.stat(path)
        except OSError:
            return None  # a broken link or a vanished file: the reader reports it
        if not stat.S_ISREG(st.st_mode):
            return None  # a FIFO, <(...): read once, so never hashed nor recorded, like stdin
        row = self.conn.execute("SELECT size, mtime_ns, sha256 FROM manifest WHERE path = ?",
                                (os.path.abspath(path),)).fetchone()
        if row and row[:2] == (st.st_size, st.st_mtime_ns):
            return True
        try:
            digest = _sha256(path)
        except OSError:
            return None  # the reader reports it; not recorded, so it is retried next time
        current = Input(path, st.st_size, st.st_mtime_ns, digest)
        if row and row[2] == digest:
            self._touched.append(current)
            return True
        return current

    # -- the run ----------------------------------------------------------------------------

    def writer(self, path: str | None) -> JsonlWriter:
        """The writer for an output: staged and journalled with a persistent state and a regular
        file (a FIFO or a device is written as it goes, as stdout is)."""
        if not self.persistent or path in (None, "-") or not replaceable(path):
            return JsonlWriter(path)
        w = StagedWriter(path)
        self.conn.execute("INSERT OR REPLACE INTO pending VALUES (?, ?, 'staging')",
                          (w.staged, w.final))
        self._writers.append(w)
        return w

    def begin(self) -> None:
        """Start the run's transaction (after the writers are journalled)."""
        self.conn.execute("BEGIN IMMEDIATE")

    def commit(self, summary: dict) -> None:
        """Record the processed inputs and the run's summary, and publish the staged outputs
        (steps 3 to 5)."""
        if not self.conn.in_transaction:
            self.conn.execute("BEGIN IMMEDIATE")
        self.conn.executemany("INSERT OR REPLACE INTO manifest VALUES (?, ?, ?, ?)",
                              [(os.path.abspath(i.path), i.size, i.mtime_ns, i.sha256)
                               for i in self._processed + self._touched if _as_selected(i)])
        self.conn.execute("UPDATE pending SET phase = 'publish'")
        self.conn.execute("INSERT OR REPLACE INTO last_run VALUES (1, ?, 0)",
                          (json.dumps(summary),))
        # A staged output gone (removed by hand or by another run) fails the run before its
        # inputs are recorded as done, so that the next run reads them again.
        for w in self._writers:
            if not os.path.lexists(w.staged):
                raise OSError(errno.ENOENT, "the staged output is gone", w.staged)
        crash_point("before_commit")
        # Committed, then published whole: a stop that comes meanwhile ends the run after it.
        with interrupts.held():
            self.conn.execute("COMMIT")
            crash_point("after_commit")
            self._publish()
        self.conn.execute("UPDATE last_run SET reported = 1")

    def unreported(self) -> dict | None:
        """The summary of the last committed run when that run was killed before it could report
        it (step 5); its outputs are published by now (recovery)."""
        row = self.conn.execute("SELECT summary FROM last_run WHERE reported = 0").fetchone()
        return json.loads(row[0]) if row else None

    def _publish(self) -> None:
        rows = self.conn.execute("SELECT staged, final FROM pending WHERE phase = 'publish'")
        directories = set()
        for staged, final in rows.fetchall():
            try:
                os.replace(staged, final)
            except FileNotFoundError:
                continue  # renamed before a crash
            directories.add(os.path.dirname(final))
            crash_point("after_output_rename")
        for directory in directories:
            _fsync_directory(directory)
        self.conn.execute("DELETE FROM pending")

    def _discard_staged(self, keep: set[str] = frozenset()) -> None:
        rows = self.conn.execute("SELECT staged FROM pending WHERE phase = 'staging'")
        for (staged,) in rows.fetchall():
            if staged not in keep:
                unlink_if_there(staged)
        self.conn.execute("DELETE FROM pending WHERE phase = 'staging'")

    def _recover(self) -> None:
        """Finish or undo what a killed run left (see the module docstring)."""
        self._discard_staged()
        self._publish()


def _lock(path: str) -> int:
    """A descriptor of the state file (created empty, which SQLite takes as a new database),
    holding the lock on it (see the module docstring)."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    links = os.fstat(fd).st_nlink
    if links > 1:
        os.close(fd)
        raise StateError(f"{path} has {links} hard links: SQLite finds a killed run's journal "
                         f"by the name it was opened with, so a state must have one name "
                         f"(a symbolic link to it is fine)")
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = _lock_holder(fd)
        os.close(fd)
        raise StateLocked(f"{path} is in use by another zhclean run (pid {holder}); "
                          f"try again when it has finished") from None
    _HELD_LOCKS.add(fd)
    return fd


def _lock_holder(fd: int) -> str:
    """The pid holding the flock on fd's file, as /proc/locks (Linux) shows it, for the message."""
    inode = f":{os.fstat(fd).st_ino}"
    try:
        with open("/proc/locks", encoding="ascii") as f:
            for line in f:  # 1: FLOCK  ADVISORY  WRITE 1545 fe:00:2285617 0 EOF
                fields = line.split()
                if fields[1] == "FLOCK" and fields[5].endswith(inode):
                    return fields[4]
    except OSError:
        pass
    return "unknown"


def _as_selected(i: Input) -> bool:
    """Whether the input is still the regular file State.select saw (size and mtime)."""
    try:
        st = os.stat(i.path)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and (st.st_size, st.st_mtime_ns) == (i.size, i.mtime_ns)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_directory(directory: str) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
