"""The watcher: which principals a change can affect, re-checked and recorded through the ledger.

``Watcher`` (``watch.watcher``) is built from an execution mode (``SingleAccount`` or
``Organization``, ``watch.modes``), the outbox, the profiles and ``WatchSettings``; each change or
sweep returns a ``RunSummary``. ``watch.config`` builds one from the function's environment (it
creates the AWS clients, so it is not imported here); ``watch.events`` parses what Lambda receives.
"""

from restorewatch.watch.modes import ExecutionMode, Organization, OrgView, SingleAccount
from restorewatch.watch.settings import WatchSettings
from restorewatch.watch.summary import RunSummary
from restorewatch.watch.watcher import Watcher

__all__ = [
    "ExecutionMode",
    "OrgView",
    "Organization",
    "RunSummary",
    "SingleAccount",
    "WatchSettings",
    "Watcher",
]
