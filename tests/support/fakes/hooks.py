"""One-shot failures and crashes a test arms on a fake, at a named operation.

``fail_next(operation, error)`` raises ``error`` *instead of* the next call of ``operation`` (the
call did not happen: AWS refused it or it never arrived). ``crash_after_next(operation)`` lets the
next call happen and then raises ``Crash``: the function died right after the call succeeded and
before it saw the answer (a timeout or an out-of-memory kill). ``Crash`` is a ``BaseException``, so
nothing in the watcher catches it, exactly as nothing catches the end of a Lambda invocation.
"""

from __future__ import annotations

from collections import defaultdict, deque
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable


class Crash(BaseException):
    """The function died here (raised by a fake after the call it names took effect)."""


class Hooks:
    """What a test armed for the next calls of each operation, used up in the order armed."""

    def __init__(self) -> None:
        self._before: defaultdict[str, deque[BaseException]] = defaultdict(deque)
        self._after: defaultdict[str, deque[Callable[[], None]]] = defaultdict(deque)
        self.calls: list[str] = []

    def fail_next(self, operation: str, error: BaseException) -> None:
        self._before[operation].append(error)

    def crash_after_next(self, operation: str) -> None:
        def crash() -> None:
            raise Crash(f"the function died right after {operation} succeeded")

        self._after[operation].append(crash)

    def after_next(self, operation: str, action: Callable[[], None]) -> None:
        """Run ``action`` right after the next ``operation`` took effect (it may raise)."""
        self._after[operation].append(action)

    def before(self, operation: str) -> None:
        self.calls.append(operation)
        if self._before[operation]:
            raise self._before[operation].popleft()

    def after(self, operation: str) -> None:
        if self._after[operation]:
            self._after[operation].popleft()()

    def count(self, operation: str) -> int:
        return self.calls.count(operation)
