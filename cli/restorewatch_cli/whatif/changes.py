"""Planned IAM changes, whatever tool planned them: the overlay's input (pure values).

A Terraform plan and a CloudFormation template or change set are each read into a list of these
operations on the account's authorization details. A value the plan cannot know before it is
applied is an ``Unknown``: never guessed, it makes the answers that depend on it ``unknown``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "AddMember",
    "Attach",
    "AttachScp",
    "Change",
    "CreateEntity",
    "DeleteEntity",
    "DeleteInline",
    "DeletePolicy",
    "DeleteScp",
    "Detach",
    "DetachScp",
    "EntityKind",
    "KeepInlines",
    "Name",
    "Note",
    "PutInline",
    "PutPolicy",
    "PutScp",
    "RemoveMember",
    "ScpRef",
    "SetAttached",
    "SetBoundary",
    "SetInlines",
    "SetMembers",
    "SetPolicyHolders",
    "SetTags",
    "Unknown",
    "Value",
    "is_unknown",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value known only after the change is applied.

    ``key`` names the value itself (``aws_iam_role.x.name``): two references to the same unknown
    value have the same key, so a role created with a name Terraform cannot know yet is still the
    role its policy attachments name. ``what`` says it for people.
    """

    key: str
    what: str
    # a stand-in of the same shape (``arn:aws:s3:::<Vault>``) for a physical name or ARN, whose
    # unknown part is a name: never a wildcard; None when the shape is not known
    placeholder: str | None = None


Value: TypeAlias = T | Unknown
Name: TypeAlias = str | Unknown


def is_unknown(value: object) -> bool:
    return isinstance(value, Unknown)


class EntityKind(enum.Enum):
    USER = "user"
    ROLE = "role"
    GROUP = "group"


@dataclass(frozen=True, slots=True)
class Change:
    """``source`` names what planned it (a resource address or logical id), for explanations."""

    source: str


@dataclass(frozen=True, slots=True)
class Note(Change):
    """Something the reader could not evaluate, said to the user (``text``)."""

    text: str


# -- users, roles and groups -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CreateEntity(Change):
    """A user, role or group that will exist (created, or kept by an update)."""

    kind: EntityKind
    name: Name
    path: str = "/"


@dataclass(frozen=True, slots=True)
class DeleteEntity(Change):
    kind: EntityKind
    name: Name


@dataclass(frozen=True, slots=True)
class SetTags(Change):
    """The entity's whole tag set (``None`` keys are never given: every tag is listed)."""

    kind: EntityKind
    name: Name
    tags: Value[Mapping[str, str]]


@dataclass(frozen=True, slots=True)
class SetBoundary(Change):
    """The permissions boundary's policy ARN, or ``None`` for no boundary."""

    kind: EntityKind
    name: Name
    arn: Value[str | None]


@dataclass(frozen=True, slots=True)
class PutInline(Change):
    """An inline policy of a user, role or group (``document``: a mapping or JSON text)."""

    kind: EntityKind
    owner: Name
    policy: Name
    document: Value[Any]


@dataclass(frozen=True, slots=True)
class DeleteInline(Change):
    kind: EntityKind
    owner: Name
    policy: Name


@dataclass(frozen=True, slots=True)
class SetInlines(Change):
    """Every inline policy of the entity (an exclusive setting: the others are deleted)."""

    kind: EntityKind
    owner: Name
    policies: Value[Mapping[str, Value[Any]]]


@dataclass(frozen=True, slots=True)
class KeepInlines(Change):
    """Only these inline policies stay (an exclusive list of names: the others are deleted)."""

    kind: EntityKind
    owner: Name
    names: Value[frozenset[Name]]


@dataclass(frozen=True, slots=True)
class Attach(Change):
    kind: EntityKind
    owner: Name
    arn: Name


@dataclass(frozen=True, slots=True)
class Detach(Change):
    kind: EntityKind
    owner: Name
    arn: Name


@dataclass(frozen=True, slots=True)
class SetAttached(Change):
    """Every managed policy attached to the entity (exclusive: the others are detached)."""

    kind: EntityKind
    owner: Name
    arns: Value[frozenset[Name]]


@dataclass(frozen=True, slots=True)
class AddMember(Change):
    user: Name
    group: Name


@dataclass(frozen=True, slots=True)
class RemoveMember(Change):
    user: Name
    group: Name


@dataclass(frozen=True, slots=True)
class SetMembers(Change):
    """Every member of the group (exclusive)."""

    group: Name
    users: Value[frozenset[Name]]


@dataclass(frozen=True, slots=True)
class SetPolicyHolders(Change):
    """Every user, role and group the policy is attached to, account-wide (exclusive)."""

    arn: Name
    users: Value[frozenset[Name]]
    roles: Value[frozenset[Name]]
    groups: Value[frozenset[Name]]


# -- managed policies ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PutPolicy(Change):
    """A managed policy created, or given a new default version (``document``)."""

    arn: Name
    name: Name
    document: Value[Any]


@dataclass(frozen=True, slots=True)
class DeletePolicy(Change):
    arn: Name


# -- service control policies --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScpRef:
    """An SCP by its policy id (``p-...``) and, for SCP files that carry no id, its name."""

    policy_id: Name
    name: Name | None = None


@dataclass(frozen=True, slots=True)
class PutScp(Change):
    policy: ScpRef
    document: Value[Any]


@dataclass(frozen=True, slots=True)
class DeleteScp(Change):
    policy: ScpRef


@dataclass(frozen=True, slots=True)
class AttachScp(Change):
    """The SCP attached to a root (``r-``), OU (``ou-``) or account (12 digits)."""

    policy: ScpRef
    target: Name


@dataclass(frozen=True, slots=True)
class DetachScp(Change):
    policy: ScpRef
    target: Name
