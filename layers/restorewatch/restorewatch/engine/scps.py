"""SCP and RCP levels: a list from the organization root down to the account, each a list of policies.

https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html

Each policy is either a plain policy document or an object that names it
(``{"Name"|"PolicyName", "Arn"|"Id", "Content"|"Document", "Target"}``, as Organizations returns
them), so that explanations can say which SCP or RCP at which OU took an action away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from restorewatch.engine.model import Effect, LayerKind, Policy, PolicySource
from restorewatch.engine.parse import parse_policy
from restorewatch.errors import SnapshotError

if TYPE_CHECKING:
    from restorewatch.engine.evaluate import ScpLevels

_DOCUMENT_FIELDS = ("Content", "Document", "PolicyDocument")


def _scp(entry: object, level: int, index: int, layer: LayerKind = LayerKind.SCP) -> Policy:
    word = "RCP" if layer is LayerKind.RCP else "SCP"
    name = f"{word} #{index}"
    arn: str | None = None
    document = entry
    if isinstance(entry, Mapping) and "Statement" not in entry:
        field = next((f for f in _DOCUMENT_FIELDS if f in entry), None)
        if field is None:
            raise SnapshotError(f"{word} #{index} at level {level} has neither Statement nor Content")
        document = entry[field]
        name = str(entry.get("Name") or entry.get("PolicyName") or name)
        arn = entry.get("Arn") or entry.get("Id")
        target = entry.get("Target")
        if target:
            name = f"{name} (attached to {target})"
    arn = arn if isinstance(arn, str) else None
    if layer is LayerKind.RCP:
        return parse_policy(document, PolicySource(layer, name, arn, rcp_level=level))
    return parse_policy(document, PolicySource(layer, name, arn, scp_level=level))


def parse_scps(levels: object) -> ScpLevels | None:
    """``None`` means the account is not governed by SCPs; an empty level denies everything."""
    if levels is None:
        return None
    if not isinstance(levels, list):
        raise SnapshotError("SCPs must be a JSON list of levels (root first), each a list of SCP documents")
    parsed: list[tuple[Policy, ...]] = []
    for level, docs in enumerate(levels):
        if not isinstance(docs, list):
            raise SnapshotError(f"SCP level {level} must be a list of SCP documents")
        parsed.append(tuple(_scp(doc, level, index) for index, doc in enumerate(docs)))
    return tuple(parsed)


def parse_rcps(levels: object) -> ScpLevels | None:
    """RCP levels (root first); ``None``: the resources are not governed by RCPs.

    Unlike an SCP level, an RCP level always holds an Allow: ``RCPFullAWSAccess`` "is automatically
    attached to the organization root, every OU, and every account ... You cannot detach this
    policy" (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_evaluation.html).
    A level without one cannot exist, so it is an error here rather than a level that denies
    everything: it is almost surely a file that left ``RCPFullAWSAccess`` out.
    """
    if levels is None:
        return None
    if not isinstance(levels, list):
        raise SnapshotError("RCPs must be a JSON list of levels (root first), each a list of RCP documents")
    parsed: list[tuple[Policy, ...]] = []
    for level, docs in enumerate(levels):
        if not isinstance(docs, list):
            raise SnapshotError(f"RCP level {level} must be a list of RCP documents")
        policies = tuple(_scp(doc, level, index, LayerKind.RCP) for index, doc in enumerate(docs))
        if not any(s.effect is Effect.ALLOW for policy in policies for s in policy.statements):
            raise SnapshotError(
                f"RCP level {level} has no Allow statement: RCPFullAWSAccess is attached at every level and "
                'cannot be detached; include it (Allow, Principal "*", Action "*", Resource "*")'
            )
        parsed.append(policies)
    return tuple(parsed)
