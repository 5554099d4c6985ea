"""``RecordingPublisher``: the ``alerts.Publisher`` protocol, keeping what it was given.

Like ``alerts.SnsPublisher``: ``publish`` returns a message id, a new one for every publish (SNS does
not deduplicate a standard topic, so publishing the same alert twice sends it twice), and a refused
publish raises ``PublishError`` naming the alert. ``hooks.fail_next("publish", error)`` refuses the
next one; ``hooks.crash_after_next("publish")`` lets SNS accept it and then kills the function before
the answer is seen (the outbox's one documented window of a repeat).
tests/contracts/test_delivery_contracts.py holds both publishers to the same assertions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.alerts.publish import PublishError

from .hooks import Hooks

if TYPE_CHECKING:
    from restorewatch.state import PendingAlert


@dataclass(frozen=True, slots=True)
class Published:
    message_id: str
    alert: PendingAlert


class RecordingPublisher:
    def __init__(self) -> None:
        self.published: list[Published] = []
        self.hooks = Hooks()

    def publish(self, alert: PendingAlert) -> str:
        self.hooks.before("publish")
        message_id = f"message-{len(self.published) + 1}"
        self.published.append(Published(message_id, alert))
        self.hooks.after("publish")
        return message_id

    def refuse_next(self, alert_id: str = "any", code: str = "InternalError") -> None:
        """SNS refuses the next publish (after its retries): ``PublishError``, nothing sent."""
        self.hooks.fail_next("publish", PublishError(alert_id, code, "the test refused it"))

    @property
    def alert_ids(self) -> list[str]:
        """Every alert id published, in order, repeats included (what a subscriber receives)."""
        return [sent.alert.alert_id for sent in self.published]
