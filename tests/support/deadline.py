"""A wall-clock deadline for one block of a test, so that a test of a hang fails instead of hanging.

``SIGALRM`` interrupts the block between bytecodes, and the C regex engine checks for signals while
it backtracks, so a runaway ``re.fullmatch`` is stopped too. Unix only, main thread only (pytest and
its xdist workers run tests there).
"""

from __future__ import annotations

import signal
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterator
    from types import FrameType


class DeadlineExceeded(BaseException):
    """A BaseException, so that code under test that turns every ``Exception`` into a result (the CLI,
    the watcher) cannot swallow it."""


@contextmanager
def deadline(seconds: float, what: str) -> Iterator[None]:
    def expire(_signum: int, _frame: FrameType | None) -> None:
        raise DeadlineExceeded(f"{what} still running after {seconds:g} s")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
