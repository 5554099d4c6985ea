"""Service control policies from AWS Organizations, and which accounts an Organizations change reaches.

https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html

An account's SCP levels run from the root, through every OU above it, down to the account itself;
at each level some attached SCP must allow an action and none may deny it. ``OrganizationsScpSource``
builds those levels with ``ListParents``, ``ListPoliciesForTarget(SERVICE_CONTROL_POLICY)`` and
``DescribePolicy``, names every SCP and where it is attached ("DenyIamWrites (attached to OU
Workloads ...)") so that explanations say which SCP at which OU took an action away, and caches
everything for the life of the object: build one per run (the watcher's ``scps_factory``).

When Organizations cannot be read (AccessDenied in a member account, throttled beyond retries) the
result says ``not_evaluated``, carries no levels, and says why (``ScpFailure``: transient, permanent,
or an SCP that could not be parsed) and which call failed: the alert then says SCPs were not
evaluated, never that they allow, and the watcher decides (``ledger.diff.fail_closed``) whether the
check must be fail-closed ``unknown``. The management account is not affected by SCPs
(https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps.html), and an
organization whose root does not have the SCP policy type enabled applies none: both are
``not_applicable``.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from restorewatch.compliance import ScpCoverage, ScpFailure, ScpStatus
from restorewatch.engine import parse_scps
from restorewatch.errors import InputError, ReadError

if TYPE_CHECKING:
    from collections.abc import Iterator

    from types_boto3_organizations import OrganizationsClient

    from restorewatch.engine import RcpLevels, ScpLevels

logger = logging.getLogger(__name__)

SCP_TYPE = "SERVICE_CONTROL_POLICY"
RCP_TYPE = "RESOURCE_CONTROL_POLICY"
NOT_IN_ORGANIZATION = "AWSOrganizationsNotInUseException"


def read_error(operation: str, target: str | None, exc: Exception) -> ReadError:
    """A botocore failure as the ``ReadError`` the watcher turns into ``unknown``."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return ReadError(operation, target, str(error.get("Code", "Unknown")), str(error.get("Message", exc)))
    return ReadError(operation, target, type(exc).__name__, str(exc))


