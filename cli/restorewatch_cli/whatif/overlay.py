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
from typing import TYPE_CHECKING, Any

from restorewatch.engine import AccountSnapshot, LayerKind
from restorewatch_cli.whatif.after_state import AfterState, touched_principals
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
from restorewatch_cli.whatif.tables import EntityTables, pseudo_name

if TYPE_CHECKING:
    from collections.abc import Sequence

    from restorewatch_cli.whatif.changes import Change, Name

__all__ = ["ALLOW_ALL", "Uncertainty", "apply_changes"]

_LISTS = {
    EntityKind.USER: ("UserPolicyList", "user"),
    EntityKind.ROLE: ("RolePolicyList", "role"),
    EntityKind.GROUP: ("GroupPolicyList", "group"),
}


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


class _Overlay(EntityTables):
    def __init__(
        self, snapshot: AccountSnapshot, scp_levels: list[list[Any]] | None, tag_key: str, account: str
    ) -> None:
        super().__init__(snapshot, account)
        self.before = snapshot
        self.tag_key = tag_key
        self.scp = ScpOverlay(scp_levels, account)
        self.before_scp_levels = scp_levels
        self.touched_policies: set[str] = set()
        self.uncertain: dict[tuple[EntityKind, str], list[Uncertainty]] = defaultdict(list)
        self.uncertain_policies: dict[str, str] = {}
        self.of_kind: dict[EntityKind, list[Uncertainty]] = defaultdict(list)
        self.unknown_tags: dict[str, str] = {}
        self.notes: list[str] = []

    # -- applying one change -----------------------------------------------------------------------

    def apply(self, change: Change) -> None:
        handler = getattr(self, f"_apply_{type(change).__name__}")
        handler(change)

    def _missing(self, kind: EntityKind, name: Name, change: Change, *, removal: bool) -> None:
        """``change`` names an entity the overlay cannot find."""
        if isinstance(name, Unknown) and self.plain_name(kind, name) is None:
            # it could be any entity of that kind
            layer_word = "removal" if removal else "change"
            what = f"{change.source}: the {kind.value} of this {layer_word} ({name.what})"
            self.of_kind[kind].append(Uncertainty(LayerKind.IDENTITY, what, total=removal))
            return
        if not removal:
            self.notes.append(
                f"{change.source}: {kind.value} {self.plain_name(kind, name)} is neither in the account "
                "nor created by the change; the change was not applied"
            )

    def _apply_Note(self, change: Note) -> None:
        self.notes.append(f"{change.source}: {change.text}")

    def _apply_CreateEntity(self, change: CreateEntity) -> None:
        kind = change.kind
        plain = change.name if isinstance(change.name, str) else pseudo_name(change.name)
        if isinstance(change.name, Unknown):
            self.created[(kind, change.name.key)] = plain
        if self.key_of(kind, plain) is not None:
            return  # an update of an existing entity
        if kind is EntityKind.GROUP:
            key = plain
            entry: dict[str, Any] = {
                "GroupName": plain,
                "Path": change.path,
                "Arn": self.arn(kind, plain, change.path),
                "GroupPolicyList": [],
                "AttachedManagedPolicies": [],
            }
        else:
            key = self.arn(kind, plain, change.path)
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
        self.table(kind)[key] = entry
        self.owned.add((kind.value, key))
        self.name_index(kind)[plain.lower()] = key
        self.touched_entities.add((kind, key))

    def _apply_DeleteEntity(self, change: DeleteEntity) -> None:
        key = self.key_of(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=True)
            return
        self.touched_entities.add((change.kind, key))
        if change.kind is EntityKind.GROUP:
            # its members leave it (IAM deletes a group only once it has none)
            for user_key, user in list(self.users.items()):
                if key in (user.get("GroupList") or ()):
                    entry = self.own(EntityKind.USER, user_key)
                    entry["GroupList"] = [g for g in entry["GroupList"] if g != key]
        del self.table(change.kind)[key]
        self.name_index(change.kind).pop(key.rsplit("/", 1)[-1].lower(), None)

    def _apply_SetTags(self, change: SetTags) -> None:
        key = self.key_of(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=True)
            return
        entry = self.own(change.kind, key)
        if isinstance(change.tags, Unknown):
            self.unknown_tags[key] = f"{change.source}: {change.tags.what}"
            self.uncertain[(change.kind, key)].append(
                Uncertainty(LayerKind.IDENTITY, f"{change.source}: tags ({change.tags.what})", total=True)
            )
            return
        entry["Tags"] = [{"Key": k, "Value": v} for k, v in sorted(change.tags.items())]

    def _apply_SetBoundary(self, change: SetBoundary) -> None:
        key = self.key_of(change.kind, change.name)
        if key is None:
            self._missing(change.kind, change.name, change, removal=False)
            return
        entry = self.own(change.kind, key)
        entry.pop("PermissionsBoundary", None)
        arn = change.arn
        if arn is None:
            return
        resolved = self.policy_arn(arn)
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
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=False)
            return
        entry = self.own(change.kind, key)
        name = change.policy if isinstance(change.policy, str) else pseudo_name(change.policy)
        document = self._document(change.document, change.kind, key, f"{change.source}: inline policy {name}")
        policies = [p for p in self._inline_list(change.kind, entry) if p.get("PolicyName") != name]
        policies.append({"PolicyName": name, "PolicyDocument": document})
        entry[_LISTS[change.kind][0]] = policies

    def _apply_DeleteInline(self, change: DeleteInline) -> None:
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self.own(change.kind, key)
        if isinstance(change.policy, Unknown):
            what = f"{change.source}: the inline policy it deletes ({change.policy.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        entry[_LISTS[change.kind][0]] = [
            p for p in self._inline_list(change.kind, entry) if p.get("PolicyName") != change.policy
        ]

    def _apply_SetInlines(self, change: SetInlines) -> None:
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self.own(change.kind, key)
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
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self.own(change.kind, key)
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
        resolved = self.policy_arn(arn)
        if resolved is None:
            assert isinstance(arn, Unknown)
            what = f"{source}: the managed policy it attaches ({arn.what})"
            self.uncertain[(kind, key)].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        entry = self.own(kind, key)
        attached = self._attached(entry)
        if not any(item.get("PolicyArn") == resolved for item in attached):
            name = self.policies.get(resolved, {}).get("PolicyName") or resolved.rsplit("/", 1)[-1]
            attached.append({"PolicyName": name, "PolicyArn": resolved})

    def _detach(self, kind: EntityKind, key: str, arn: Name, source: str) -> None:
        entry = self.own(kind, key)
        resolved = self.policy_arn(arn)
        if resolved is None:
            assert isinstance(arn, Unknown)
            what = f"{source}: the managed policy it detaches ({arn.what})"
            self.uncertain[(kind, key)].append(Uncertainty(LayerKind.IDENTITY, what, total=True))
            return
        entry["AttachedManagedPolicies"] = [
            item for item in self._attached(entry) if item.get("PolicyArn") != resolved
        ]

    def _apply_Attach(self, change: Attach) -> None:
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=False)
            return
        self._attach(change.kind, key, change.arn, change.source)

    def _apply_Detach(self, change: Detach) -> None:
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        self._detach(change.kind, key, change.arn, change.source)

    def _apply_SetAttached(self, change: SetAttached) -> None:
        key = self.key_of(change.kind, change.owner)
        if key is None:
            self._missing(change.kind, change.owner, change, removal=True)
            return
        entry = self.own(change.kind, key)
        entry["AttachedManagedPolicies"] = []
        if isinstance(change.arns, Unknown):
            what = f"{change.source}: managed policies ({change.arns.what})"
            self.uncertain[(change.kind, key)].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        for arn in sorted(change.arns, key=str):
            self._attach(change.kind, key, arn, change.source)

    def _membership(self, user: Name, group: Name, change: Change, *, add: bool) -> None:
        user_key = self.key_of(EntityKind.USER, user)
        group_name = self.key_of(EntityKind.GROUP, group)
        if user_key is None:
            self._missing(EntityKind.USER, user, change, removal=not add)
            return
        if group_name is None:
            if isinstance(group, Unknown) and self.plain_name(EntityKind.GROUP, group) is None:
                what = f"{change.source}: the group ({group.what})"
                self.uncertain[(EntityKind.USER, user_key)].append(
                    Uncertainty(LayerKind.IDENTITY, what, total=not add)
                )
                self.touched_entities.add((EntityKind.USER, user_key))
            elif add:
                self._missing(EntityKind.GROUP, group, change, removal=False)
            return
        entry = self.own(EntityKind.USER, user_key)
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
        group_name = self.key_of(EntityKind.GROUP, change.group)
        if group_name is None:
            self._missing(EntityKind.GROUP, change.group, change, removal=True)
            return
        self.touched_entities.add((EntityKind.GROUP, group_name))
        for user_key, user in list(self.users.items()):
            if group_name in (user.get("GroupList") or ()):
                entry = self.own(EntityKind.USER, user_key)
                entry["GroupList"] = [g for g in entry["GroupList"] if g != group_name]
        if isinstance(change.users, Unknown):
            what = f"{change.source}: the members of group {group_name} ({change.users.what})"
            self.of_kind[EntityKind.USER].append(Uncertainty(LayerKind.IDENTITY, what))
            return
        for member in sorted(change.users, key=str):
            self._membership(member, group_name, change, add=True)

    def _apply_SetPolicyHolders(self, change: SetPolicyHolders) -> None:
        arn = self.policy_arn(change.arn)
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
            for key, entry in list(self.table(kind).items()):
                if any(item.get("PolicyArn") == arn for item in entry.get("AttachedManagedPolicies") or ()):
                    self._detach(kind, key, arn, change.source)
            if isinstance(holders, Unknown):
                what = f"{change.source}: the {kind.value}s policy {arn} is attached to ({holders.what})"
                self.of_kind[kind].append(Uncertainty(LayerKind.IDENTITY, what))
                continue
            for holder in sorted(holders, key=str):
                holder_key = self.key_of(kind, holder)
                if holder_key is None:
                    self._missing(kind, holder, change, removal=False)
                else:
                    self._attach(kind, holder_key, arn, change.source)

    def _apply_PutPolicy(self, change: PutPolicy) -> None:
        arn = change.arn if isinstance(change.arn, str) else pseudo_name(change.arn)
        name = change.name if isinstance(change.name, str) else pseudo_name(change.name)
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
        arn = self.policy_arn(change.arn)
        if arn is None or arn not in self.policies:
            return
        # IAM deletes a policy only once it is detached from everything: the plan detaches it
        for kind in EntityKind:
            for key, entry in list(self.table(kind).items()):
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
        touched, uncertain = touched_principals(
            self.before,
            snapshot,
            entities=self.touched_entities,
            touched_policies=self.touched_policies,
            entity_uncertain=self.uncertain,
            uncertain_policies=self.uncertain_policies,
            of_kind=self.of_kind,
            scps_everyone=self.scp.changed or bool(self.scp.everyone),
        )
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
