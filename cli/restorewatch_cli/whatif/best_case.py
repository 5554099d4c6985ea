"""The best case of what a plan cannot know yet, and what is then uncertain about a principal.

Adding an Allow or removing a Deny can never take an action away
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html): an
action denied in the best case is denied whatever the unknown value turns out to be.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.engine import LayerKind

__all__ = ["ALLOW_ALL", "Uncertainty"]

# The best case of a document nobody knows yet: it allows everything and denies nothing.
ALLOW_ALL: Mapping[str, Any] = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "KnownOnlyAfterApply", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}


@dataclass(frozen=True, slots=True)
class Uncertainty:
    """Something about a principal known only after apply.

    ``layer`` is where the best case was applied; ``total`` makes every answer unknown, denials
    included (the overlay could not even apply a best case).
    """

    layer: LayerKind
    what: str
    total: bool = False
