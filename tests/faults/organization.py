"""The AWS organization around the matrix's watched account (111122223333), on moto.

Both worlds of the fault matrix put the watched account in an organization, below an OU
``Workloads``, with the SCPs AWS gives every organization (``FullAWSAccess`` at the root, the OU and
the account) and a guardrail SCP at the OU that denies something no restore needs
(``organizations:LeaveOrganization``): every check evaluates three SCP levels, and a change to them
is a real IAM-evaluation change.

* ``watched_member`` (the single-account watcher): the organization's management account is another
  one (``MANAGEMENT``); the watched account is a member and the Organizations delegated
  administrator, which is how a single-account watcher reads SCPs (README, "Organizations and many
  accounts"). moto gap: moto serves an organization's structure to its management account only (a
  member gets ``DescribeOrganization`` and ``ListRoots``; a delegated administrator no more), so the
  member's Organizations requests are served from the management account's backend, which answers
  exactly what AWS answers a delegated administrator (the organization, its roots, OUs, policies).
* ``central_management`` (organization mode): the central watcher runs in the management account
  (moto's default account, ``CENTRAL``) and reads the member through its role (STS AssumeRole).

moto gives new accounts random ids; the member is created with the watched account's id, which the
``events/`` samples and the seeded ARNs use.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from moto.organizations import models as organizations_models
from moto.organizations import utils as organizations_utils

from .injection import client

if TYPE_CHECKING:
    import pytest

WATCHED = "111122223333"  # the watched account (stack.ACCOUNT), a member of the organization
MANAGEMENT = "999988887777"  # the management account when the watcher runs in the member
CENTRAL = "123456789012"  # moto's default account: the central watcher's, in organization mode
OU_NAME = "Workloads"
SCP = "SERVICE_CONTROL_POLICY"
GUARDRAIL_NAME = "Guardrails"
DENY_RESTORE_NAME = "DenyRunInstances"
DENIED_ACTION = "ec2:RunInstances"  # an action of tests/faults/profiles/restore-small.json


def scp_document(*denied: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Deny", "Action": list(denied), "Resource": "*"}],
        }
    )


GUARDRAIL = scp_document("organizations:LeaveOrganization")


@dataclass(frozen=True, slots=True)
class Organization:
    management: str
    root: str
    ou: str
    guardrail: str  # attached to the OU: denies nothing a restore needs
    deny_restore: str  # not attached: denies DENIED_ACTION once a scenario attaches it

    @property
    def client(self) -> Any:
        """Organizations as the management account sees it (test side: changes, no faults)."""
        return client("organizations")


def _create(monkeypatch: pytest.MonkeyPatch, management: str) -> Organization:
    org = client("organizations")
    created = org.create_organization(FeatureSet="ALL")["Organization"]
    assert created["MasterAccountId"] == management, created
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType=SCP)
    ou = org.create_organizational_unit(ParentId=root, Name=OU_NAME)["OrganizationalUnit"]["Id"]
    with monkeypatch.context() as patch:
        patch.setattr(organizations_utils, "make_random_account_id", lambda: WATCHED)
        member = org.create_account(AccountName="backup-prod", Email="backup@example.com")
    assert member["CreateAccountStatus"]["AccountId"] == WATCHED
    org.move_account(AccountId=WATCHED, SourceParentId=root, DestinationParentId=ou)
    guardrail = org.create_policy(Content=GUARDRAIL, Description="guardrail", Name=GUARDRAIL_NAME, Type=SCP)
    guardrail_id = guardrail["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=guardrail_id, TargetId=ou)
    deny = org.create_policy(
        Content=scp_document(DENIED_ACTION), Description="no new instances", Name=DENY_RESTORE_NAME, Type=SCP
    )
    return Organization(management, root, ou, guardrail_id, deny["Policy"]["PolicySummary"]["Id"])


def forget_membership() -> None:
    """moto keeps which accounts are members of which organization (``master_accounts``) across its
    resets: left there, the watched account would look like the member of an organization that no
    longer exists to every later test in the process (moto then fails on DescribeOrganization)."""
    organizations_models.organizations_backends.master_accounts.pop(WATCHED, None)


def watched_member(monkeypatch: pytest.MonkeyPatch) -> Organization:
    """The single-account world (``MOTO_ACCOUNT_ID`` = the watched account): the organization of
    ``MANAGEMENT``, the watched account a member that reads it as its delegated administrator."""
    backends = organizations_models.organizations_backends
    # every Organizations request of the watched account is answered from the management account's
    # backend: the organization, created through it, belongs to MANAGEMENT (see the module docstring)
    backends[WATCHED] = backends[MANAGEMENT]
    return _create(monkeypatch, MANAGEMENT)


def central_management(monkeypatch: pytest.MonkeyPatch) -> Organization:
    """The organization-mode world (no ``MOTO_ACCOUNT_ID``: moto finds each request's account from
    its credentials): the central watcher's account ``CENTRAL`` manages the organization."""
    return _create(monkeypatch, CENTRAL)
