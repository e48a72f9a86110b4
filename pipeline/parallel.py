"""`run --jobs N`: the stages in worker processes, output in input order.

The parent only moves bytes: it reads the input as Unparsed chunks (about CHUNK_BYTES of JSONL
lines, or whole .txt/.html files), hands them to the workers, and writes the JSONL bytes they send
back in input order. A worker builds the stages once from the picklable Settings, then parses,
cleans and serialises whole chunks, so the output is byte for byte what `--jobs 1` writes. At most
IN_FLIGHT_PER_JOB chunks per worker are read ahead, so memory stays flat whatever the input size.
"""
from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from itertools import chain, islice
from typing import Callable, Iterable, Iterator

from . import interrupts
from .readers import Unparsed
from .records import Reject
from .report import ReportCollector
from .runner import Stats, run_stream
from .stages import Settings, named_stages
from .writers import BufferWriter, NullWriter

# Per task, about 0.1 s of work: cheap to hand over, and at the end of the input no worker waits
# long for another's last chunk (1 MB chunks made --jobs 2 about 8 % slower).
CHUNK_BYTES = 1 << 18
IN_FLIGHT_PER_JOB = 2  # enough to keep every worker busy while the parent waits on the oldest


def default_jobs() -> int:
    """The cores this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


@dataclass
class ChunkResult:
    """What a worker sends back for one chunk: serialised output and rejects, and the counts."""
    output: list[bytes]  # a JSONL line per record
    rejects: list[bytes] | tuple  # () when no rejects file is written
    # For each output record, how many of the rejects came before it: the parent writes them in
    # that order, so that rejects its own sink adds (dedup) land where --jobs 1 puts them.
    rejects_before: list[int]
    stats: Stats
    input_errors: list[Reject] = field(default_factory=list)  # reported by the parent
    report: ReportCollector | None = None  # --report: the chunk's, merged by the parent


def run_parallel(items: Iterable, stages: list, settings: Settings, out, rejects_out,
                 stats: Stats, *, jobs: int, keep_rejects: bool,
                 on_input_error: Callable[[Reject], None],
                 collector: ReportCollector | None = None) -> None:
    """items: Unparsed chunks and Rejects from read_inputs(..., chunk_bytes=CHUNK_BYTES).
    stages: the same stages built in this process, used when the input is a single chunk (a
    pool would only add its start-up time). on_input_error: as for run_stream. collector
    (--report): each worker collects its chunks, merged here in input order."""
    chunks = batches(items)
    head = list(islice(chunks, 2))
    if len(head) < 2:
        for chunk in head:
            run_stream(parsed(chunk), stages, out, rejects_out, stats, on_input_error,
                       collector.observe if collector else None)
        return
    names = tuple(name for name, _ in stages)
    # Forked workers inherit the stages built here (about a second of dictionary loading each,
    # saved); workers started another way build their own from the settings.
    _worker["stages"] = stages
    pool = ProcessPoolExecutor(jobs, initializer=_init_worker,
                               initargs=(os.getpid(), names, settings, keep_rejects,
                                         collector is not None))
    try:
        pending: deque = deque([_start(pool, head[0])])
        for chunk in chain(head[1:], chunks):
            pending.append(pool.submit(_process_chunk, chunk))
            if len(pending) >= jobs * IN_FLIGHT_PER_JOB:
                _write(pending.popleft().result(), out, rejects_out, stats, on_input_error,
                       collector)
        while pending:
            _write(pending.popleft().result(), out, rejects_out, stats, on_input_error,
                   collector)
    except BrokenProcessPool:
        # A worker was killed (out of memory): the others may be blocked sending results that
        # nobody reads any more, and waiting for them would hang.
        for worker in multiprocessing.active_children():
            worker.kill()
        raise
    finally:
        # Ctrl-C, a closed stdout or an error: the chunks not started are cancelled and the
        # workers (which ignore SIGINT) finish the few they hold, at most IN_FLIGHT_PER_JOB
        # each. Killing them mid-chunk instead can leave the pool's threads blocked on a
        # half-written pipe, and the process hung at exit.
        pool.shutdown(wait=True, cancel_futures=True)




def _start(pool: ProcessPoolExecutor, chunk: list):
    """Submit the first chunk, which forks the workers and starts the pool's threads, with the
    stop signals held: raised inside a fork hook, a handler's exception is swallowed (the signal
    lost), and the threads, which inherit the mask, leave the signals to the main thread."""
    with interrupts.held():
        return pool.submit(_process_chunk, chunk)


def batches(items: Iterable) -> Iterator[list]:
    """Group Unparsed inputs (and input Rejects) into chunks of about CHUNK_BYTES."""
    chunk: list = []
    size = 0
    for item in items:
        chunk.append(item)
        size += item.size if isinstance(item, Unparsed) else 0
        if size >= CHUNK_BYTES:
            yield chunk
            chunk, size = [], 0
    if chunk:
        yield chunk


def parsed(chunk: list) -> Iterator[dict]:
    """The records and rejects of a chunk, as read_inputs would have given them."""
    for item in chunk:
        if isinstance(item, Unparsed):
            yield from item.parse()
        else:
            yield item


def _write(result: ChunkResult, out, rejects_out, stats: Stats,
           on_input_error: Callable[[Reject], None],
           collector: ReportCollector | None) -> None:
    for reject in result.input_errors:
        on_input_error(reject)
    stats.merge(result.stats)
    if collector:  # before the records reach the sink, whose dedup rejects come after them
        collector.merge(result.report)
    written = 0  # rejects
    for line, before in zip(result.output, result.rejects_before):
        if before > written:
            rejects_out.write_bytes(b"".join(result.rejects[written:before]))
            written = before
        out.write_bytes(line)
    if len(result.rejects) > written:
        rejects_out.write_bytes(b"".join(result.rejects[written:]))


# ---------------------------------------------------------------- in the worker processes

_worker: dict = {}


def _init_worker(parent: int, names: tuple[str, ...], settings: Settings,
                 keep_rejects: bool, with_report: bool) -> None:
    # Ctrl-C reaches the whole process group: the parent handles it and ends the pool. SIGTERM
    # and SIGHUP kill a worker at once (the parent's handlers, inherited by fork, would unwind a
    # run the worker does not own).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for signum in interrupts.STOP_SIGNALS:
        signal.signal(signum, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, interrupts.INTERRUPTIONS)
    _die_with(parent)
    _worker.update(names=names, settings=settings, keep_rejects=keep_rejects,
                   with_report=with_report)


def _die_with(parent: int) -> None:
    """A worker whose parent is killed (kill -9, the OOM killer) would wait forever on a pipe
    nobody reads: Linux kills it with its parent."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: the pipe breaks when the worker next writes
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _process_chunk(chunk: list) -> ChunkResult:
    if "stages" not in _worker:  # built on the first chunk, so a rule error reaches the parent
        _worker["stages"] = named_stages(_worker["names"], _worker["settings"])
    rejects = BufferWriter() if _worker["keep_rejects"] else NullWriter()
    out = _RecordsAfterRejects(rejects)
    stats = Stats()
    input_errors: list[Reject] = []
    collector = ReportCollector() if _worker["with_report"] else None
    run_stream(parsed(chunk), _worker["stages"], out, rejects, stats, input_errors.append,
               collector.observe if collector else None)
    return ChunkResult(out.lines, rejects.lines, out.rejects_before, stats, input_errors,
                       collector)


class _RecordsAfterRejects(BufferWriter):
    """The chunk's records, each noting how many rejects were written before it."""

    def __init__(self, rejects: BufferWriter | NullWriter):
        super().__init__()
        self._rejects = rejects
        self.rejects_before: list[int] = []

    def write(self, obj: dict) -> None:
        super().write(obj)  # first: a record that cannot be written (Unwritable) leaves no trace
        self.rejects_before.append(len(self._rejects.lines))
