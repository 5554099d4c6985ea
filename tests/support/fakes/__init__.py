"""In-memory implementations of RestoreWatch's own protocols, for unit tests that run in milliseconds.

These are fakes of the project's seams, never of an AWS API (moto emulates those): ``MemoryStore``
(``state.Store``), ``RecordingPublisher`` (``alerts.Publisher``), ``MemoryReportSink``
(``report.ReportSink``), ``RecordingDispatcher`` (``watch.fanout.SweepDispatcher``),
``FakeOrgView`` (``watch.modes.OrgView``) and ``FakeIamReader`` (the ``inventory.IamReader`` methods
a watcher run calls). Each behaves like the real adapter where the code relies on it, and a contract
test (tests/contracts/) runs the same assertions against the fake and the real adapter on moto.
``Hooks`` arms a failure or a crash (``Crash``) at a named call.
"""

from .dispatcher import RecordingDispatcher
from .hooks import Crash, Hooks
from .iam import FakeIam, FakeIamReader
from .organization import FakeOrganization, FakeOrgView, Scp
from .publisher import Published, RecordingPublisher
from .report import MemoryReportSink
from .store import MemoryStore

__all__ = [
    "Crash",
    "FakeIam",
    "FakeIamReader",
    "FakeOrgView",
    "FakeOrganization",
    "Hooks",
    "MemoryReportSink",
    "MemoryStore",
    "Published",
    "RecordingDispatcher",
    "RecordingPublisher",
    "Scp",
]
