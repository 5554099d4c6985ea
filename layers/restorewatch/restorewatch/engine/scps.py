"""SCP levels: a list from the organization root down to the account, each a list of SCPs.

https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html

Each SCP is either a plain policy document or an object that names it
(``{"Name"|"PolicyName", "Arn"|"Id", "Content"|"Document", "Target"}``, as Organizations returns
them), so that explanations can say which SCP at which OU took an action away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from restorewatch.engine.model import LayerKind, Policy, PolicySource
from restorewatch.engine.parse import parse_policy
from restorewatch.errors import SnapshotError

if TYPE_CHECKING:
    from restorewatch.engine.evaluate import ScpLevels

_DOCUMENT_FIELDS = ("Content", "Document", "PolicyDocument")


def _scp(entry: object, level: int, index: int) -> Policy:
    name = f"SCP #{index}"
    arn: str | None = None
    document = entry
    if isinstance(entry, Mapping) and "Statement" not in entry:
        field = next((f for f in _DOCUMENT_FIELDS if f in entry), None)
        if field is None:
            raise SnapshotError(f"SCP #{index} at level {level} has neither Statement nor Content")
        document = entry[field]
        name = str(entry.get("Name") or entry.get("PolicyName") or name)
        arn = entry.get("Arn") or entry.get("Id")
        target = entry.get("Target")
        if target:
            name = f"{name} (attached to {target})"
    source = PolicySource(LayerKind.SCP, name, arn if isinstance(arn, str) else None, scp_level=level)
    return parse_policy(document, source)


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
