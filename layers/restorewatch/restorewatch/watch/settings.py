"""How a watcher judges and groups what it finds: the watch tag, its own account, when to sweep
instead of reading principals one by one, and when to send one digest instead of many alerts."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["WatchSettings"]


@dataclass(frozen=True, slots=True)
class WatchSettings:
    tag_key: str  # the watch tag (template parameter WatchTagKey)
    home_account: str | None = None  # the watcher's own account, when known
    # A group or policy change naming more principals than this is re-checked by sweeping the
    # account: reading principals one by one costs about four IAM calls each (bench/watcher.py),
    # a sweep a few GetAccountAuthorizationDetails pages for the whole account.
    sweep_over: int = 25
    # digest mode (DigestMode=digest): a run holds its alerts back and sends more than this many as
    # one digest (DigestThreshold); None: every alert is published as it is saved
    digest_over: int | None = None
