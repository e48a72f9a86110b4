"""Ctrl-C, SIGTERM and SIGHUP end a run by an exception in the main thread, so that the run unwinds
and removes what it has not published; `held()` puts them off while a step must not be cut in two,
such as making a staged file and naming it as the run's own to remove."""
from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import Iterator

# SIGTERM (cron's, timeout's) and SIGHUP end a run as Ctrl-C does.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
INTERRUPTIONS = frozenset({signal.SIGINT, *STOP_SIGNALS})

_held = 0  # held() blocks entered and not left
_put_off: list[int] = []  # signals that came during one


class Stopped(BaseException):
    """SIGTERM or SIGHUP arrived: the exit status is 128 + the signal."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def install() -> None:
    """Handle the interruptions in this process (the main thread)."""
    _put_off.clear()
    for signum in INTERRUPTIONS:
        signal.signal(signum, _interrupted)


def _interrupted(signum: int, frame) -> None:
    if _held:
        _put_off.append(signum)
    else:
        _raise(signum)


def _raise(signum: int) -> None:
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Stopped(signum)


@contextmanager
def held() -> Iterator[None]:
    """The interruptions wait until the block is done, then end the run. Blocked in the kernel too,
    so that a process forked in the block (a worker) starts with them blocked; a signal that came
    just before the block is put off by the handler, which Python may run inside it."""
    global _held
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, INTERRUPTIONS)
    _held += 1
    try:
        yield
    finally:
        _held -= 1
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
        if not _held and _put_off:  # the stop wins over an error the block raised
            _raise(_put_off.pop(0))
