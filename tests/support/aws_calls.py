"""Every AWS operation the package issues, recorded across the whole test run and held against the
fault matrix (``tests/faults/scenarios.py``, ``ROWS``): the matrix claims to cover every AWS call
the watcher makes, and this makes the claim check itself.

Recording. ``restorewatch.inventory.clients.observe_clients`` hands this plugin every client the
package builds (``make_client``: the watcher's, the member-account clients of organization mode,
the CLI's); a ``before-call`` hook on each records ``service.Operation`` when the code that issued
the call is the watcher's: walking out of botocore, the first frame of this repository is in
``layers/restorewatch/restorewatch`` (the package the Lambda layer ships) or ``functions/watcher``.
Calls a test issues itself on such a client (seeding moto: CreateRole, CreatePolicy, ...) are not
the watcher's and are not recorded, nor are those of the command line (``cli/restorewatch_cli``:
its local-development tooling, which builds and seeds a stack on moto, and what-if's reads of
CloudFormation) or of the Slack function (``functions/slack``: its webhook secret's read, which the
matrix does not cover); package code the CLI runs (``IamReader`` for ``restorewatch check``) is
recorded.
Code run in a subprocess (the end-to-end tests against moto's server) is not seen; it is the same
code the in-process tests run.

Checking. Under pytest-xdist each worker hands its record to the controller in ``workeroutput``
(as ``faults.report`` does); the controller's ``pytest_sessionfinish`` runs after every worker has
finished and checks the union:

* an operation without a row in the matrix fails the run, naming the operation, the code that
  issued it and a test that made it;
* an operation that a passed matrix cell made (the cell asserts that its fault fired, so the call
  happened) but that the record lacks fails the run too: the recorder missed calls, and its
  silence would prove nothing. In particular a run in which the matrix ran and nothing was recorded
  fails.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Mapping
    from types import FrameType

    from _pytest.terminal import TerminalReporter

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "layers" / "restorewatch" / "restorewatch"
# the watcher's handler; the Slack function (its webhook secret read) is not the watcher
FUNCTIONS_DIR = REPO_ROOT / "functions" / "watcher"
# the command line, with its local-development tooling (it creates and seeds stacks on moto) and
# what-if's reads of CloudFormation: not the watcher, whose calls the matrix covers
CLI_DIR = REPO_ROOT / "cli" / "restorewatch_cli"
TESTS_DIRS = (REPO_ROOT / "tests", REPO_ROOT / "bench")
_WORKER_KEY = "restorewatch_aws_calls"
_PROPERTY = "aws_call"  # what a fault-matrix cell records (``record_property``): the call it faulted
FAILED = pytest.StashKey[bool]()


@dataclass(frozen=True, slots=True)
class Call:
    """The first sighting of one ``service.Operation`` the package issued."""

    where: str  # file:line of the package code that issued it
    test: str  # the test that was running


def _within(path: str, *roots: Path) -> bool:
    return any(path == str(root) or path.startswith(f"{root}{os.sep}") for root in roots)


def _library_dirs() -> tuple[str, ...]:
    import boto3
    import botocore

    return (
        str(Path(botocore.__file__).parent) + os.sep,
        str(Path(boto3.__file__).parent) + os.sep,
        __file__,
    )


def issuer(frame: FrameType | None, libraries: tuple[str, ...]) -> str | None:
    """``file:line`` of the package code that issued the call whose hook runs in ``frame``, or
    ``None`` when a test, a benchmark or the command line issued it.

    Frames of botocore, boto3 and this module are the call itself; frames outside the repository
    (the standard library, other installed packages) are passed through; the first frame of the
    repository decides."""
    while frame is not None:
        path = frame.f_code.co_filename
        if path.startswith(libraries):
            frame = frame.f_back
            continue
        if _within(path, PACKAGE_DIR, FUNCTIONS_DIR):
            return f"{Path(path).relative_to(REPO_ROOT)}:{frame.f_lineno}"
        if _within(path, CLI_DIR, *TESTS_DIRS):
            return None
        frame = frame.f_back
    return None


class Recorder:
    """The operations this process saw the package issue (thread-safe: the storm tests run
    consumers in threads)."""

    def __init__(self) -> None:
        self.calls: dict[str, Call] = {}
        self._lock = threading.Lock()
        self._libraries: tuple[str, ...] = ()

    def observe(self, client: Any) -> None:
        """``observe_clients``'s observer: hook ``client``'s calls."""
        client.meta.events.register("before-call", self._before_call)

    def _before_call(self, event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        call = f"{service}.{operation}"
        if call in self.calls:
            return
        if not self._libraries:
            self._libraries = _library_dirs()
        where = issuer(sys._getframe(1), self._libraries)
        if where is None:
            return
        test = os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)").rsplit(" ", 1)[0]
        with self._lock:
            self.calls.setdefault(call, Call(where, test))

    def as_json(self) -> str:
        with self._lock:
            return json.dumps({call: [seen.where, seen.test] for call, seen in self.calls.items()})

    def merge(self, data: str) -> None:
        with self._lock:
            for call, (where, test) in json.loads(data).items():
                self.calls.setdefault(call, Call(where, test))


def problems(recorded: Mapping[str, Call], rows: Collection[str], exercised: Collection[str]) -> list[str]:
    """What is wrong with a run's record: operations without a matrix row, and operations the
    matrix made that the record lacks (the recorder is not seeing the package's calls)."""
    found: list[str] = []
    missing = sorted(set(recorded) - set(rows))
    if missing:
        found.append(
            "AWS operations the package issued that have no row in the fault matrix "
            "(tests/faults/scenarios.py ROWS: add a row and a scenario that makes the call):\n"
            + "\n".join(
                f"  {call}  (issued at {recorded[call].where}, in {recorded[call].test})" for call in missing
            )
        )
    unseen = sorted(set(exercised) - set(recorded))
    if unseen:
        found.append(
            "the fault matrix made these calls but the run's record of AWS operations lacks them, "
            "so the record cannot show that every call has a row (is "
            "restorewatch.inventory.clients.observe_clients still called by make_client?):\n"
            + "\n".join(f"  {call}" for call in unseen)
        )
    return found


def _matrix_rows() -> Collection[str]:
    from faults.scenarios import ROWS

    return set(ROWS)


# ---- the plugin --------------------------------------------------------------------------------

_recorder = Recorder()
_exercised: set[str] = set()
_verdict: list[str] = []
_stop: list[Callable[[], None]] = []


def recorder() -> Recorder:
    return _recorder


def pytest_configure(config: pytest.Config) -> None:
    from restorewatch.inventory.clients import observe_clients

    _stop.append(observe_clients(_recorder.observe))


def pytest_unconfigure(config: pytest.Config) -> None:
    while _stop:
        _stop.pop()()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # in the controller under xdist, the workers' reports arrive here with their user properties
    if report.when == "call" and report.passed:
        _exercised.update(str(value) for name, value in report.user_properties if name == _PROPERTY)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    output = getattr(node, "workeroutput", {}).get(_WORKER_KEY)
    if output:
        _recorder.merge(output)


def pytest_sessionfinish(session: pytest.Session) -> None:
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:  # an xdist worker: the controller checks the union
        workeroutput[_WORKER_KEY] = _recorder.as_json()
        return
    if not _recorder.calls and not _exercised:
        return  # nothing of the package's ran against AWS (unit tests only): nothing to hold
    _verdict[:] = problems(_recorder.calls, _matrix_rows(), _exercised)
    if _verdict:
        session.config.stash[FAILED] = True
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(
    terminalreporter: TerminalReporter, exitstatus: int, config: pytest.Config
) -> None:
    if getattr(config, "workeroutput", None) is not None or not (_recorder.calls or _exercised):
        return
    if _verdict:
        terminalreporter.section("AWS calls without a fault-matrix row", sep="!", red=True, bold=True)
        for problem in _verdict:
            for line in problem.splitlines():
                terminalreporter.write_line(line, red=True)
        terminalreporter.write_line(
            "the run FAILED on these (tests/support/aws_calls.py)", red=True, bold=True
        )
        return
    terminalreporter.write_line(
        f"AWS calls: the package issued {len(_recorder.calls)} operations in this run; each has a "
        f"fault-matrix row ({len(_exercised)} of them faulted by matrix cells here)"
    )