class OrganizationsReader:
    """Counted, cached Organizations reads (one per run: the organization can change between runs)."""

    def __init__(self, client: OrganizationsClient) -> None:
        self.client = client
        self.calls: Counter[str] = Counter()
        self._cache: dict[tuple[str, str], Any] = {}

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def _call(self, operation: str, target: str | None, **kwargs: Any) -> dict[str, Any]:
        self.calls[operation] += 1
        try:
            response: dict[str, Any] = getattr(self.client, xform_name(operation))(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise read_error(operation, target, exc) from exc
        return response

    def _list(self, operation: str, key: str, target: str | None, **kwargs: Any) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        # the operation is named at run time (calls are counted and faults injected by name)
        client: Any = self.client
        pages: Iterator[dict[str, Any]] = iter(client.get_paginator(xform_name(operation)).paginate(**kwargs))
        while True:
            self.calls[operation] += 1
            try:
                page = next(pages)
            except StopIteration:
                self.calls[operation] -= 1
                return items
            except (ClientError, BotoCoreError) as exc:
                raise read_error(operation, target, exc) from exc
            items.extend(page.get(key, []))

    def _cached(self, kind: str, key: str, read: Any) -> Any:
        if (kind, key) not in self._cache:
            self._cache[(kind, key)] = read()
        return self._cache[(kind, key)]

    # --- the organization ----------------------------------------------------------------------------

    def organization(self) -> dict[str, Any]:
        return dict(self._cached("org", "", lambda: self._call("DescribeOrganization", None)["Organization"]))

    def root(self) -> dict[str, Any]:
        return dict(self._cached("root", "", lambda: self._list("ListRoots", "Roots", None)[0]))

    def scps_enabled(self) -> bool:
        return self.policy_type_enabled(SCP_TYPE)

    def policy_type_enabled(self, policy_type: str) -> bool:
        types = self.root().get("PolicyTypes") or []
        return any(t.get("Type") == policy_type and t.get("Status") == "ENABLED" for t in types)

    def parent(self, child: str) -> dict[str, Any]:
        """The parent (``Id``, ``Type``: ROOT or ORGANIZATIONAL_UNIT) of an account or OU."""
        return dict(
            self._cached(
                "parent", child, lambda: self._list("ListParents", "Parents", child, ChildId=child)[0]
            )
        )

    def path_to(self, account: str) -> list[dict[str, Any]]:
        """``[root, OU, ..., OU]`` above ``account`` (root first)."""
        path: list[dict[str, Any]] = []
        child = account
        while True:
            parent = self.parent(child)
            path.append(parent)
            if parent["Type"] == "ROOT":
                return path[::-1]
            child = parent["Id"]
            if len(path) > 10:  # Organizations allows five OU levels below the root
                raise ReadError("ListParents", account, "Loop", "the OU path does not reach the root")

    def policies_for(self, target: str, policy_type: str = SCP_TYPE) -> list[dict[str, Any]]:
        return list(
            self._cached(
                f"policies {policy_type}",
                target,
                lambda: self._list(
                    "ListPoliciesForTarget", "Policies", target, TargetId=target, Filter=policy_type
                ),
            )
        )

    def policy(self, policy_id: str) -> dict[str, Any]:
        """``DescribePolicy``: ``{"PolicySummary": {...}, "Content": "<json>"}``."""
        return dict(
            self._cached(
                "policy",
                policy_id,
                lambda: self._call("DescribePolicy", policy_id, PolicyId=policy_id)["Policy"],
            )
        )

    def ou_name(self, ou: str) -> str:
        return str(
            self._cached(
                "ou",
                ou,
                lambda: self._call("DescribeOrganizationalUnit", ou, OrganizationalUnitId=ou)[
                    "OrganizationalUnit"
                ]["Name"],
            )
        )

    def account_name(self, account: str) -> str:
        return str(
            self._cached(
                "account",
                account,
                lambda: self._call("DescribeAccount", account, AccountId=account)["Account"]["Name"],
            )
        )

    # --- who is below what ---------------------------------------------------------------------------

    def accounts(self) -> list[dict[str, Any]]:
        """Every account of the organization that can be watched (``ListAccounts``; ACTIVE only)."""
        listed = self._cached("accounts", "", lambda: self._list("ListAccounts", "Accounts", None))
        return [
            a
            for a in listed
            if a.get("Status", "ACTIVE") == "ACTIVE" and a.get("State", "ACTIVE") == "ACTIVE"
        ]

    def accounts_below(self, target: str) -> list[str]:
        """The accounts an SCP attached to ``target`` (root, OU or account id) governs."""
        if target.isdigit():
            return [target]
        found: list[str] = []
        pending = [target]
        while pending:
            parent = pending.pop()
            accounts = self._list("ListAccountsForParent", "Accounts", parent, ParentId=parent)
            found += [a["Id"] for a in accounts if a.get("Status", "ACTIVE") == "ACTIVE"]
            children = self._list(
                "ListChildren", "Children", parent, ParentId=parent, ChildType="ORGANIZATIONAL_UNIT"
            )
            pending += [child["Id"] for child in children]
        return list(dict.fromkeys(found))

    def targets_of(self, policy_id: str) -> list[str]:
        targets = self._list("ListTargetsForPolicy", "Targets", policy_id, PolicyId=policy_id)
        return [t["TargetId"] for t in targets]


@dataclass(frozen=True, slots=True)
class AccountScps:
    """An account's SCP levels (root first) and what the alert says about them.

    ``levels`` is ``None`` unless ``coverage.status`` is ``evaluated``; ``named_levels`` keeps the
    named entries (``{"Name", "Id", "Content", "Target"}``) for the CLI and the demo.
    """

    levels: ScpLevels | None
    coverage: ScpCoverage
    named_levels: tuple[tuple[dict[str, Any], ...], ...] = ()


@dataclass(frozen=True, slots=True)
class AccountRcps:
    """The RCP levels (root first) governing the resources of an account, and how they came about.

    ``levels`` is ``None`` unless ``coverage.status`` is ``evaluated``: RCPs do not apply
    (``not_applicable``: the management account, the policy type not enabled, no organization) or
    could not be read (``not_evaluated``, with ``failure`` and the call in ``error``, as for SCPs).
    """

    levels: RcpLevels | None
    coverage: ScpCoverage


class OrganizationsScpSource:
    """``watch.modes.OrgView`` over Organizations. One per run: everything read is cached for its life."""

    def __init__(self, reader: OrganizationsReader) -> None:
        self.reader = reader
        self._accounts: dict[str, AccountScps] = {}
        self._rcps: dict[str, AccountRcps] = {}
        self._paths: dict[str, tuple[str | None, tuple[str, ...]]] = {}

    @property
    def calls(self) -> Counter[str]:
        return self.reader.calls

    @property
    def total_calls(self) -> int:
        return self.reader.total_calls

    def account_ids(self) -> list[str]:
        return [account["Id"] for account in self.reader.accounts()]

    def accounts_below(self, target: str) -> list[str]:
        return self.reader.accounts_below(target)

    def targets_of(self, policy_id: str) -> list[str]:
        return self.reader.targets_of(policy_id)

    def levels(self, account: str) -> ScpLevels | None:
        return self.for_account(account).levels

    def coverage(self, account: str) -> ScpCoverage:
        return self.for_account(account).coverage

    def account_name(self, account: str) -> str | None:
        """The account's name in the organization, or ``None`` when it cannot be read."""
        try:
            return self.reader.account_name(account)
        except ReadError as failure:
            logger.info("no Organizations name for %s: %s", account, failure)
            return None

    def for_account(self, account: str) -> AccountScps:
        if account not in self._accounts:
            self._accounts[account] = self._read(account)
        return self._accounts[account]

    def _read(self, account: str) -> AccountScps:
        reader = self.reader
        try:
            management = reader.organization().get("MasterAccountId")
            if account == management:
                return AccountScps(
                    None,
                    ScpCoverage(ScpStatus.NOT_APPLICABLE, "the management account is not affected by SCPs"),
                )
            if not reader.scps_enabled():
                return AccountScps(
                    None,
                    ScpCoverage(
                        ScpStatus.NOT_APPLICABLE, "the SCP policy type is not enabled in the organization"
                    ),
                )
            nodes = [*reader.path_to(account), {"Id": account, "Type": "ACCOUNT"}]
            named = [self._level(node) for node in nodes]
            where = ", ".join(
                f"{self._where(node)}: {', '.join(e['Name'] for e in level) or 'none'}"
                for node, level in zip(nodes, named, strict=True)
            )
            levels = parse_scps([list(level) for level in named])
        except ReadError as failure:
            if failure.code == NOT_IN_ORGANIZATION:
                return AccountScps(
                    None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the account is not in an AWS organization")
                )
            logger.warning("SCPs of %s not evaluated: %s", account, failure)
            kind = ScpFailure.TRANSIENT if failure.transient else ScpFailure.PERMANENT
            coverage = ScpCoverage(
                ScpStatus.NOT_EVALUATED,
                f"Organizations could not be read: {failure}",
                kind,
                f"organizations {failure}",
            )
            return AccountScps(None, coverage)
        except InputError as failure:  # a malformed SCP document
            logger.warning("SCPs of %s not evaluated: %s", account, failure)
            problem = f"an SCP could not be parsed: {failure}"
            coverage = ScpCoverage(ScpStatus.NOT_EVALUATED, problem, ScpFailure.UNPARSABLE, problem)
            return AccountScps(None, coverage)
        detail = f"{len(named)} levels, root to account ({where})"
        return AccountScps(levels, ScpCoverage(ScpStatus.EVALUATED, detail), tuple(named))

    def rcps(self, account: str) -> AccountRcps:
        """The RCP levels of the resources ``account`` owns (read once per run).

        https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html:
        RCPs apply to the resources of member accounts, not of the management account, and only
        when the RESOURCE_CONTROL_POLICY type is enabled at the root. A failure is said as for SCPs
        (``ScpCoverage`` not evaluated, naming the call): the watcher then fails closed.
        """
        if account not in self._rcps:
            self._rcps[account] = self._read_rcps(account)
        return self._rcps[account]

    def _read_rcps(self, account: str) -> AccountRcps:
        from restorewatch.engine import parse_rcps

        reader = self.reader
        try:
            if account == reader.organization().get("MasterAccountId"):
                return AccountRcps(
                    None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "RCPs do not apply in the management account")
                )
            if not reader.policy_type_enabled(RCP_TYPE):
                return AccountRcps(
                    None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the RCP policy type is not enabled")
                )
            nodes = [*reader.path_to(account), {"Id": account, "Type": "ACCOUNT"}]
            named = [self._level(node, RCP_TYPE) for node in nodes]
            levels = parse_rcps([list(level) for level in named])
        except ReadError as failure:
            if failure.code == NOT_IN_ORGANIZATION:
                return AccountRcps(
                    None, ScpCoverage(ScpStatus.NOT_APPLICABLE, "the account is not in an AWS organization")
                )
            logger.warning("RCPs of %s not evaluated: %s", account, failure)
            kind = ScpFailure.TRANSIENT if failure.transient else ScpFailure.PERMANENT
            detail = f"RCPs could not be read from Organizations: {failure}"
            error = f"organizations {failure}"
            return AccountRcps(None, ScpCoverage(ScpStatus.NOT_EVALUATED, detail, kind, error, "RCP"))
        except InputError as failure:  # a malformed RCP, or a level without RCPFullAWSAccess
            logger.warning("RCPs of %s not evaluated: %s", account, failure)
            problem = f"an RCP could not be evaluated: {failure}"
            unparsable = ScpCoverage(ScpStatus.NOT_EVALUATED, problem, ScpFailure.UNPARSABLE, problem, "RCP")
            return AccountRcps(None, unparsable)
        return AccountRcps(
            levels, ScpCoverage(ScpStatus.EVALUATED, f"{len(named)} RCP levels, root to account")
        )

    def organization_of(self, account: str) -> tuple[str | None, tuple[str, ...]]:
        """The organization's ID and the account's path in it (``o-.../r-.../ou-.../``), for the
        conditions on ``aws:PrincipalOrgID`` and ``aws:PrincipalOrgPaths``; ``(None, ())`` when they
        cannot be read (such conditions then stay conditions: partial, never guessed)."""
        if account not in self._paths:
            self._paths[account] = self._organization_of(account)
        return self._paths[account]

    def _organization_of(self, account: str) -> tuple[str | None, tuple[str, ...]]:
        try:
            org_id = str(self.reader.organization()["Id"])
            path = "/".join([org_id, *(node["Id"] for node in self.reader.path_to(account))])
        except (ReadError, KeyError) as failure:
            logger.info("no organization path for %s: %s", account, failure)
            return None, ()
        return org_id, (f"{path}/",)

    def _where(self, node: dict[str, Any]) -> str:
        kind, node_id = node["Type"], node["Id"]
        if kind == "ROOT":
            return f"root {node_id}"
        if kind == "ORGANIZATIONAL_UNIT":
            return f"OU {self.reader.ou_name(node_id)} ({node_id})"
        name = self.account_name(node_id)
        return f"account {node_id}" + (f" ({name})" if name else "")

    def _level(self, node: dict[str, Any], policy_type: str = SCP_TYPE) -> tuple[dict[str, Any], ...]:
        where = self._where(node)
        entries = []
        for summary in self.reader.policies_for(node["Id"], policy_type):
            policy = self.reader.policy(summary["Id"])
            # no "Arn": the engine then names the SCP by Name and Target in every explanation
            entries.append(
                {"Name": summary.get("Name") or summary["Id"], "Content": policy["Content"], "Target": where}
            )
        return tuple(entries)


__all__ = [
    "NOT_IN_ORGANIZATION",
    "RCP_TYPE",
    "SCP_TYPE",
    "AccountRcps",
    "AccountScps",
    "OrganizationsReader",
    "OrganizationsScpSource",
    "read_error",
]
