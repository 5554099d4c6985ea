"""``FakeOrganization`` and ``FakeOrgView``: an AWS organization as data, and the ``watch.modes.OrgView``
the watcher reads it through (met in AWS by ``inventory.OrganizationsScpSource``).

Like the real view: an account's SCP levels run from the root through its OUs to the account
itself, each level the SCPs attached there (``parse_scps`` over the same ``{"Name", "Content",
"Target"}`` entries); the management account is ``not_applicable`` (SCPs do not affect it), as is
every account when the SCP policy type is not enabled; a read that fails (``fail[account]``) makes
the coverage ``not_evaluated`` with the failure's kind (``transient`` for throttling and 5xx,
``permanent`` for AccessDenied), and an SCP that cannot be parsed ``unparsable``; ``accounts_below``
walks the OUs; ``account_ids`` fails with ``fail["accounts"]``. RCPs (``rcps``) follow the same path
when ``rcps_enabled`` (off by default, as in a new organization), with ``RCPFullAWSAccess`` at every
level, the management account ``not_applicable``, and a failed read said as "RCP";
``organization_of`` gives the organization's ID and the account's path (``o-.../r-.../ou-.../``).
tests/contracts/test_org_view_contract.py holds this view and the real one on moto to the same
assertions.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from restorewatch.compliance import ScpCoverage, ScpFailure, ScpStatus
from restorewatch.engine import parse_rcps, parse_scps
from restorewatch.errors import InputError, ReadError
from restorewatch.inventory.organizations import AccountRcps

if TYPE_CHECKING:
    from restorewatch.engine import ScpLevels


@dataclass(frozen=True, slots=True)
class Scp:
    policy_id: str
    name: str
    content: str  # the document as Organizations returns it: JSON text


RCP_FULL_ACCESS = Scp(
    "p-RCPFullAWSAccess",
    "RCPFullAWSAccess",
    json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
        }
    ),
)

FULL_ACCESS = Scp(
    "p-FullAWSAccess",
    "FullAWSAccess",
    json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}),
)


def deny_scp(policy_id: str, name: str, *actions: str) -> Scp:
    document = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Action": list(actions), "Resource": "*"}],
    }
    return Scp(policy_id, name, json.dumps(document))


@dataclass
class FakeOrganization:
    """The organization: ``parents`` maps each OU and account to its parent (the root has none)."""

    management: str
    root: str = "r-root"
    parents: dict[str, str] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)  # account and OU names
    attached: dict[str, list[Scp]] = field(default_factory=dict)  # target id -> SCPs attached there
    scps_enabled: bool = True
    fail: dict[str, ReadError] = field(default_factory=dict)
    org_id: str = "o-fake0000"
    rcps_enabled: bool = False
    rcps_attached: dict[str, list[Scp]] = field(default_factory=dict)  # target id -> RCPs attached there

    def __post_init__(self) -> None:
        self.attached.setdefault(self.root, [FULL_ACCESS])
        self.add_account(self.management, "management")

    def add_ou(self, ou: str, name: str, parent: str | None = None) -> str:
        self.parents[ou] = parent or self.root
        self.names[ou] = name
        self.attached.setdefault(ou, [FULL_ACCESS])
        return ou

    def add_account(self, account: str, name: str, parent: str | None = None) -> str:
        self.parents[account] = parent or self.root
        self.names[account] = name
        self.attached.setdefault(account, [FULL_ACCESS])
        return account

    def attach_rcp(self, rcp: Scp, target: str) -> None:
        self.rcps_attached.setdefault(target, []).append(rcp)

    def attach(self, scp: Scp, target: str) -> None:
        self.attached.setdefault(target, []).append(scp)

    def detach(self, policy_id: str, target: str) -> None:
        self.attached[target] = [scp for scp in self.attached[target] if scp.policy_id != policy_id]

    def accounts(self) -> list[str]:
        return [node for node in self.parents if node.isdigit()]

    def view(self) -> FakeOrgView:
        return FakeOrgView(self)


class FakeOrgView:
    """One run's view of a ``FakeOrganization`` (``OrgView``); reads it live, counting calls."""

    def __init__(self, organization: FakeOrganization) -> None:
        self.organization = organization
        self.calls: Counter[str] = Counter()

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def account_ids(self) -> list[str]:
        self.calls["ListAccounts"] += 1
        if (failure := self.organization.fail.get("accounts")) is not None:
            raise failure
        return self.organization.accounts()

    def accounts_below(self, target: str) -> list[str]:
        if target.isdigit():
            return [target]
        self.calls["ListAccountsForParent"] += 1
        below = []
        for node in self.organization.parents:
            if node.isdigit() and target in self._path(node):
                below.append(node)
        return below

    def targets_of(self, policy_id: str) -> list[str]:
        self.calls["ListTargetsForPolicy"] += 1
        return [
            target
            for target, scps in self.organization.attached.items()
            if any(s.policy_id == policy_id for s in scps)
        ]

    def account_name(self, account: str) -> str | None:
        self.calls["DescribeAccount"] += 1
        return self.organization.names.get(account)

    def levels(self, account: str) -> ScpLevels | None:
        return self._read(account)[0]

    def coverage(self, account: str) -> ScpCoverage:
        return self._read(account)[1]

    def organization_of(self, account: str) -> tuple[str | None, tuple[str, ...]]:
        self.calls["DescribeOrganization"] += 1
        if account not in self.organization.parents:
            return None, ()
        ancestors = self._path(account)[:-1]  # the root and the OUs, as ListParents walks them
        return self.organization.org_id, ("/".join([self.organization.org_id, *ancestors]) + "/",)

    def rcps(self, account: str) -> AccountRcps:
        org = self.organization
        self.calls["ListPoliciesForTarget"] += 1
        if account == org.management:
            return AccountRcps(
                None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "RCPs do not apply in the management account")
            )
        if not org.rcps_enabled:
            return AccountRcps(
                None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the RCP policy type is not enabled")
            )
        if account not in org.parents:
            return AccountRcps(
                None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the account is not in an AWS organization")
            )
        if (failure := org.fail.get(account)) is not None:
            kind = ScpFailure.TRANSIENT if failure.transient else ScpFailure.PERMANENT
            detail = f"RCPs could not be read from Organizations: {failure}"
            return AccountRcps(
                None, ScpCoverage(ScpStatus.NOT_EVALUATED, detail, kind, f"organizations {failure}", "RCP")
            )
        nodes = self._path(account)
        named = [
            [
                {"Name": r.name, "Content": r.content, "Target": self._where(n)}
                for r in [RCP_FULL_ACCESS, *org.rcps_attached.get(n, [])]
            ]
            for n in nodes
        ]
        try:
            levels = parse_rcps(named)
        except InputError as failure:
            problem = f"an RCP could not be evaluated: {failure}"
            unparsable = ScpCoverage(ScpStatus.NOT_EVALUATED, problem, ScpFailure.UNPARSABLE, problem, "RCP")
            return AccountRcps(None, unparsable)
        return AccountRcps(
            levels, ScpCoverage(ScpStatus.EVALUATED, f"{len(named)} RCP levels, root to account")
        )

    def _path(self, node: str) -> list[str]:
        """``node``'s ancestors, root first, and ``node`` itself."""
        path = [node]
        while path[0] in self.organization.parents:
            path.insert(0, self.organization.parents[path[0]])
        return path

    def _where(self, node: str) -> str:
        name = self.organization.names.get(node)
        if node == self.organization.root:
            return f"root {node}"
        if not node.isdigit():
            return f"OU {name} ({node})"
        return f"account {node}" + (f" ({name})" if name else "")

    def _read(self, account: str) -> tuple[ScpLevels | None, ScpCoverage]:
        org = self.organization
        self.calls["ListPoliciesForTarget"] += 1
        if account == org.management:
            return None, ScpCoverage(
                ScpStatus.NOT_APPLICABLE, "the management account is not affected by SCPs"
            )
        if not org.scps_enabled:
            return None, ScpCoverage(
                ScpStatus.NOT_APPLICABLE, "the SCP policy type is not enabled in the organization"
            )
        if account not in org.parents:
            return None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the account is not in an AWS organization")
        if (failure := org.fail.get(account)) is not None:
            kind = ScpFailure.TRANSIENT if failure.transient else ScpFailure.PERMANENT
            return None, ScpCoverage(
                ScpStatus.NOT_EVALUATED,
                f"Organizations could not be read: {failure}",
                kind,
                f"organizations {failure}",
            )
        nodes = self._path(account)
        named: list[list[dict[str, Any]]] = [
            [
                {"Name": s.name, "Content": s.content, "Target": self._where(n)}
                for s in org.attached.get(n, [])
            ]
            for n in nodes
        ]
        try:
            levels = parse_scps(named)
        except InputError as failure:
            problem = f"an SCP could not be parsed: {failure}"
            return None, ScpCoverage(ScpStatus.NOT_EVALUATED, problem, ScpFailure.UNPARSABLE, problem)
        where = ", ".join(
            f"{self._where(n)}: {', '.join(e['Name'] for e in level) or 'none'}"
            for n, level in zip(nodes, named, strict=True)
        )
        return levels, ScpCoverage(ScpStatus.EVALUATED, f"{len(named)} levels, root to account ({where})")
