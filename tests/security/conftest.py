"""The security tests run the watcher in the fault suite's world (``faults.conftest``): its ``aws``
fixture (in-process moto as the watched account) is shared, not copied."""

from faults.conftest import aws

__all__ = ["aws"]
