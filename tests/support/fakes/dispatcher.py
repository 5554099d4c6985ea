"""``RecordingDispatcher``: the ``watch.fanout.SweepDispatcher`` protocol, keeping the messages.

Like ``watch.fanout.SqsSweepDispatcher``: each account once per call (in first-seen order), one
``account_sweep_message`` each (the message the sweep queue carries, trigger included), the count
returned, and a failed fan-out raises ``ReadError`` (``refuse_next()``). ``sweeps()`` parses the
messages back as the sweep-queue handler does (``parse_account_sweep``).
tests/contracts/test_delivery_contracts.py holds both dispatchers to the same assertions.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from restorewatch.errors import ReadError
from restorewatch.watch.fanout import account_sweep_message, parse_account_sweep

from .hooks import Hooks

if TYPE_CHECKING:
    from collections.abc import Sequence

    from restorewatch.domain import CloudTrailChange


class RecordingDispatcher:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []
        self.hooks = Hooks()

    def dispatch(self, accounts: Sequence[str], trigger: CloudTrailChange | None) -> int:
        self.hooks.before("dispatch")
        unique = list(dict.fromkeys(accounts))
        # through JSON, as the queue carries it
        self.messages += [json.loads(json.dumps(account_sweep_message(a, trigger))) for a in unique]
        return len(unique)

    def refuse_next(self) -> None:
        self.hooks.fail_next(
            "dispatch", ReadError("SendMessageBatch", "memory-queue", "ThrottlingException", "refused")
        )

    def sweeps(self) -> list[tuple[str, CloudTrailChange | None]]:
        return [parse_account_sweep(message, "message") for message in self.messages]

    @property
    def accounts(self) -> list[str]:
        return [account for account, _ in self.sweeps()]
