"""The account's IAM entities as a copy-on-write view: the tables ``overlay`` changes.

An entry is copied the first time a change touches it (``own``), so the account before the change
stays as it was and both can be checked side by side. Entities are found by name in any letter case
(IAM names are case-insensitive), and an entity the same change creates under a name known only
after apply is found by that unknown's key (``plain_name``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from restorewatch_cli.whatif.changes import EntityKind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.engine import AccountSnapshot
    from restorewatch_cli.whatif.changes import Name, Unknown

__all__ = ["EntityTables", "pseudo_name"]


def pseudo_name(value: Unknown) -> str:
    """The stand-in name of an entity or policy whose name is known only after apply."""
    return f"<{value.key}>"


class EntityTables:
    def __init__(self, snapshot: AccountSnapshot, account: str) -> None:
        self.account = account
        self.users: dict[str, Mapping[str, Any]] = dict(snapshot.users)
        self.roles: dict[str, Mapping[str, Any]] = dict(snapshot.roles)
        self.groups: dict[str, Mapping[str, Any]] = dict(snapshot.groups)
        self.policies: dict[str, Mapping[str, Any]] = dict(snapshot.policies)
        self.owned: set[tuple[str, str]] = set()  # entries copied already (table, key)
        self._names: dict[EntityKind, dict[str, str]] = {}  # lower-case name -> key (ARN or name)
        self.created: dict[tuple[EntityKind, str], str] = {}  # unknown name key -> pseudo name
        self.touched_entities: set[tuple[EntityKind, str]] = set()  # (kind, key)

    def table(self, kind: EntityKind) -> dict[str, Mapping[str, Any]]:
        return {EntityKind.USER: self.users, EntityKind.ROLE: self.roles, EntityKind.GROUP: self.groups}[kind]

    def name_index(self, kind: EntityKind) -> dict[str, str]:
        index = self._names.get(kind)
        if index is None:
            field_name = {EntityKind.USER: "UserName", EntityKind.ROLE: "RoleName"}.get(kind, "GroupName")
            index = {str(entry.get(field_name, "")).lower(): key for key, entry in self.table(kind).items()}
            self._names[kind] = index
        return index

    def plain_name(self, kind: EntityKind, name: Name) -> str | None:
        """The plain name ``name`` stands for: itself, the name an entity created in the same
        change was given, or None when nothing can tell (an unknown from elsewhere)."""
        if isinstance(name, str):
            return name
        return self.created.get((kind, name.key))

    def key_of(self, kind: EntityKind, name: Name) -> str | None:
        """The table key (ARN, or group name) of an existing entity, any letter case."""
        plain = self.plain_name(kind, name)
        if plain is None:
            return None
        return self.name_index(kind).get(plain.lower())

    def own(self, kind: EntityKind, key: str) -> dict[str, Any]:
        """The entry at ``key``, copied once so the account before is never changed."""
        table = self.table(kind)
        if (kind.value, key) not in self.owned:
            table[key] = dict(table[key])
            self.owned.add((kind.value, key))
        entry = table[key]
        assert isinstance(entry, dict)
        self.touched_entities.add((kind, key))
        return entry

    def arn(self, kind: EntityKind, name: str, path: str) -> str:
        return f"arn:aws:iam::{self.account}:{kind.value}{path}{name}"

    def policy_arn(self, arn: Name) -> str | None:
        if isinstance(arn, str):
            return arn
        pseudo = pseudo_name(arn)
        return pseudo if pseudo in self.policies else None
