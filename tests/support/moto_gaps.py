"""Test-side answers to gaps in moto's emulation (each names the gap it works around)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pytest


def make_moto_dynamodb_atomic(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto gap: in-process moto checks a ConditionExpression and then writes without a lock, so two
    threads' conditional writes on one item can both succeed, where DynamoDB makes each conditional
    write atomic (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Expressions.ConditionExpressions.html).
    One lock around moto's item reads and writes gives tests with threads DynamoDB's own guarantee."""
    from moto.dynamodb.models import DynamoDBBackend

    lock = threading.RLock()
    for name in ("put_item", "update_item", "delete_item", "get_item", "transact_write_items"):
        original = getattr(DynamoDBBackend, name)

        def locked(self: Any, *args: Any, _original: Any = original, **kwargs: Any) -> Any:
            with lock:
                return _original(self, *args, **kwargs)

        monkeypatch.setattr(DynamoDBBackend, name, locked)
