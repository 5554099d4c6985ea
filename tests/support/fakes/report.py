"""``MemoryReportSink``: the ``report.ReportSink`` protocol, keeping each report's checks.

Like ``report.S3ReportSink``: one location per account (``None``: the watcher's own account), each
write replaces that account's report, and a failed write raises ``ReportWriteError``
(``hooks.fail_next("write", ...)`` or ``refuse_next()``). tests/contracts/test_delivery_contracts.py
holds both sinks to the same assertions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.report import ReportWriteError

from .hooks import Hooks

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from restorewatch.compliance import PrincipalCheck


class MemoryReportSink:
    def __init__(self) -> None:
        self.reports: dict[str, tuple[datetime, list[PrincipalCheck]]] = {}
        self.hooks = Hooks()

    def write(self, checks: Sequence[PrincipalCheck], *, generated_at: datetime, account: str | None) -> str:
        self.hooks.before("write")
        where = f"memory://restorewatch/report{'-' + account if account else ''}.html"
        self.reports[where] = (generated_at, list(checks))
        return where

    def refuse_next(self) -> None:
        self.hooks.fail_next("write", ReportWriteError("memory://", "AccessDenied", "the test refused it"))
