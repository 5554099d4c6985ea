"""Which accounts can an AWS Organizations change affect? (pure, no AWS calls)

Organizations records its API calls in CloudTrail in the management account (us-east-1), and
EventBridge delivers them with ``source: aws.organizations``. ``plan_org_change`` maps one such call
to an ``OrgPlan``: the root, OU or account ids whose accounts (all accounts below) must be
re-evaluated, the policy whose targets must be looked up, every account, or nothing.

What each call names, the parameters it must carry and when it has its effect are rows of
``watch.event_table``; this module reads them. A call without a parameter its row requires, or a
call the table does not know, re-checks every account; a read-only or failed call never causes work.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from restorewatch.watch.event_table import ORG_EVENTS, ORG_SOURCE, Condition, OrgScope, rule_event_names

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.domain import CloudTrailChange
    from restorewatch.watch.modes import OrgView

SCP_TYPE = "SERVICE_CONTROL_POLICY"
RCP_TYPE = "RESOURCE_CONTROL_POLICY"
# the policy types whose enabling or disabling changes what RestoreWatch evaluates
EVALUATED_TYPES = frozenset({SCP_TYPE, RCP_TYPE})

# derived from the event table: the Organizations rule's event names, and what each must name
ORG_EVENT_NAMES = rule_event_names(ORG_SOURCE)
ORG_REQUIRED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    name: row.parameters for name, row in ORG_EVENTS.items() if row.parameters
}


@dataclass(frozen=True, slots=True)
class OrgPlan:
    scope: OrgScope
    ids: tuple[str, ...] = ()
    reason: str = ""

    @property
    def no_effect(self) -> bool:
        return self.scope is OrgScope.NONE


def is_org_change(change: CloudTrailChange) -> bool:
    return change.event_source == ORG_SOURCE


def plan_org_change(change: CloudTrailChange) -> OrgPlan:
    """Map one Organizations API call to the accounts whose SCPs or RCPs it can change (an RCP
    attached to an account governs the resources it owns; the principals bound to them are re-checked
    with the account's: a principal of another account bound to them waits for the sweep)."""
    name = change.event_name
    params = change.request_parameters
    if change.error_code:
        return OrgPlan(OrgScope.NONE, reason=f"{name} failed ({change.error_code}): nothing changed")
    if change.read_only:
        return OrgPlan(OrgScope.NONE, reason=f"{name} is a read-only call: nothing changed")
    rule = ORG_EVENTS.get(name)
    if rule is None:
        # an unmapped Organizations call: re-check everything rather than miss a change
        return OrgPlan(OrgScope.ALL, reason=f"{name} is not mapped: every account")
    missing = rule.missing(params)
    if missing is not None:
        return OrgPlan(OrgScope.ALL, reason=f"{name} without requestParameters.{missing}: every account")
    reason = rule.reason.format_map({**params, "event": name})
    if not isinstance(rule.changes, OrgScope):
        return OrgPlan(OrgScope.NONE, reason=reason)
    if rule.when is Condition.NEW_CONTENT and "content" not in params:
        return OrgPlan(OrgScope.NONE, reason=f"{name} {params['policyId']} without new content")
    if rule.when is Condition.SCP_TYPE and params["policyType"] not in EVALUATED_TYPES:
        return OrgPlan(OrgScope.NONE, reason=f"{name} {params['policyType']}: not SCPs or RCPs")
    ids = (str(params[rule.key]),) if rule.key is not None and rule.changes is not OrgScope.ALL else ()
    return OrgPlan(rule.changes, ids, reason)


def affected_accounts(org: OrgView, plan: OrgPlan) -> list[str]:
    """The accounts ``plan`` reaches, read through ``org`` (raises ``ReadError``)."""
    if plan.scope is OrgScope.ALL:
        return org.account_ids()
    targets = list(plan.ids)
    if plan.scope is OrgScope.POLICY_TARGETS:
        targets = [target for policy in plan.ids for target in org.targets_of(policy)]
    return list(dict.fromkeys(account for target in targets for account in org.accounts_below(target)))


__all__ = [
    "ORG_EVENT_NAMES",
    "ORG_REQUIRED_PARAMETERS",
    "OrgPlan",
    "OrgScope",
    "affected_accounts",
    "is_org_change",
    "plan_org_change",
]
