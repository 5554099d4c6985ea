"""What AWS decides outside the policies: a small table of service rules, each with its AWS page.

Some answers do not depend on any policy. ``sts:GetCallerIdentity`` needs no permission and cannot
be denied; AWS managed policies, the roles IAM Identity Center creates and the KMS aliases reserved
for AWS can never be changed by a customer's principal, whatever its policies allow. Request
decisions (``simulate``) and requirement checks (``check``) both apply the table, and every answer
it changes names the rule.

A rule either **always allows** its actions, or **reserves** resources: a request on a reserved
resource is implicitly denied even when the policies allow it (an explicit deny stays an explicit
deny), and for a requirement check the reserved resources are no resource of the action: a
Resource entry that names only reserved resources does not apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from restorewatch.engine.patterns import wildcard_match

__all__ = ["SERVICE_RULES", "ServiceRule", "always_allowing", "reserved_patterns", "reserving"]


@dataclass(frozen=True, slots=True)
class ServiceRule:
    """``reserved`` are ARN patterns written like catalog ARN formats (``${Partition}`` = any text
    without ``:``, ``*`` = any text); empty for a rule that always allows its actions."""

    name: str
    summary: str
    doc: str
    actions: frozenset[str]  # lower-cased service:Name
    reserved: tuple[str, ...] = ()

    @property
    def always_allows(self) -> bool:
        return not self.reserved

    def reserves(self, resource: str) -> bool:
        """Is the request's resource one this rule reserves? (``${Partition}`` as ``*``.)"""
        return any(
            wildcard_match(pattern.replace("${Partition}", "*"), resource, case_sensitive=True)
            for pattern in self.reserved
        )


def _actions(*names: str) -> frozenset[str]:
    return frozenset(name.lower() for name in names)


SERVICE_RULES: tuple[ServiceRule, ...] = (
    ServiceRule(
        name="sts-get-caller-identity",
        summary="sts:GetCallerIdentity needs no permission and cannot be denied",
        doc="https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html",
        actions=_actions("sts:GetCallerIdentity"),
    ),
    ServiceRule(
        name="aws-managed-policies",
        summary="AWS managed policies (arn:aws:iam::aws:policy/...) cannot be created, changed, tagged "
        "or deleted by a customer's principal",
        doc="https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-vs-inline.html"
        "#aws-managed-policies",
        actions=_actions(
            "iam:CreatePolicy",
            "iam:CreatePolicyVersion",
            "iam:DeletePolicy",
            "iam:DeletePolicyVersion",
            "iam:SetDefaultPolicyVersion",
            "iam:TagPolicy",
            "iam:UntagPolicy",
        ),
        reserved=("arn:${Partition}:iam::aws:policy/*",),
    ),
    ServiceRule(
        name="identity-center-roles",
        summary="roles under the path /aws-reserved/sso.amazonaws.com/ belong to IAM Identity Center "
        "and cannot be modified or deleted in IAM",
        doc="https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_roles.html"
        "#troubleshoot_roles_cant-modify-protected-role",
        actions=_actions(
            "iam:AttachRolePolicy",
            "iam:CreateRole",
            "iam:DeleteRole",
            "iam:DeleteRolePermissionsBoundary",
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:PutRolePermissionsBoundary",
            "iam:PutRolePolicy",
            "iam:TagRole",
            "iam:UntagRole",
            "iam:UpdateAssumeRolePolicy",
            "iam:UpdateRole",
            "iam:UpdateRoleDescription",
        ),
        reserved=("arn:${Partition}:iam::*:role/aws-reserved/sso.amazonaws.com/*",),
    ),
    ServiceRule(
        name="kms-aws-aliases",
        summary="KMS aliases beginning with alias/aws/ are reserved for AWS managed keys and cannot be "
        "created, updated or deleted by a customer's principal",
        doc="https://docs.aws.amazon.com/kms/latest/APIReference/API_CreateAlias.html",
        actions=_actions("kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias"),
        reserved=("arn:${Partition}:kms:*:*:alias/aws/*",),
    ),
)


@cache
def _by_action() -> dict[str, tuple[ServiceRule, ...]]:
    table: dict[str, list[ServiceRule]] = {}
    for rule in SERVICE_RULES:
        for action in rule.actions:
            table.setdefault(action, []).append(rule)
    return {action: tuple(rules) for action, rules in table.items()}


@cache
def always_allowing(action_lower: str) -> ServiceRule | None:
    """The rule that allows ``action`` whatever the policies say, if any."""
    return next((rule for rule in _by_action().get(action_lower, ()) if rule.always_allows), None)


def reserving(action_lower: str, resource: str) -> ServiceRule | None:  # one request: no cache
    """The rule that reserves ``resource`` from ``action``, if any."""
    return next(
        (
            rule
            for rule in _by_action().get(action_lower, ())
            if not rule.always_allows and rule.reserves(resource)
        ),
        None,
    )


@cache
def reserved_patterns(action_lower: str) -> tuple[tuple[str, ...], tuple[ServiceRule, ...]]:
    """The reserved patterns of every rule on ``action`` and those rules (for requirement checks)."""
    rules = tuple(rule for rule in _by_action().get(action_lower, ()) if not rule.always_allows)
    return tuple(pattern for rule in rules for pattern in rule.reserved), rules
