"""Planned SCP changes laid over the account's SCP levels (root first), as ``--scps`` gives them.

An SCP change reaches the account only at the levels on its path: the root, its OUs, the account
itself (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html).
Each level of the SCP file says where it is through its entries' ``Target`` (an id, or a description
that holds one); the root and the account level are known without it. A change that cannot be
placed, or that names an SCP the file cannot tell apart from others, is uncertain, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restorewatch.engine import LayerKind
from restorewatch_cli.whatif.best_case import ALLOW_ALL, Uncertainty
from restorewatch_cli.whatif.changes import Unknown

if TYPE_CHECKING:
    from restorewatch_cli.whatif.changes import AttachScp, Change, DeleteScp, DetachScp, Name, PutScp, ScpRef

__all__ = ["ScpOverlay"]

_TARGET_ID = re.compile(r"\b(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|\d{12})\b")


def _pseudo(value: Unknown) -> str:
    return f"<{value.key}>"


@dataclass(slots=True)
class _Scps:
    """The SCP levels (root first) being changed, and where each level sits in the organization."""

    levels: list[list[Any]]
    targets: list[set[str]] = field(default_factory=list)

    @classmethod
    def of(cls, levels: list[list[Any]], account: str) -> _Scps:
        copied = [list(level) for level in levels]
        targets: list[set[str]] = []
        for number, level in enumerate(copied):
            ids: set[str] = set()
            for entry in level:
                if isinstance(entry, Mapping):
                    for key in ("Target", "TargetId"):
                        ids.update(_TARGET_ID.findall(str(entry.get(key) or "")))
            if number == 0:
                ids.add("#root")
            if number == len(copied) - 1 and account:
                ids.add(account)
            targets.append(ids)
        return cls(copied, targets)

    def place(self, target: Name) -> list[int] | None:
        """The levels ``target`` is, ``[]`` when it is not on this account's path, ``None`` when
        that cannot be told (an OU level of the SCP file that names no target)."""
        if isinstance(target, Unknown):
            return None
        if target.startswith("r-"):
            return [0] if self.levels else []
        found = [number for number, ids in enumerate(self.targets) if target in ids]
        if found:
            return found
        if re.fullmatch(r"\d{12}", target):
            return []  # another account
        unnamed = [n for n in range(1, len(self.levels) - 1) if len(self.targets[n]) == 0]
        return None if unnamed else []

    @staticmethod
    def matches(entry: object, ref: ScpRef) -> bool | None:
        """Whether ``entry`` is the SCP ``ref``; None when nothing tells (a plain document, or an
        entry with only a name when only the policy id is known)."""
        if not isinstance(entry, Mapping) or "Statement" in entry:
            return None
        policy_id = ref.policy_id
        entry_id, entry_arn = entry.get("Id"), str(entry.get("Arn") or "")
        if isinstance(policy_id, str) and (entry_id or entry_arn):
            return entry_id == policy_id or entry_arn.endswith(f"/{policy_id}")
        entry_name = entry.get("Name") or entry.get("PolicyName")
        if isinstance(ref.name, str) and entry_name:
            return bool(entry_name == ref.name)
        return None


class ScpOverlay:
    """The SCP levels being changed (None: the account's SCPs were not given), what became
    uncertain for every principal, and whether anything changed."""

    def __init__(self, levels: list[list[Any]] | None, account: str) -> None:
        self.levels = _Scps.of(levels, account) if levels is not None else None
        self.changed = False
        self.everyone: list[Uncertainty] = []
        self.new_scps: dict[str, tuple[Any, str | None]] = {}  # id, name or key -> content, unknown

    def _scp_unplaced(self, change: Change, what: str, *, total: bool) -> None:
        """An SCP change that may reach this account's levels, but nobody can say which."""
        self.changed = True
        self.everyone.append(Uncertainty(LayerKind.SCP, f"{change.source}: {what}", total=total))
        if self.levels is not None and not total:
            for level in self.levels.levels:
                level.append({"Name": f"{change.source} (known only after apply)", "Content": ALLOW_ALL})

    def _scp_keys(self, ref: ScpRef) -> list[str]:
        keys = [ref.policy_id if isinstance(ref.policy_id, str) else _pseudo(ref.policy_id)]
        if isinstance(ref.name, str):
            keys.append(f"name:{ref.name}")
        return keys

    def _scp_content(self, change: Change, content: Any, what: str | None) -> Any:
        """``content`` placed at one of this account's levels: a best case says so."""
        self.changed = True
        if what is not None:
            self.everyone.append(Uncertainty(LayerKind.SCP, f"{change.source}: {what}"))
        return content

    def put(self, change: PutScp) -> None:
        content: Any = change.document
        what = None
        if isinstance(content, Unknown):
            what, content = f"SCP document ({content.what})", ALLOW_ALL
        for key in self._scp_keys(change.policy):
            self.new_scps[key] = (content, what)
        if self.levels is None:
            self._no_scps(change)
            return
        unsure = False
        for level in self.levels.levels:
            for number, entry in enumerate(level):
                found = _Scps.matches(entry, change.policy)
                if found:
                    level[number] = {**entry, "Content": self._scp_content(change, content, what)}
                unsure = unsure or found is None
        if unsure and not isinstance(change.policy.policy_id, Unknown):
            # an existing policy the SCP file cannot tell apart from the others
            what = (
                "an SCP of the SCP file that cannot be told apart (give each an Id or Name) may be this one"
            )
            self._scp_unplaced(change, what, total=True)

    def delete(self, change: DeleteScp) -> None:
        if self.levels is None:
            self._no_scps(change)
            return
        for level in self.levels.levels:
            kept = [entry for entry in level if not _Scps.matches(entry, change.policy)]
            if len(kept) != len(level):
                self.changed = True
                level[:] = kept

    def attach(self, change: AttachScp) -> None:
        if self.levels is None:
            self._no_scps(change)
            return
        known = [self.new_scps[k] for k in self._scp_keys(change.policy) if k in self.new_scps]
        content, what = known[0] if known else (None, None)
        if content is None:
            content = next(
                (
                    entry.get("Content") or entry.get("Document") or entry.get("PolicyDocument")
                    for level in self.levels.levels
                    for entry in level
                    if _Scps.matches(entry, change.policy)
                ),
                None,
            )
        levels = self.levels.place(change.target)
        if levels is None:
            self._scp_unplaced(change, f"an SCP attached to {self._target_word(change.target)}", total=False)
            return
        name = change.policy.name if isinstance(change.policy.name, str) else None
        policy_id = change.policy.policy_id if isinstance(change.policy.policy_id, str) else None
        if content is None:
            label = policy_id or name or change.source
            what, content = (
                f"the content of SCP {label}, which neither the plan nor the SCP file has",
                ALLOW_ALL,
            )
        for number in levels:
            entry: dict[str, Any] = {"Name": name or policy_id or change.source, "Target": str(change.target)}
            if policy_id:
                entry["Id"] = policy_id
            entry["Content"] = self._scp_content(change, content, what)
            self.levels.levels[number].append(entry)

    def detach(self, change: DetachScp) -> None:
        if self.levels is None:
            self._no_scps(change)
            return
        levels = self.levels.place(change.target)
        if levels is None:
            target = self._target_word(change.target)
            self._scp_unplaced(change, f"an SCP detached from {target}", total=True)
            return
        for number in levels:
            level = self.levels.levels[number]
            found = [_Scps.matches(entry, change.policy) for entry in level]
            if True in found:
                level.pop(found.index(True))
                self.changed = True
            elif None in found:
                what = "an SCP detached from a level whose SCPs cannot be told apart (give each an Id)"
                self._scp_unplaced(change, what, total=True)

    def _target_word(self, target: Name) -> str:
        return target.what if isinstance(target, Unknown) else f"{target}, which the SCP file does not place"

    def _no_scps(self, change: Change) -> None:
        what = "an SCP change, which can be evaluated only with --scps (the account's SCP levels)"
        self.everyone.append(Uncertainty(LayerKind.SCP, f"{change.source}: {what}"))
        self.changed = True
