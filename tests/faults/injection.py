"""Fault injection on the real botocore clients the watcher builds (``inventory.clients.make_client``).

Faults enter at botocore's ``before-send.<service>.<Operation>`` event: after the request is built,
signed and counted as an attempt, in place of the HTTP send. So botocore's own retry handler sees
them exactly as it sees AWS's answers: a returned error response (status code + the protocol's
error body) is parsed and classified (throttling and 5xx retried, AccessDenied not), and a raised
``ConnectTimeoutError``/``EndpointConnectionError``/``ReadTimeoutError`` goes through the retry
loop like a real network failure. The attempt number comes from the ``amz-sdk-request`` header
botocore adds to every attempt (``attempt=N; max=M``).

The clients keep their production retry configuration (mode and attempts from the environment
the template gives the function); ``no_backoff_sleep`` only takes the waiting out of it.
"""

from __future__ import annotations

import enum
import json
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import BotoCoreError, ConnectTimeoutError, EndpointConnectionError, ReadTimeoutError

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pytest


class Mode(enum.Enum):
    FIRST = "first attempt"  # every call's first attempt fails; botocore's retry succeeds
    EVERY = "every attempt"  # every attempt fails until the fault is cleared


@dataclass(frozen=True, slots=True)
class Fault:
    name: str
    status: int = 0  # an error response with this status ...
    query_code: str = ""  # ... and this code (query/XML protocols: IAM, SNS, STS)
    json_code: str = ""  # ... or this one (JSON protocols: DynamoDB, SQS, Organizations)
    network: type[BotoCoreError] | None = None  # or raise this instead of sending


THROTTLING = Fault("throttling", 400, "Throttling", "ThrottlingException")
ACCESS_DENIED = Fault("AccessDenied", 403, "AccessDenied", "AccessDeniedException")
SERVER_ERROR = Fault("5xx", 500, "InternalFailure", "InternalServerError")
CONNECT_TIMEOUT = Fault("connect timeout", network=ConnectTimeoutError)
CONNECTION_ERROR = Fault("connection error", network=EndpointConnectionError)
READ_TIMEOUT = Fault("read timeout", network=ReadTimeoutError)
FAULTS = (THROTTLING, ACCESS_DENIED, SERVER_ERROR, CONNECT_TIMEOUT, CONNECTION_ERROR, READ_TIMEOUT)

_NOWHERE = "https://fault-injected.invalid/"
_ATTEMPT = re.compile(r"attempt=(\d+)")


class _Raw:
    """The ``raw`` of an ``AWSResponse``: what botocore reads the body from."""

    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def error_response(fault: Fault, protocol: str, url: str) -> AWSResponse:
    """The HTTP response AWS sends for ``fault`` in ``protocol`` (botocore parses it as usual)."""
    if protocol in ("json", "rest-json"):
        body = json.dumps({"__type": fault.json_code, "message": f"injected {fault.name}"}).encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.0"}
    else:
        kind = "Receiver" if fault.status >= 500 else "Sender"
        body = (
            "<ErrorResponse><Error>"
            f"<Type>{kind}</Type><Code>{fault.query_code}</Code><Message>injected {fault.name}</Message>"
            "</Error><RequestId>injected</RequestId></ErrorResponse>"
        ).encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "text/xml"}
    return AWSResponse(url, fault.status, HTTPHeaders.from_dict(headers), _Raw(body))


@dataclass
class Injection:
    service: str
    operation: str
    fault: Fault
    mode: Mode
    failed_attempts: int = 0


class Crash(BaseException):
    """The Lambda execution environment dying (timeout, out of memory): nothing catches it."""


