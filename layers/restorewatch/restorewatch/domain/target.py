"""What a change names to be read: a user, a role, a group's members, a policy's users, or a gone one.

Names of users, groups, roles and policies "are not distinguished by case"
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html): CloudTrail records the
name as the caller typed it, so ``veeamrestorerole`` names the role ``VeeamRestoreRole``
(``Target.matches``, ``same_name``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from restorewatch.engine.arn import parse_arn

__all__ = ["Target", "TargetKind", "same_name"]


class TargetKind(enum.Enum):
    USER = "user"  # the user ``name``
    ROLE = "role"  # the role ``name``
    GROUP_MEMBERS = "group_members"  # the (tagged) members of group ``name``
    POLICY_ENTITIES = "policy_entities"  # users, groups' members, roles attaching ``name`` (an ARN)
    USER_GONE = "user_gone"  # the user ``name`` no longer exists under that ARN (deleted, renamed)
    ROLE_GONE = "role_gone"  # the role ``name`` was deleted


@dataclass(frozen=True, slots=True)
class Target:
    """What to read for one change.

    ``name`` is a user, role or group name, or a policy ARN for ``POLICY_ENTITIES``.
    ``watched_only``: the change can only matter to a principal that is already watched (the state
    knows it), so an unknown principal costs no IAM read. It is ``False`` when the change can make
    a principal watched (the watch tag added, a user renamed) and the principal must be read.
    """

    kind: TargetKind
    name: str
    account: str
    watched_only: bool = False
    reason: str = ""

    @property
    def principal_kind(self) -> str | None:
        """``"user"`` or ``"role"`` for the single-principal kinds, else ``None``."""
        if self.kind in (TargetKind.USER, TargetKind.USER_GONE):
            return "user"
        if self.kind in (TargetKind.ROLE, TargetKind.ROLE_GONE):
            return "role"
        return None

    def matches(self, arn: str) -> bool:
        """Is ``arn`` the principal this target names? Any path (CloudTrail gives only the name), any
        letter case (IAM names are case-insensitive: ``veeamrestorerole`` is ``VeeamRestoreRole``)."""
        kind = self.principal_kind
        parsed = parse_arn(arn)
        if kind is None or parsed is None or parsed.service != "iam" or parsed.account != self.account:
            return False
        return parsed.resource_type == kind and same_name(parsed.name, self.name)


def same_name(a: str, b: str) -> bool:
    """Do two IAM user, group, role or policy names name the same entity? (Case-insensitive.)"""
    return a.casefold() == b.casefold()
