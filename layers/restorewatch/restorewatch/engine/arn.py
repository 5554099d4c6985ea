"""An ARN read once into its parts: the one place RestoreWatch splits an ARN.

``arn:partition:service:region:account-id:resource``, where the resource is ``resource-id``,
``resource-type/resource-id`` (IAM: ``role/path/Name``, ``user/Name``) or
``resource-type:resource-id`` (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html).
The resource keeps its colons: only the first five separate parts.

It lives in the engine, the bottom of the package, so that the engine itself (``account_of``) and
everything above it (``domain`` re-exports it) read ARNs the same way. The ``ArnLike`` condition
operators compare the six parts of a policy pattern and a request value themselves
(``conditions``): a pattern is not an ARN.
"""

from __future__ import annotations

from dataclasses import dataclass

from restorewatch.engine.model import PrincipalKind

__all__ = ["Arn", "parse_arn"]

_PRINCIPAL_KINDS = {"user": PrincipalKind.USER, "role": PrincipalKind.ROLE}


@dataclass(frozen=True, slots=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"

    @property
    def resource_type(self) -> str:
        """``role`` of ``role/path/Name``; empty when the resource has no ``/`` (``root``)."""
        kind, slash, _ = self.resource.partition("/")
        return kind if slash else ""

    @property
    def resource_id(self) -> str:
        """What follows the resource type: ``path/Name`` of ``role/path/Name`` (the resource itself
        when it has no type)."""
        kind, slash, rest = self.resource.partition("/")
        return rest if slash else kind

    @property
    def name(self) -> str:
        """The last path segment of the resource (``Name`` of ``role/path/Name``), or the resource."""
        return self.resource.rsplit("/", 1)[-1] or self.resource

    @property
    def principal_kind(self) -> PrincipalKind | None:
        """``USER`` or ``ROLE`` for an IAM user or role ARN (any path), else ``None``."""
        if self.service != "iam" or not self.resource_id or not self.resource_type:
            return None
        return _PRINCIPAL_KINDS.get(self.resource_type)


def parse_arn(text: str) -> Arn | None:
    """``text`` as an ``Arn``, or ``None`` when it is not one (not six ``:``-separated parts
    beginning with ``arn``)."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(*parts[1:])
