"""The account after a planned change, and which principals the change reaches.

``AfterState`` is what ``overlay.apply_changes`` returns and ``compare`` reads; ``touched_principals``
works out, from what the overlay recorded, every principal whose permissions or watch tag the change
may alter (on both sides: a user leaving a changed group is touched as much as one joining it) and
what is known of each only after apply; ``missing_policies`` names the managed policies the account
data lacks.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorewatch.engine import AccountSnapshot, LayerKind, parse_scps
from restorewatch_cli.whatif.best_case import Uncertainty
from restorewatch_cli.whatif.changes import EntityKind

if TYPE_CHECKING:
    from collections.abc import Iterable

    from restorewatch.engine import ScpLevels

__all__ = ["AfterState", "missing_policies", "touched_principals"]


@dataclass(frozen=True, slots=True)
class AfterState:
    """The account after the changes, and what the comparison needs to know about them.

    ``touched``: principal ARNs (as each side spells them) whose permissions or watch tag the
    changes may alter; ``uncertain``: per ARN, what is known only after apply; ``everyone``:
    uncertainties of every principal (an SCP nobody can place); ``unknown_tags``: principals whose
    tags (so whether they are watched) are known only after apply; ``notes``: changes that could
    not be applied, said to the user.
    """

    snapshot: AccountSnapshot
    scp_levels: list[list[Any]] | None
    before_scp_levels: list[list[Any]] | None
    touched: frozenset[str]
    uncertain: Mapping[str, tuple[Uncertainty, ...]]
    everyone: tuple[Uncertainty, ...]
    unknown_tags: Mapping[str, str]
    notes: tuple[str, ...]

    @property
    def scps(self) -> ScpLevels | None:
        return parse_scps(self.scp_levels)

    def uncertainties(self, arn: str) -> tuple[Uncertainty, ...]:
        return self.everyone + self.uncertain.get(arn, ())


def touched_principals(
    before: AccountSnapshot,
    after: AccountSnapshot,
    *,
    entities: set[tuple[EntityKind, str]],
    touched_policies: set[str],
    entity_uncertain: Mapping[tuple[EntityKind, str], list[Uncertainty]],
    uncertain_policies: Mapping[str, str],
    of_kind: Mapping[EntityKind, list[Uncertainty]],
    scps_everyone: bool,
) -> tuple[set[str], dict[str, list[Uncertainty]]]:
    """Every principal whose permissions or tags may change, with its uncertainties, from what the
    overlay recorded: the entities and managed policies it touched, what it was not sure of (per
    entity, per policy, and of any entity of a kind), and whether an SCP change reaches everyone."""
    touched_groups = {key for kind, key in entities if kind is EntityKind.GROUP}
    group_uncertain: dict[str, list[Uncertainty]] = {}
    uncertain: dict[str, list[Uncertainty]] = defaultdict(list)
    for (kind, key), items in entity_uncertain.items():
        if kind is EntityKind.GROUP:
            touched_groups.add(key)
            group_uncertain[key] = items
        else:
            uncertain[key].extend(items)
    policies = touched_policies | set(uncertain_policies)
    touched = {key for kind, key in entities if kind is not EntityKind.GROUP}
    # both sides: a user who leaves a changed group is touched as much as one who joins it;
    # what is uncertain after the change follows the memberships after it
    before_tables = (before.users, before.roles, before.groups)
    after_tables = (after.users, after.roles, after.groups)
    for side, (users, roles, groups) in enumerate((before_tables, after_tables)):
        group_policies = {
            name: {item.get("PolicyArn") for item in entry.get("AttachedManagedPolicies") or ()}
            for name, entry in groups.items()
        }
        for table in (users, roles):
            for arn, entry in table.items():
                direct = {item.get("PolicyArn") for item in entry.get("AttachedManagedPolicies") or ()}
                boundary_info = entry.get("PermissionsBoundary")
                boundary = (
                    boundary_info.get("PermissionsBoundaryArn")
                    if isinstance(boundary_info, Mapping)
                    else None
                )
                member_of = [g for g in entry.get("GroupList") or () if isinstance(g, str)]
                via_groups = set().union(*(group_policies.get(g, set()) for g in member_of))
                used = direct | via_groups | {boundary}
                if used & policies or touched_groups.intersection(member_of):
                    touched.add(arn)
                if side == 0:
                    continue
                for group in member_of:
                    uncertain[arn].extend(group_uncertain.get(group, ()))
                for policy in set(uncertain_policies).intersection(used):
                    what = uncertain_policies[policy]
                    if policy in direct | via_groups:
                        uncertain[arn].append(Uncertainty(LayerKind.IDENTITY, what))
                    if policy == boundary:
                        uncertain[arn].append(Uncertainty(LayerKind.BOUNDARY, what))
    for kind, items in of_kind.items():
        # an unknown group could be any group: every user could be in it
        principal_kind = EntityKind.USER if kind is EntityKind.GROUP else kind
        before_table = before.users if principal_kind is EntityKind.USER else before.roles
        for arn in (*before_table, *(after.users if principal_kind is EntityKind.USER else after.roles)):
            touched.add(arn)
            uncertain[arn].extend(items)
    if scps_everyone:
        for table in (before.users, before.roles, after.users, after.roles):
            touched.update(table)
    # a principal something unknown may reach is touched, even if nothing known changed
    touched.update(arn for arn, items in uncertain.items() if items)
    return touched, {arn: _unique(items) for arn, items in uncertain.items() if items}


def missing_policies(after: AfterState) -> set[str]:
    """The managed policies touched principals use after the change that the account data lacks (an
    AWS managed policy nobody used before, that a new role attaches)."""
    snapshot = after.snapshot
    missing: set[str] = set()
    for arn in after.touched:
        entry = snapshot.users.get(arn) or snapshot.roles.get(arn)
        if entry is None:
            continue
        entries = [entry, *(snapshot.groups.get(g) or {} for g in entry.get("GroupList") or ())]
        used = {item.get("PolicyArn") for e in entries for item in e.get("AttachedManagedPolicies") or ()}
        boundary = entry.get("PermissionsBoundary")
        if isinstance(boundary, Mapping):
            used.add(boundary.get("PermissionsBoundaryArn"))
        missing |= {
            u for u in used if isinstance(u, str) and u.startswith("arn:") and u not in snapshot.policies
        }
    return missing


def _unique(items: Iterable[Uncertainty]) -> list[Uncertainty]:
    return list(dict.fromkeys(items))