@dataclass
class FaultInjector:
    """Holds the active faults and the calls every attached client made (``service.Operation``)."""

    injections: list[Injection] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    attempts: Counter[str] = field(default_factory=Counter)
    crash_after: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def inject(self, call: str, fault: Fault, mode: Mode) -> Injection:
        service, _, operation = call.partition(".")
        injection = Injection(service, operation, fault, mode)
        self.injections.append(injection)
        return injection

    def clear(self) -> None:
        self.injections.clear()
        self.crash_after.clear()

    def attach(self, client: Any) -> Any:
        events = client.meta.events
        events.register("before-call", self._before_call)
        # first: before moto's own ``before-send`` handler, which would otherwise answer (and apply)
        # the request; a faulted request is pointed away from every moto URL so moto passes on it
        events.register_first("before-send", self._before_send)
        events.register("after-call", self._after_call)
        return client

    def _before_call(self, event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        with self._lock:
            self.calls[f"{service}.{operation}"] += 1

    def _before_send(self, event_name: str, request: Any, **_: Any) -> AWSResponse | None:
        _event, service, operation = event_name.split(".", 2)
        match = _ATTEMPT.search(str(request.headers.get("amz-sdk-request", "attempt=1")))
        attempt = int(match.group(1)) if match else 1
        with self._lock:
            self.attempts[f"{service}.{operation}"] += 1
            for injection in self.injections:
                if (injection.service, injection.operation) != (service, operation):
                    continue
                if injection.mode is Mode.FIRST and attempt != 1:
                    continue
                injection.failed_attempts += 1
                break
            else:
                return None
        fault = injection.fault
        request.url = _NOWHERE  # not sent: moto, seeing no AWS URL, leaves it to this response
        if fault.network is not None:
            if fault.network is ReadTimeoutError:
                raise ReadTimeoutError(endpoint_url=request.url)
            raise fault.network(endpoint_url=request.url)
        return error_response(fault, _protocol(service), _NOWHERE)

    def _after_call(self, event_name: str, **_: Any) -> None:
        _event, service, operation = event_name.split(".", 2)
        if f"{service}.{operation}" in self.crash_after:
            self.crash_after.discard(f"{service}.{operation}")
            raise Crash(f"the function died right after {service}.{operation} succeeded")


_PROTOCOLS = {
    "iam": "query",
    "sns": "query",
    "sts": "query",
    "s3": "rest-xml",
    "dynamodb": "json",
    "sqs": "json",
    "organizations": "json",
    "kms": "json",
}


def _protocol(service: str) -> str:
    return _PROTOCOLS[service]  # a service without an entry here has no fault to inject yet


def attach_to_package_clients(monkeypatch: pytest.MonkeyPatch, injector: FaultInjector) -> list[Any]:
    """Every client the package builds from now on (``inventory.clients.make_client``: the
    watcher's own, and the member-account clients of organization mode) gets the injector's hooks
    until the test ends; returns the list of them."""
    from restorewatch.inventory import clients

    built: list[Any] = []

    def observe(client: Any) -> None:
        injector.attach(client)
        built.append(client)

    # the observers registered for the whole run (tests/support/aws_calls.py) stay; this one goes
    monkeypatch.setattr(clients, "_observers", [*clients._observers, observe])
    return built


_SESSIONS: dict[str, Any] = {}


def shared_session() -> Any:
    import boto3

    if "session" not in _SESSIONS:
        _SESSIONS["session"] = boto3.session.Session()
    return _SESSIONS["session"]


def client(service: str) -> Any:
    """A plain test-side client (no faults), one per service and process (moto intercepts every
    client's requests, whichever ``mock_aws`` is active)."""
    key = f"client:{service}"
    if key not in _SESSIONS:
        _SESSIONS[key] = shared_session().client(service, region_name="us-east-1")
    return _SESSIONS[key]


def no_backoff_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep botocore's retry mode and attempt count but not its waiting.

    ``ExponentialBackoff.delay_amount`` is what the standard and adaptive modes sleep between
    attempts (up to 20 s each); the adaptive mode's token bucket can also block a send after
    throttling. Both are made instant; which errors are retried, and how often, is unchanged.
    """
    from botocore.retries import bucket, standard

    monkeypatch.setattr(standard.ExponentialBackoff, "delay_amount", lambda self, context: 0.0)
    monkeypatch.setattr(bucket.TokenBucket, "acquire", lambda self, amount=1, block=True: True)
