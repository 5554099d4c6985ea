"""Which accounts can an AWS Organizations change affect? (pure, no AWS calls)

Organizations records its API calls in CloudTrail in the management account (us-east-1), and
EventBridge delivers them with ``source: aws.organizations``. ``plan_org_change`` maps one such call
to an ``OrgPlan``: the root, OU or account ids whose accounts (all accounts below) must be
re-evaluated, the policy whose targets must be looked up, every account, or nothing.

Organizations rules this relies on (AWS Organizations API reference):
- ``DeletePolicy`` fails while the policy is attached: its detachments have their own events;
- ``UpdatePolicy`` without ``content`` changes only a name or description;
- ``EnablePolicyType``/``DisablePolicyType`` matter only for ``SERVICE_CONTROL_POLICY`` (disabling it
  detaches every SCP; enabling it attaches FullAWSAccess everywhere);
- ``AttachPolicy``/``DetachPolicy`` do not say the policy's type: a tag or backup policy is
  re-evaluated too, which costs a re-check and changes nothing.
- ``CreateAccountResult`` and ``CloseAccountResult`` are service-originated records (``eventType:
  AwsServiceEvent``, no ``requestParameters``) of an account joining or leaving service: no SCP of
  any other account changes, and a new account has no watched principal yet (the next scheduled
  sweep, which lists the organization's accounts, covers it).

``ORG_REQUIRED_PARAMETERS`` is checked here only: a call without the parameter re-checks every
account. A read-only call (``readOnly: true``) never causes work.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.domain import CloudTrailChange

ORG_EVENT_SOURCE = "organizations.amazonaws.com"
SCP_TYPE = "SERVICE_CONTROL_POLICY"

# every eventName the Organizations rule of template.yaml sends, with the parameters it needs
ORG_REQUIRED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    "AttachPolicy": ("policyId", "targetId"),
    "DetachPolicy": ("policyId", "targetId"),
    "UpdatePolicy": ("policyId",),
    "DeletePolicy": ("policyId",),
    "EnablePolicyType": ("rootId", "policyType"),
    "DisablePolicyType": ("rootId", "policyType"),
    "MoveAccount": ("accountId",),
}
ORG_EVENT_NAMES = frozenset(ORG_REQUIRED_PARAMETERS)
# service-originated records (AwsServiceEvent) that change no SCP of any watched account
ORG_SERVICE_EVENTS_WITHOUT_EFFECT: Mapping[str, str] = {
    "CreateAccountResult": "a new account has no watched principal yet; the next sweep covers it",
    "CloseAccountResult": "closing an account changes no other account's SCPs",
}


class OrgScope(enum.Enum):
    TARGETS = "targets"  # the accounts below each id in ``ids`` (root, OU or account ids)
    POLICY_TARGETS = "policy_targets"  # the accounts below every target of policy ``ids[0]``
    ALL = "all"  # every account of the organization
    NONE = "none"  # nothing that SCPs decide changed


@dataclass(frozen=True, slots=True)
class OrgPlan:
    scope: OrgScope
    ids: tuple[str, ...] = ()
    reason: str = ""

    @property
    def no_effect(self) -> bool:
        return self.scope is OrgScope.NONE


def is_org_change(change: CloudTrailChange) -> bool:
    return change.event_source == ORG_EVENT_SOURCE


def plan_org_change(change: CloudTrailChange) -> OrgPlan:
    """Map one Organizations API call to the accounts whose SCPs it can change."""
    name = change.event_name
    params = change.request_parameters
    if change.error_code:
        return OrgPlan(OrgScope.NONE, reason=f"{name} failed ({change.error_code}): nothing changed")
    if change.read_only:
        return OrgPlan(OrgScope.NONE, reason=f"{name} is a read-only call: nothing changed")
    if name in ORG_SERVICE_EVENTS_WITHOUT_EFFECT:
        return OrgPlan(OrgScope.NONE, reason=f"{name}: {ORG_SERVICE_EVENTS_WITHOUT_EFFECT[name]}")
    if name not in ORG_EVENT_NAMES:
        # an unmapped Organizations call: re-check everything rather than miss a change
        return OrgPlan(OrgScope.ALL, reason=f"{name} is not mapped: every account")
    for key in ORG_REQUIRED_PARAMETERS[name]:
        if not isinstance(params.get(key), str) or not params.get(key):
            return OrgPlan(OrgScope.ALL, reason=f"{name} without requestParameters.{key}: every account")
    if name in ("AttachPolicy", "DetachPolicy"):
        target = str(params["targetId"])
        return OrgPlan(OrgScope.TARGETS, (target,), f"{name} {params['policyId']} on {target}")
    if name == "UpdatePolicy":
        if "content" not in params:
            return OrgPlan(OrgScope.NONE, reason=f"{name} {params['policyId']} without new content")
        policy = str(params["policyId"])
        return OrgPlan(OrgScope.POLICY_TARGETS, (policy,), f"{name} {policy}: the accounts below its targets")
    if name == "DeletePolicy":
        return OrgPlan(OrgScope.NONE, reason=f"{name}: an attached policy cannot be deleted")
    if name in ("EnablePolicyType", "DisablePolicyType"):
        if params["policyType"] != SCP_TYPE:
            return OrgPlan(OrgScope.NONE, reason=f"{name} {params['policyType']}: not SCPs")
        return OrgPlan(OrgScope.ALL, reason=f"{name} {SCP_TYPE} at {params['rootId']}: every account")
    account = str(params["accountId"])  # MoveAccount: the account now sits under other OUs
    return OrgPlan(OrgScope.TARGETS, (account,), f"{name} {account}")


__all__ = [
    "ORG_EVENT_NAMES",
    "ORG_EVENT_SOURCE",
    "ORG_REQUIRED_PARAMETERS",
    "ORG_SERVICE_EVENTS_WITHOUT_EFFECT",
    "OrgPlan",
    "OrgScope",
    "is_org_change",
    "plan_org_change",
]
