"""What the engine needs to know about AWS's actions, and the interface it receives it through.

The Service Authorization Reference lists, for every action, the resource types it can act on
(each with its ARN format) and the condition keys its requests can carry. Requirement checks use it
(evaluation spec, "The action catalog"): a Resource entry that can never name a resource of the
action does not apply, and a condition on a key the action never carries is decided as absent.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html

The engine reads no file: the caller passes an ``ActionCatalog`` (``restorewatch.catalog`` reads the
published data). An action the catalog does not know gets no catalog rule at all: every entry may
apply and no condition is decided, which is coarse but never claims more than the policies say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["ActionCatalog", "ActionFacts"]


@dataclass(frozen=True, slots=True, eq=False)
class ActionFacts:
    """One action as the Service Authorization Reference publishes it.

    ``arn_formats``: the ARN format of each resource type the action can act on, as published
    (``arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}``); empty for a
    wildcard-only action (``ec2:DescribeInstances``), which is always requested on ``*``.
    ``condition_keys``: every key the action or one of its resource types lists, as published
    (templated parts such as ``${TagKey}`` or ``<key>`` stand for any text).

    ``rcp_supported``: whether resource control policies apply to the action (its service is one
    AWS lists as supporting RCPs, and the action is not one RCPs leave alone); None: not known, and
    RCPs are applied, since they can only take permissions away.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html

    Facts compare (and hash) by identity: a catalog hands out one object per action, and the engine
    caches what it derived from them on that object's identity.
    """

    action: str  # AWS's spelling, "ec2:RunInstances"
    arn_formats: tuple[str, ...]
    condition_keys: tuple[str, ...]
    rcp_supported: bool | None = None

    @property
    def wildcard_only(self) -> bool:
        return not self.arn_formats


class ActionCatalog(Protocol):
    """The catalog as the engine sees it; ``restorewatch.catalog.IamDataCatalog`` implements it.

    It must be hashable (an object compared by identity is): the engine caches per catalog.
    """

    def __hash__(self) -> int: ...

    @property
    def version(self) -> str:
        """Which data the answers come from (a package version and date), for every output."""
        ...

    def facts(self, action: str) -> ActionFacts | None:
        """The facts of ``action`` (``service:Name``, any letter case); None when it is unknown.

        The same action must always return the same object: the engine caches by identity.
        """
        ...
