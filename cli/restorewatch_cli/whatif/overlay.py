"""Planned changes laid over an account: the authorization details (and SCP levels) after them.

The overlay is pure: it copies only the entries a change touches, so the account before stays as
it was and both can be checked side by side. It also says which principals the changes touch:
the users and roles named, the members of a changed group, every principal using a changed
managed policy (directly, through a group, or as its permissions boundary), and every principal
when an SCP changes.

What the plan cannot know yet is never guessed. The overlay applies the *best case* instead (an
unknown document allows everything, an unknown boundary is no boundary, an unknown set of
policies is replaced by one that allows everything) and records an ``Uncertainty`` for each
principal it concerns. Every action that is denied even in the best case is denied whatever the
value turns out to be (adding an Allow or removing a Deny can never take an action away:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html); every
other answer that depends on it is ``unknown``. A change the overlay cannot place at all (a removal
from a principal it cannot name) is a ``total`` uncertainty: every answer of those principals is
unknown, denials included.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from restorewatch.engine import AccountSnapshot, LayerKind, parse_scps
from restorewatch_cli.whatif.best_case import ALLOW_ALL, Uncertainty
from restorewatch_cli.whatif.changes import (
    AddMember,
    Attach,
    AttachScp,
    CreateEntity,
    DeleteEntity,
    DeleteInline,
    DeletePolicy,
    DeleteScp,
    Detach,
    DetachScp,
    EntityKind,
    KeepInlines,
    Note,
    PutInline,
    PutPolicy,
    PutScp,
    RemoveMember,
    SetAttached,
    SetBoundary,
    SetInlines,
    SetMembers,
    SetPolicyHolders,
    SetTags,
    Unknown,
)
from restorewatch_cli.whatif.scp_overlay import ScpOverlay

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from restorewatch.engine import ScpLevels
    from restorewatch_cli.whatif.changes import Change, Name

__all__ = ["ALLOW_ALL", "AfterState", "Uncertainty", "apply_changes", "missing_policies"]

_LISTS = {
    EntityKind.USER: ("UserPolicyList", "user"),
    EntityKind.ROLE: ("RolePolicyList", "role"),
    EntityKind.GROUP: ("GroupPolicyList", "group"),
}


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


def _phase(change: Change) -> int:
    """Removals first, then what the rest refers to, then the rest: a replaced role is deleted
    before it is created again, and attached to only once it exists."""
    if isinstance(change, DeleteEntity | Detach | DeleteInline | RemoveMember | DeletePolicy):
        return 0
    if isinstance(change, KeepInlines | SetAttached | SetInlines | SetMembers | SetPolicyHolders):
        return 3  # exclusive settings: after whatever else the plan adds
    if isinstance(change, DeleteScp | DetachScp):
        return 0
    if isinstance(change, CreateEntity | PutPolicy | PutScp):
        return 1
    return 2


def apply_changes(
    snapshot: AccountSnapshot,
    changes: Sequence[Change],
    *,
    scp_levels: list[list[Any]] | None,
    tag_key: str,
    account: str | None = None,
) -> AfterState:
    """The account after ``changes`` (``scp_levels``: the raw ``--scps`` levels, or None;
    ``account``: the account id, when the snapshot has no principal to tell it)."""
    overlay = _Overlay(snapshot, scp_levels, tag_key, account or snapshot.account_id)
    for change in sorted(changes, key=_phase):
        overlay.apply(change)
    return overlay.result()


def _pseudo(value: Unknown) -> str:
    return f"<{value.key}>"


class _Overlay:
    def __init__(
        self, snapshot: AccountSnapshot, scp_levels: list[list[Any]] | None, tag_key: str, account: str
    ) -> None:
        self.before = snapshot
        self.tag_key = tag_key
        self.account = account
        self.users: dict[str, Mapping[str, Any]] = dict(snapshot.users)
        self.roles: dict[str, Mapping[str, Any]] = dict(snapshot.roles)
        self.groups: dict[str, Mapping[str, Any]] = dict(snapshot.groups)
        self.policies: dict[str, Mapping[str, Any]] = dict(snapshot.policies)
        self.scp = ScpOverlay(scp_levels, account)
        self.before_scp_levels = scp_levels
        self._owned: set[tuple[str, str]] = set()  # entries copied already (table, key)
        self._names: dict[EntityKind, dict[str, str]] = {}  # lower-case name -> key (ARN or name)
        self._created: dict[tuple[EntityKind, str], str] = {}  # unknown name key -> pseudo name
        self.touched_entities: set[tuple[EntityKind, str]] = set()  # (kind, key)
        self.touched_policies: set[str] = set()
        self.uncertain: dict[tuple[EntityKind, str], list[Uncertainty]] = defaultdict(list)
        self.uncertain_policies: dict[str, str] = {}
        self.of_kind: dict[EntityKind, list[Uncertainty]] = defaultdict(list)
        self.unknown_tags: dict[str, str] = {}
        self.notes: list[str] = []

    # -- tables ----------------------------------------------------------------------------------

    def _table(self, kind: EntityKind) -> dict[str, Mapping[str, Any]]:
        return {EntityKind.USER: self.users, EntityKind.ROLE: self.roles, EntityKind.GROUP: self.groups}[kind]

    def _index(self, kind: EntityKind) -> dict[str, str]:
        index = self._names.get(kind)
        if index is None:
            field_name = {EntityKind.USER: "UserName", EntityKind.ROLE: "RoleName"}.get(kind, "GroupName")
            index = {str(entry.get(field_name, "")).lower(): key for key, entry in self._table(kind).items()}
            self._names[kind] = index
        return index

    def _name(self, kind: EntityKind, name: Name) -> str | None:
        """The plain name ``name`` stands for: itself, the name an entity created in the same
        change was given, or None when nothing can tell (an unknown from elsewhere)."""
        if isinstance(name, str):
            return name
        return self._created.get((kind, name.key))

    def _key(self, kind: EntityKind, name: Name) -> str | None:
        """The table key (ARN, or group name) of an existing entity, any letter case."""
        plain = self._name(kind, name)
        if plain is None:
            return None
        return self._index(kind).get(plain.lower())

    def _own(self, kind: EntityKind, key: str) -> dict[str, Any]:
        """The entry at ``key``, copied once so the account before is never changed."""
        table = self._table(kind)
        if (kind.value, key) not in self._owned:
            table[key] = dict(table[key])
            self._owned.add((kind.value, key))
        entry = table[key]
        assert isinstance(entry, dict)
        self.touched_entities.add((kind, key))
        return entry

    def _arn(self, kind: EntityKind, name: str, path: str) -> str:
        return f"arn:aws:iam::{self.account}:{kind.value}{path}{name}"

    def _policy_arn(self, arn: Name) -> str | None:
        if isinstance(arn, str):
            return arn
        pseudo = _pseudo(arn)
        return pseudo if pseudo in self.policies else None

    # -- applying one change -----------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        handler = getattr(self, f"_apply_{type(change).__name__}")
        handler(change)

    def _missing(self, kind: EntityKind, name: Name, change: Change, *, removal: bool) -> None:
        """``change`` names an entity the overlay cannot find."""
        if isinstance(name, Unknown) and self._name(kind, name) is None:
            # it could be any entity of that kind
            layer_word = "removal" if removal else "change"
            what = f"{change.source}: the {kind.value} of this {layer_word} ({name.what})"
            self.of_kind[kind].append(Uncertainty(LayerKind.IDENTITY, what, total=removal))
            return
        if not removal:
            self.notes.append(
                f"{change.source}: {kind.value} {self._name(kind, name)} is neither in the account "
                "nor created by the change; the change was not applied"
            )

    def _apply_Note(self, change: Note) -> None:
        self.notes.append(f"{change.source}: {change.text}")

    def _apply_CreateEntity(self, change: CreateEntity) -> None:
        kind = change.kind
        plain = change.name if isinstance(change.name, str) else _pseudo(change.name)
        if isinstance(change.name, Unknown):
            self._created[(kind, change.name.key)] = plain
        if self._key(kind, plain) is not None:
            return  # an update of an existing entity
        if kind is EntityKind.GROUP:
            key = plain
            entry: dict[str, Any] = {
                "GroupName": plain,
                "Path": change.path,
                "Arn": self._arn(kind, plain, change.path),
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [],
            }
        else:
            key = self._arn(kind, plain, change.path)
            name_field, list_field = ("UserName", "UserPolicyList")
            if kind is EntityKind.ROLE:
                name_field, list_field = ("RoleName", "RolePolicyList")
            entry = {
                "Path": change.path,
                name_field: plain,
                "Arn": key,
                list_field: [],
                "AttachedManagedPolicies": [],
                "Tags": [],
            }
            if kind is EntityKind.USER:
                entry["GroupList"] = []
        self._table(kind)[key] = entry
        self._owned.add((kind.value, key))
        self._index(kind)[plain.lower()] = key
        self.touched_entities.add((kind, key))

    def _apply_DeleteEntity(self, change: DeleteEntity) -> None:
        key = self._key(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=True)
            return
        self.touched_entities.add((change.kind, key))
        if change.kind is EntityKind.GROUP:
            # its members leave it (IAM deletes a group only once it has none)
            for user_key, user in list(self.users.items()):
                if key in (user.get("GroupList") or ()):
                    entry = self._own(EntityKind.USER, user_key)
                    entry["GroupList"] = [g for g in entry["GroupList"] if g != key]
        del self._table(change.kind)[key]
        self._index(change.kind).pop(key.rsplit("/", 1)[-1].lower(), None)

    def _apply_SetTags(self, change: SetTags) -> None:
        key = self._key(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=True)
            return
        entry = self._own(change.kind, key)
        if isinstance(change.tags, Unknown):
            self.unknown_tags[key] = f"{change.source}: {change.tags.what}"
            self.uncertain[(change.kind, key)].append(
                Uncertainty(LayerKind.IDENTITY, f"{change.source}: tags ({change.tags.what})", total=True)
            )
            return
        entry["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(change.tags.items())]

    def _apply_SetBoundary(self, change: SetBoundary) -> None:
        key = self._key(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=False)
            return
        entry = self._own(change.kind, key)
        entry.pop("PermissionsBoundary", None)
        arn = change.arn
        if arn is None:
            return
        resolved = self._policy_arn(arn)
        if resolved is None:
            assert isinstance(arn, Unknown)
            what = f"{change.source}: permissions boundary ({arn.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.BOUNDARY, what))
            return
        entry["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": resolved,
        }

    def _inline_list(self, kind: EntityKind, entry: dict[str, Any]) -> list[Any]:
        list_field = _LISTS[kind][0]
        policies = list(entry.get(list_field) or [])
        entry[list_field] = policies
        return policies

    def _document(self, document: Any, kind: EntityKind, key: str, what: str) -> Any:
        if isinstance(document, Unknown):
            self.uncertain[(kind, key)].append(Uncertainty(LayerKind.IDENTITY, f"{what} ({document.what})"))
            return ALLOW_ALL
        return document

    def _apply_PutInline(self, change: PutInline) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=False)
            return
        entry = self._own(change.kind, key)
        name = change.policy if isinstance(change.policy, str) else _pseudo(change.policy)
        document = self._document(change.document, change.kind, key, f"{change.source}: inline policy {name}")
        policies = [p for p in self._inline_list(change.kind, entry) if p.get("PolicyName") != name]
        policies.append({"PolicyName": name, "PolicyDocument": document})
        entry[_LISTS[change.kind][0]] = policies

    def _apply_DeleteInline(self, change: DeleteInline) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self._own(change.kind, key)
        if isinstance(change.policy, Unknown):
            what = f"{change.source}: the inline policy it deletes ({change.policy.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        entry[_LISTS[change.kind][0]] = [
            p for p in self._inline_list(change.kind, entry) if p.get("PolicyName") != change.policy
        ]

    def _apply_SetInlines(self, change: SetInlines) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self._own(change.kind, key)
        list_field = _LISTS[change.kind][0]
        if isinstance(change.policies, Unknown):
            entry[list_field] = []
            what = f"{change.source}: inline policies ({change.policies.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        entry[list_field] = [
            {
                "PolicyName": name,
                "PolicyDocument": self._document(
                    document, change.kind, key, f"{change.source}: inline policy {name}"
                ),
            }
            for name, document in change.policies.items()
        ]

    def _apply_KeepInlines(self, change: KeepInlines) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self._own(change.kind, key)
        names = change.names
        if isinstance(names, Unknown) or any(isinstance(n, Unknown) for n in names):
            what = f"{change.source}: the inline policies it keeps"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        kept = {str(name) for name in names}
        entry[_LISTS[change.kind][0]] = [
            p for p in self._inline_list(change.kind, entry) if p.get("PolicyName") in kept
        ]

    def _attached(self, entry: dict[str, Any]) -> list[Any]:
        attached = list(entry.get("AttachedManagedPolicies") or [])
        entry["AttachedManagedPolicies"] = attached
        return attached

    def _attach(self, kind: EntityKind, key: str, arn: Name, source: str) -> None:
        resolved = self._policy_arn(arn)
        if resolved is None:
            assert isinstance(arn, Unknown)
            what = f"{source}: the managed policy it attaches ({arn.what})"
            self.uncertain[(kind, key)].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        entry = self._own(kind, key)
        attached = self._attached(entry)
        if not any(item.get("PolicyArn") == resolved for item in attached):
            name = self.policies.get(resolved, {}).get("PolicyName") or resolved.rsplit("/", 1)[-1]
            attached.append({"PolicyName": name, "PolicyArn": resolved})

    def _detach(self, kind: EntityKind, key: str, arn: Name, source: str) -> None:
        entry = self._own(kind, key)
        resolved = self._policy_arn(arn)
        if resolved is None:
            assert isinstance(arn, Unknown)
            what = f"{source}: the managed policy it detaches ({arn.what})"
            self.uncertain[(kind, key)].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        entry["AttachedManagedPolicies"] = [
            item for item in self._attached(entry) if item.get("PolicyArn") != resolved
        ]

    def _apply_Attach(self, change: Attach) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=False)
            return
        self._attach(change.kind, key, change.arn, change.source)

    def _apply_Detach(self, change: Detach) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        self._detach(change.kind, key, change.arn, change.source)

    def _apply_SetAttached(self, change: SetAttached) -> None:
        key = self._key(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self._own(change.kind, key)
        entry["AttachedManagedPolicies"] = []
        if isinstance(change.arns, Unknown):
            what = f"{change.source}: managed policies ({change.arns.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        for arn in sorted(change.arns, key=str):
            self._attach(change.kind, key, arn, change.source)

    def _membership(self, user: Name, group: Name, change: Change, *, add: bool) -> None:
        user_key = self._key(EntityKind.USER, user)
        group_name = self._key(EntityKind.GROUP, group)
        if user_key is None:
            self._missing(EntityKind.USER, user, change, removal=not add)
            return
        if group_name is None:
            if isinstance(group, Unknown) and self._name(EntityKind.GROUP, group) is None:
                what = f"{change.source}: the group ({group.what})"
                self.uncertain[(EntityKind.USER, user_key)].append(
                    Uncertainty(LayerKind.IDENTITY, what, total=not add)
                )
                self.touched_entities.add((EntityKind.USER, user_key))
            elif add:
                self._missing(EntityKind.GROUP, group, change, removal=False)
            return
        entry = self._own(EntityKind.USER, user_key)
        groups = [g for g in (entry.get("GroupList") or []) if g != group_name]
        if add:
            groups.append(group_name)
        entry["GroupList"] = groups
        self.touched_entities.add((EntityKind.GROUP, group_name))

    def _apply_AddMember(self, change: AddMember) -> None:
        self._membership(change.user, change.group, change, add=True)

    def _apply_RemoveMember(self, change: RemoveMember) -> None:
        self._membership(change.user, change.group, change, add=False)

    def _apply_SetMembers(self, change: SetMembers) -> None:
        group_name = self._key(EntityKind.GROUP, change.group)
        if group_name is None:
            self._missing(EntityKind.GROUP, change.group, change, removal=True)
            return
        self.touched_entities.add((EntityKind.GROUP, group_name))
        for user_key, user in list(self.users.items()):
            if group_name in (user.get("GroupList") or ()):
                entry = self._own(EntityKind.USER, user_key)
                entry["GroupList"] = [g for g in entry["GroupList"] if g != group_name]
        if isinstance(change.users, Unknown):
            what = f"{change.source}: the members of group {group_name} ({change.users.what})"
            self.of_kind[EntityKind.USER].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        for member in sorted(change.users, key=str):
            self._membership(member, group_name, change, add=True)

    def _apply_SetPolicyHolders(self, change: SetPolicyHolders) -> None:
        arn = self._policy_arn(change.arn)
        if arn is None:
            what = f"{change.source}: the managed policy it attaches"
            for kind in EntityKind:
                self.of_kind[kind].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        for kind, holders in (
            (EntityKind.USER, change.users),
            (EntityKind.ROLE, change.roles),
            (EntityKind.GROUP, change.groups),
        ):
            for key, entry in list(self._table(kind).items()):
                if any(item.get("PolicyArn") == arn for item in entry.get("AttachedManagedPolicies") or ()):
                    self._detach(kind, key, arn, change.source)
            if isinstance(holders, Unknown):
                what = f"{change.source}: the {kind.value}s policy {arn} is attached to ({holders.what})"
                self.of_kind[kind].append(Uncertainty(LayerKind.IDENTITY, what))
                continue
            for holder in sorted(holders, key=str):
                holder_key = self._key(kind, holder)
                if holder_key is None:
                    self._missing(kind, holder, change, removal=False)
                else:
                    self._attach(kind, holder_key, arn, change.source)

    def _apply_PutPolicy(self, change: PutPolicy) -> None:
        arn = change.arn if isinstance(change.arn, str) else _pseudo(change.arn)
        name = change.name if isinstance(change.name, str) else _pseudo(change.name)
        document = change.document
        if isinstance(document, Unknown):
            self.uncertain_policies[arn] = f"{change.source}: policy document ({document.what})"
            document = ALLOW_ALL
        entry = dict(self.policies.get(arn) or {"Arn": arn, "Path": "/"})
        entry["PolicyName"] = entry.get("PolicyName") or name
        # a changed document is a new default version, and only the default version counts
        # (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html)
        entry["PolicyVersionList"] = [
            {"Document": document, "VersionId": "planned", "IsDefaultVersion": True}
        ]
        entry["DefaultVersionId"] = "planned"
        self.policies[arn] = entry
        self.touched_policies.add(arn)

    def _apply_DeletePolicy(self, change: DeletePolicy) -> None:
        arn = self._policy_arn(change.arn)
        if arn is None or arn not in self.policies:
            return
        # IAM deletes a policy only once it is detached from everything: the plan detaches it
        for kind in EntityKind:
            for key, entry in list(self._table(kind).items()):
                if any(item.get("PolicyArn") == arn for item in entry.get("AttachedManagedPolicies") or ()):
                    self._detach(kind, key, arn, change.source)
        del self.policies[arn]
        self.touched_policies.add(arn)

    # -- SCPs --------------------------------------------------------------------------------------

    def _apply_PutScp(self, change: PutScp) -> None:
        self.scp.put(change)

    def _apply_DeleteScp(self, change: DeleteScp) -> None:
        self.scp.delete(change)

    def _apply_AttachScp(self, change: AttachScp) -> None:
        self.scp.attach(change)

    def _apply_DetachScp(self, change: DetachScp) -> None:
        self.scp.detach(change)

    # -- the result ------------------------------------------------------------------------------

    def result(self) -> AfterState:
        snapshot = AccountSnapshot(self.users, self.roles, self.groups, self.policies)
        touched, uncertain = self._touched()
        tags = dict(self.unknown_tags)
        return AfterState(
            snapshot=snapshot,
            scp_levels=self.scp.levels.levels if self.scp.levels is not None else None,
            before_scp_levels=self.before_scp_levels,
            touched=frozenset(touched),
            uncertain={arn: tuple(items) for arn, items in uncertain.items()},
            everyone=tuple(self.scp.everyone),
            unknown_tags=tags,
            notes=tuple(self.notes),
        )

    def _touched(self) -> tuple[set[str], dict[str, list[Uncertainty]]]:
        """Every principal whose permissions or tags may change, with its uncertainties."""
        touched_groups = {key for kind, key in self.touched_entities if kind is EntityKind.GROUP}
        group_uncertain: dict[str, list[Uncertainty]] = {}
        uncertain: dict[str, list[Uncertainty]] = defaultdict(list)
        for (kind, key), items in self.uncertain.items():
            if kind is EntityKind.GROUP:
                touched_groups.add(key)
                group_uncertain[key] = items
            else:
                uncertain[key].extend(items)
        policies = self.touched_policies | set(self.uncertain_policies)
        touched = {key for kind, key in self.touched_entities if kind is not EntityKind.GROUP}
        # both sides: a user who leaves a changed group is touched as much as one who joins it;
        # what is uncertain after the change follows the memberships after it
        before = (self.before.users, self.before.roles, self.before.groups)
        after = (self.users, self.roles, self.groups)
        for side, (users, roles, groups) in enumerate((before, after)):
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
                    for policy in set(self.uncertain_policies).intersection(used):
                        what = self.uncertain_policies[policy]
                        if policy in direct | via_groups:
                            uncertain[arn].append(Uncertainty(LayerKind.IDENTITY, what))
                        if policy == boundary:
                            uncertain[arn].append(Uncertainty(LayerKind.BOUNDARY, what))
        for kind, items in self.of_kind.items():
            # an unknown group could be any group: every user could be in it
            principal_kind = EntityKind.USER if kind is EntityKind.GROUP else kind
            before_table = self.before.users if principal_kind is EntityKind.USER else self.before.roles
            for arn in (*before_table, *self._table(principal_kind)):
                touched.add(arn)
                uncertain[arn].extend(items)
        if self.scp.changed or self.scp.everyone:
            for table in (self.before.users, self.before.roles, self.users, self.roles):
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
