"""The resource side: a resource-based policy and RCPs beside the identity policies, boundary and SCPs.

AWS's rules, each from its page (the evaluation spec's "Bound requirements" pins the choices):

* Same account, an Allow in the identity policies *or* in the resource-based policy grants, and an
  explicit Deny in any policy denies
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html). How
  far a resource policy's Allow reaches depends on whom it names
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html):
  the IAM user's ARN is not limited by an implicit deny in the identity policies or the permissions
  boundary; the role's ARN is not limited by the identity policies but is by the boundary; a role
  session's ARN is not limited by either (it names one session, which the request decides);
  ``"*"`` is not limited by them either
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html: "do
  not limit permissions granted using the aws:PrincipalArn condition key with a wildcard(*) in the
  Principal element"); the account "delegates authority to the account": it grants nothing the
  account's own policies do not.
* KMS: "Unless the key policy explicitly allows it, you cannot use IAM policies to allow access to
  a KMS key" (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html): the key
  policy must name the principal, or allow the account (the statement that enables IAM policies)
  for the action, and then the identity policies must allow too.
* Another account's resource: the identity side (identity policies and boundary) and the resource
  policy must both allow
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html).
* SCPs limit every grant, whatever the resource policy says; RCPs are the same on the resource's
  side: every level of the resource's account needs an Allow, a Deny at any level denies, and only
  for the services that support RCPs
  (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
* NotPrincipal with Deny: a principal is left out only when the list names it and its account (and,
  for a role, the session: the requester is the session); "The NotPrincipal element with a Deny
  effect will always deny any IAM principal that has a permissions boundary policy attached"
  (https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html). An Allow with
  NotPrincipal is read as delegating to the account: AWS recommends against it, and reading it so
  never grants more than the identity policies would.

A bound requirement asks the requirement question of the spec with ``*`` replaced by the bound
pattern: a statement counts in full only if its resources cover every ARN the pattern can name
(``arnformat.covers``) and no condition remains, and it matters at all only if it can match some of
them (``arnformat.intersects``).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from restorewatch.engine.arnformat import bound_entry_tokens, covers, intersects, pattern_tokens
from restorewatch.engine.evaluate import (
    Layer,
    covering_in,
    layers_of,
    no_allow_reason,
    normalize_context,
    rcps_apply,
    service_rule_reason,
    statement_applies,
    undecided_keys,
)
from restorewatch.engine.key_state import key_state_result
from restorewatch.engine.model import (
    Effect,
    LayerKind,
    Limit,
    PrincipalKind,
    Reason,
    RequestDecision,
    RequestResult,
    RequirementResult,
    RequirementStatus,
)
from restorewatch.engine.patterns import fold_case
from restorewatch.engine.resources import key_policy_required, policy_holder
from restorewatch.engine.scope import Scoped, catalog_view
from restorewatch.engine.service_rules import always_allowing, reserving
from restorewatch.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from restorewatch.engine.arnformat import Tokens
    from restorewatch.engine.catalog import ActionCatalog
    from restorewatch.engine.evaluate import CatalogView, Covering, ScpLevels
    from restorewatch.engine.model import Principal, Statement
    from restorewatch.engine.resources import BoundResource, ResourcePolicy

__all__ = ["bound_requirement", "decide_with_resource"]

_PRINCIPAL_DOC = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html"
_NOT_PRINCIPAL_BOUNDARY = (
    "a NotPrincipal with Deny always denies a principal with a permissions boundary "
    "(https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html)"
)


class Grade(enum.IntEnum):
    """How much of the bound pattern a layer (or a path through the layers) grants."""

    NONE = 0
    LIMITED = 1
    FULL = 2


class Grant(enum.Enum):
    """How a resource policy's Allow names the principal, which decides what else must allow."""

    DIRECT = "direct"  # the user's ARN, "*", or a session of the role: nothing else needed
    ROLE = "role"  # the role's ARN: the permissions boundary must allow too
    ACCOUNT = "account"  # its account: the identity policies (and boundary) must allow


@dataclass(frozen=True, slots=True)
class Who:
    """How one resource-policy statement applies to the principal.

    ``grants``: the ways an Allow names it (empty: it does not); ``applies``: a Deny applies to it;
    ``only``/``but``: only for these sessions of the role / for every session but these (the request
    decides the session); ``note``: why, when it is not what the statement seems to say.
    """

    grants: tuple[Grant, ...] = ()
    applies: bool = False
    only: tuple[str, ...] = ()
    but: tuple[str, ...] = ()
    note: str = ""

    @property
    def session_limited(self) -> bool:
        return bool(self.only or self.but)

    def for_session(self, session: str | None) -> bool:
        """Does it apply to a request of this session (None: the request does not say)?"""
        if self.only:
            return session in self.only
        return not (self.but and session in self.but)


NOBODY = Who()


def who(statement: Statement, principal: Principal) -> Who:
    """How a statement of a resource-based policy names ``principal`` (module docstring's rules)."""
    matcher = statement.principals
    if matcher is None:  # an RCP statement: always "*"
        return Who((Grant.DIRECT,), True)
    match = matcher.match(principal)
    is_role = principal.kind is PrincipalKind.ROLE
    if statement.not_principal:
        if statement.effect is Effect.ALLOW:
            return NOBODY if match.named else Who((Grant.ACCOUNT,), note="an Allow with NotPrincipal")
        if match.everyone:
            return NOBODY
        if principal.boundary is not None:
            return Who(applies=True, note=_NOT_PRINCIPAL_BOUNDARY)
        if not (match.itself and match.account):
            missing = "its account" if match.itself else "it"
            return Who(applies=True, note=f"its NotPrincipal does not list {missing}")
        if not is_role:
            return NOBODY
        if not match.sessions:
            return Who(applies=True, note="its NotPrincipal lists the role but no session of it")
        return Who(applies=True, but=match.sessions)
    if statement.effect is Effect.DENY:
        if match.everyone or match.itself or match.account:
            return Who(applies=True)
        return Who(applies=True, only=match.sessions) if match.sessions else NOBODY
    grants: list[Grant] = []
    if match.everyone or (match.itself and not is_role):
        grants.append(Grant.DIRECT)
    elif match.itself:
        grants.append(Grant.ROLE)
    elif match.sessions:
        return Who((Grant.DIRECT,), only=match.sessions)
    if match.account:
        grants.append(Grant.ACCOUNT)
    return Who(tuple(grants)) if grants else NOBODY


# ---- bound requirements ---------------------------------------------------------------------------


@dataclass(slots=True)
class Scan:
    """What one layer says about the bound pattern: its best Allow, limited ones, and Denies."""

    layer: Layer
    full: list[Reason] = field(default_factory=list)
    limited: list[Reason] = field(default_factory=list)
    denies: list[Reason] = field(default_factory=list)
    limited_denies: list[Reason] = field(default_factory=list)

    @property
    def grade(self) -> Grade:
        if self.full:
            return Grade.FULL
        return Grade.LIMITED if self.limited else Grade.NONE


def _resource_grade(
    scoped: Scoped,
    pattern: Tokens,
    derived: Mapping[str, str | list[str]],
    undecided: frozenset[str],
) -> tuple[Grade, tuple[str, ...]]:
    """How the statement's Resource (NotResource) relates to the pattern, and the entries that matter."""
    if scoped.star:
        return Grade.FULL, ()
    substitute = scoped.statement.substitute
    cover: list[str] = []
    touch: list[str] = []
    for entry in scoped.entries:
        found = bound_entry_tokens(entry, substitute, derived, undecided)
        if found is None:  # a principal variable without a value: the entry matches nothing
            continue
        tokens, resolved = found
        if resolved and covers(tokens, pattern):
            cover.append(entry)
        elif intersects(tokens, pattern):
            touch.append(entry)
    if scoped.not_resource:  # the entries are excluded
        if cover:
            return Grade.NONE, tuple(cover)
        return (Grade.LIMITED, tuple(touch)) if touch else (Grade.FULL, ())
    if cover:
        return Grade.FULL, tuple(cover)
    return (Grade.LIMITED, tuple(touch)) if touch else (Grade.NONE, ())


@dataclass(frozen=True, slots=True)
class _Context:
    principal: Principal
    action: str
    action_lower: str
    pattern: str
    tokens: Tokens
    derived: Mapping[str, str | list[str]]
    undecided: frozenset[str]
    view: CatalogView


def _limits(
    covering: Covering, grade: Grade, entries: tuple[str, ...], person: Who, ctx: _Context
) -> tuple[str, tuple[Limit, ...]]:
    only = "only " if covering.statement.effect is Effect.ALLOW else ""
    parts: list[str] = []
    limits: list[Limit] = []
    if grade is Grade.LIMITED:
        listed = ", ".join(entries)
        if covering.scoped.not_resource:
            parts.append(f"on {ctx.pattern} except {listed}")
            limits.append(Limit.NOT_RESOURCE)
        else:
            parts.append(f"{only}on {listed} of {ctx.pattern}")
            limits.append(Limit.RESOURCE_SCOPE)
    else:
        parts.append(f"on {ctx.pattern}")
    if covering.remaining:
        keys = ", ".join(f"{entry.operator} {entry.key}" for entry in covering.remaining)
        parts.append(f"{only}when {keys}")
        limits.append(Limit.CONDITION)
    if person.only:
        parts.append(f"{only}for the session(s) {', '.join(person.only)} of the role")
        limits.append(Limit.PRINCIPAL)
    if person.but:
        parts.append(f"for every session of the role but {', '.join(person.but)}")
        limits.append(Limit.PRINCIPAL)
    return " and ".join(parts), tuple(limits)


def _scan(layer: Layer, ctx: _Context, split: bool = False) -> tuple[Scan, dict[Grant, Scan]]:
    """Scan one layer; with ``split`` (the resource policy), Allows are sorted by how they name the
    principal, and statements that do not name it are left out."""
    scan = Scan(layer)
    by_grant = {grant: Scan(layer) for grant in Grant} if split else {}
    for covering in covering_in(layer, ctx.action_lower, ctx.principal, ctx.derived, ctx.view):
        grade, entries = _resource_grade(covering.scoped, ctx.tokens, ctx.derived, ctx.undecided)
        if grade is Grade.NONE:
            continue
        person = who(covering.statement, ctx.principal) if split else Who((Grant.DIRECT,), True)
        deny = covering.statement.effect is Effect.DENY
        if (deny and not person.applies) or (not deny and not person.grants):
            continue
        full = grade is Grade.FULL and not covering.remaining and not person.session_limited
        ref, described = covering.policy.ref(covering.statement)
        text, limits = _limits(covering, grade, entries, person, ctx)
        note = f" ({person.note})" if person.note else ""
        keys = tuple(entry.key for entry in covering.remaining)
        if deny:
            if full:
                message = (
                    f"{ctx.action} {text} is denied by {described}{note}{covering.absent_note(ctx.action)}"
                )
                scan.denies.append(layer.reason("explicit_deny", message, ref))
            else:
                message = f"{ctx.action} is denied {text} by {described}{note}"
                scan.limited_denies.append(layer.reason("limited_deny", message, ref, limits, keys))
            continue
        targets = [by_grant[grant] for grant in person.grants] if split else [scan]
        for target in targets:
            if full:
                message = (
                    f"{ctx.action} {text} is allowed by {described}{note}{covering.absent_note(ctx.action)}"
                )
                target.full.append(layer.reason("allow", message, ref))
            else:
                message = f"{ctx.action} is allowed {text} by {described}{note}"
                target.limited.append(layer.reason("limited_allow", message, ref, limits, keys))
    return scan, by_grant


@dataclass(slots=True)
class _Path:
    """One way the request can be granted: the layers that must all allow."""

    name: str
    scans: list[Scan]
    extra: list[Reason] = field(default_factory=list)  # why the path is closed, beyond its scans

    @property
    def grade(self) -> Grade:
        if self.extra:
            return Grade.NONE
        return min((scan.grade for scan in self.scans), default=Grade.NONE)


def _resource_reason(policy: ResourcePolicy, code: str, message: str) -> Reason:
    return Reason(code, LayerKind.RESOURCE, message, resource=policy.resource)


def bound_requirement(
    principal: Principal,
    action: str,
    bound: BoundResource,
    *,
    layers: Sequence[Layer],
    derived: Mapping[str, str | list[str]],
    catalog: ActionCatalog | None,
) -> RequirementResult:
    """The requirement question of ``action`` on ``bound.pattern`` (the module docstring's rules).

    ``layers``: the identity policies, the boundary and the SCP levels (``evaluate.layers_of``).
    """
    action_lower = fold_case(action)
    always = always_allowing(action_lower)
    if always is not None:
        reason = service_rule_reason(always, f"{action} is allowed whatever the policies say")
        return RequirementResult(action, RequirementStatus.ALLOWED, (reason,))
    unusable = key_state_result(action, bound.policy)
    if unusable is not None:
        return unusable
    view = catalog_view(action_lower, catalog)
    ctx = _Context(
        principal,
        action,
        action_lower,
        bound.pattern,
        pattern_tokens(bound.pattern),
        derived,
        undecided_keys(principal),
        view,
    )
    policy_state = bound.policy
    scans = {id(layer): _scan(layer, ctx)[0] for layer in layers}
    identity = next(scans[id(layer)] for layer in layers if layer.kind is LayerKind.IDENTITY)
    boundary = next((scans[id(layer)] for layer in layers if layer.kind is LayerKind.BOUNDARY), None)
    org = [scans[id(layer)] for layer in layers if layer.kind is LayerKind.SCP]
    if bound.rcps is not None and rcps_apply(view[0]) and not policy_state.aws_managed:
        rcp_layers = [Layer(LayerKind.RCP, level, rcp_level=n) for n, level in enumerate(bound.rcps)]
        org += [_scan(layer, ctx)[0] for layer in rcp_layers]

    resource_scan: Scan | None = None
    grants: dict[Grant, Scan] = {}
    if policy_state.policy is not None:
        resource_scan, grants = _scan(Layer(LayerKind.RESOURCE, (policy_state.policy,)), ctx, split=True)
    all_scans = [
        identity,
        *([boundary] if boundary else []),
        *org,
        *([resource_scan] if resource_scan else []),
    ]
    full_denies = [reason for scan in all_scans for reason in scan.denies]
    limited_denies = [reason for scan in all_scans for reason in scan.limited_denies]
    on = f" on {bound.pattern}"
    org_closed = [
        no_allow_reason(scan.layer, action, action_lower, view, on)
        for scan in org
        if not scan.full and not scan.limited
    ]

    same_account = policy_state.owner(principal.account) == principal.account
    kms = key_policy_required(policy_state.resource)
    paths = _paths(ctx, policy_state, identity, boundary, grants, same_account=same_account, kms=kms)

    if policy_state.policy is None and policy_state.unreadable is not None:
        definite = full_denies + org_closed
        if not same_account:  # the identity side must allow whatever the resource policy says
            definite += _layers_closed(paths[0], ctx, on, LayerKind.RESOURCE)
        if definite:
            return RequirementResult(action, RequirementStatus.DENIED, tuple(definite))
        reason = _resource_reason(policy_state, "unreadable", policy_state.unreadable)
        return RequirementResult(action, RequirementStatus.UNKNOWN, (reason,))

    if full_denies or org_closed:
        return RequirementResult(action, RequirementStatus.DENIED, tuple(full_denies + org_closed))
    grade = max((path.grade for path in paths), default=Grade.NONE)
    if grade is Grade.NONE:
        reasons = _denied_reasons(paths, grants, ctx, on, resource_scan)
        return RequirementResult(action, RequirementStatus.DENIED, reasons)
    org_grade = min((scan.grade for scan in org), default=Grade.FULL)
    if grade is Grade.FULL and org_grade is Grade.FULL and not limited_denies:
        best = next(path for path in paths if path.grade is Grade.FULL)
        allows = [scan.full[0] for scan in [*best.scans, *org]]
        return RequirementResult(action, RequirementStatus.ALLOWED, tuple(allows))
    limited = list(limited_denies)
    for path in paths:
        if path.grade is Grade.LIMITED:
            limited += [reason for scan in path.scans if not scan.full for reason in scan.limited]
    limited += [reason for scan in org if not scan.full for reason in scan.limited]
    return RequirementResult(action, RequirementStatus.PARTIAL, tuple(dict.fromkeys(limited)))


def _paths(
    ctx: _Context,
    policy_state: ResourcePolicy,
    identity: Scan,
    boundary: Scan | None,
    grants: Mapping[Grant, Scan],
    *,
    same_account: bool,
    kms: bool,
) -> list[_Path]:
    """The ways the bound requirement can be granted; the identity path first."""
    principal_side = [identity, *([boundary] if boundary else [])]
    if not same_account:
        resource_side = _merged(grants, policy_state, ctx)
        path = _Path("cross-account", [*principal_side, resource_side])
        if policy_state.policy is None:
            path.extra.append(
                _resource_reason(
                    policy_state,
                    "no_resource_allow",
                    f"{policy_state.resource} belongs to account {policy_state.owner(ctx.principal.account)} "
                    f"and has no {policy_state.kind}: another account's resource needs its policy to allow "
                    "the principal",
                )
            )
        return [path]
    identity_path = _Path("identity", list(principal_side))
    if kms:
        account = grants.get(Grant.ACCOUNT)
        if account is not None:
            identity_path.scans.append(account)
        else:  # only when the key policy is not known (a key always has one): the path is closed
            identity_path.extra.append(
                _resource_reason(
                    policy_state,
                    "no_resource_allow",
                    f"the key policy of {policy_state.resource} is not known: without it the identity "
                    "policies grant nothing",
                )
            )
    paths = [identity_path]
    if Grant.DIRECT in grants:
        paths.append(_Path("direct", [grants[Grant.DIRECT]]))
    if ctx.principal.kind is PrincipalKind.ROLE and Grant.ROLE in grants:
        paths.append(_Path("role", [grants[Grant.ROLE], *([boundary] if boundary else [])]))
    return paths


def _merged(grants: Mapping[Grant, Scan], policy_state: ResourcePolicy, ctx: _Context) -> Scan:
    """The resource policy's Allows of every kind, for another account's resource."""
    layer = next(iter(grants.values())).layer if grants else Layer(LayerKind.RESOURCE, ())
    merged = Scan(layer)
    for scan in grants.values():
        merged.full += scan.full
        merged.limited += scan.limited
    return merged


def _denied_reasons(
    paths: Sequence[_Path],
    grants: Mapping[Grant, Scan],
    ctx: _Context,
    on: str,
    resource_scan: Scan | None,
) -> tuple[Reason, ...]:
    """Why no path grants: each path's closed layers, once each. A path through a kind of grant the
    resource policy does not make at all is not explained (one reason says the policy grants nothing
    to the principal); a layer explained by several paths keeps the most specific wording (the
    boundary's, when it limits a grant to the role's ARN)."""
    found: dict[tuple[object, ...], Reason] = {}
    for path in paths:
        if path.name in ("direct", "role") and path.scans[0].grade is Grade.NONE:
            continue
        for reason in _closed_reasons(path, ctx, on):
            found[(reason.layer, reason.scp_level, reason.rcp_level, reason.code, reason.resource)] = reason
    if resource_scan is not None and paths[0].name == "identity":
        source = resource_scan.layer.policies[0].source
        direct = [grant for grant in (Grant.DIRECT, Grant.ROLE) if grants[grant].grade is not Grade.NONE]
        if not direct:
            whom = "to the principal"
            if grants[Grant.ACCOUNT].grade is not Grade.NONE:
                whom = (
                    "to the principal; it allows it to the principal's account, which leaves the answer to "
                    f"the identity policies ({_PRINCIPAL_DOC})"
                )
            key = (LayerKind.RESOURCE, None, None, "no_resource_allow", source.resource)
            message = f"no statement in the {source.name} of {source.resource} allows {ctx.action}{on} {whom}"
            found.setdefault(
                key, Reason("no_resource_allow", LayerKind.RESOURCE, message, resource=source.resource)
            )
    return tuple(found.values())


def _closed_reasons(path: _Path, ctx: _Context, on: str) -> list[Reason]:
    """Why a path grants nothing: what closed it, else its layers without an Allow (only the resource
    policy's, when that is one of them: the other layers do not matter until it grants)."""
    if path.extra:
        return list(path.extra) + _layers_closed(path, ctx, on, LayerKind.RESOURCE)
    closed = [scan for scan in path.scans if scan.grade is Grade.NONE]
    resource = [scan for scan in closed if scan.layer.kind is LayerKind.RESOURCE]
    if resource and path.name in ("direct", "role"):
        return [_resource_closed(resource[0], path, ctx, on)]
    return [
        _resource_closed(scan, path, ctx, on)
        if scan.layer.kind is LayerKind.RESOURCE
        else _layer_closed(scan, path, ctx, on)
        for scan in closed
    ]


def _layers_closed(path: _Path, ctx: _Context, on: str, skip: LayerKind) -> list[Reason]:
    return [
        _layer_closed(scan, path, ctx, on)
        for scan in path.scans
        if scan.grade is Grade.NONE and scan.layer.kind is not skip
    ]


def _layer_closed(scan: Scan, path: _Path, ctx: _Context, on: str) -> Reason:
    reason = no_allow_reason(scan.layer, ctx.action, ctx.action_lower, ctx.view, on)
    if path.name == "role" and scan.layer.kind is LayerKind.BOUNDARY:
        return scan.layer.reason(
            reason.code,
            f"{reason.message}: the {_kind_of(path)} grants the role's ARN, and such a grant is limited by "
            "the permissions boundary",
            reason.statement,
        )
    return reason


def _kind_of(path: _Path) -> str:
    source = next(
        (scan.layer.policies[0].source for scan in path.scans if scan.layer.kind is LayerKind.RESOURCE), None
    )
    return source.name if source is not None else "resource policy"


def _resource_closed(scan: Scan, path: _Path, ctx: _Context, on: str) -> Reason:
    source = scan.layer.policies[0].source
    if path.name == "identity":
        whom = "to the principal's account (the statement that enables IAM policies)"
        why = ": the key policy must allow, without it the identity policies grant nothing"
    elif path.name == "cross-account":
        whom = "to the principal or its account"
        why = f": a resource of another account ({source.resource}) needs its policy to allow"
    else:
        whom, why = "to the principal", ""
    message = f"no statement in the {source.name} of {source.resource} allows {ctx.action}{on} {whom}{why}"
    return Reason("no_resource_allow", LayerKind.RESOURCE, message, resource=source.resource)


# ---- request decisions ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Request:
    principal: Principal
    action: str
    action_lower: str
    resource: str
    context: Mapping[str, str | list[str]]
    session: str | None  # a role's session name, when the context gives aws:userid

    @property
    def on(self) -> str:
        return f"{self.action} on {self.resource}"


def decide_with_resource(
    principal: Principal,
    action: str,
    resource: str,
    context: Mapping[str, object] | None,
    *,
    scps: ScpLevels | None,
    resource_policy: ResourcePolicy | None,
    rcps: ScpLevels | None,
    catalog: ActionCatalog | None,
) -> RequestResult:
    """The decision for one request with the resource's policy and its account's RCPs (see
    ``evaluate.decide_request``)."""
    action_lower = fold_case(action)
    always = always_allowing(action_lower)
    if always is not None:
        return RequestResult(RequestDecision.ALLOWED, (service_rule_reason(always, f"{action} is allowed"),))
    holder = resource_policy.resource if resource_policy is not None else policy_holder(resource)
    if resource_policy is not None and resource_policy.unreadable is not None:
        raise InputError(f"cannot decide {action} on {resource}: {resource_policy.unreadable}")
    if resource_policy is None and holder is not None and key_policy_required(holder):
        raise InputError(f"cannot decide {action} on {resource}: give the key policy of {holder}")
    context_values = normalize_context(context)
    context_values.update(principal.derived_context())
    userid = context_values.get("aws:userid")
    is_role = principal.kind is PrincipalKind.ROLE
    session = userid.partition(":")[2] if is_role and isinstance(userid, str) and ":" in userid else None
    request = _Request(principal, action, action_lower, resource, context_values, session)

    layers = layers_of(principal, scps)
    facts = catalog.facts(action_lower) if catalog is not None else None
    aws_managed = resource_policy is not None and resource_policy.aws_managed
    if rcps is not None and rcps_apply(facts) and not aws_managed:
        layers += [Layer(LayerKind.RCP, level, rcp_level=n) for n, level in enumerate(rcps)]
    denies, allows = _match_layers(layers, request)
    resource_layer = None
    granted: dict[Grant, Reason] = {}
    if resource_policy is not None and resource_policy.policy is not None:
        resource_layer = Layer(LayerKind.RESOURCE, (resource_policy.policy,))
        denies += _match_resource(resource_layer, request, granted)
    if denies:
        return RequestResult(RequestDecision.EXPLICIT_DENY, tuple(denies))
    org_layers = [layer for layer in layers if layer.kind in (LayerKind.SCP, LayerKind.RCP)]
    missing = [
        layer.reason("no_allow", f"no statement in {layer.describe()} allows {request.on}")
        for layer in org_layers
        if id(layer) not in allows
    ]
    reserved = reserving(action_lower, resource)
    if reserved is not None:
        reason = service_rule_reason(reserved, f"{request.on} is denied whatever the policies allow")
        return RequestResult(RequestDecision.IMPLICIT_DENY, (reason, *missing))
    if missing:
        return RequestResult(RequestDecision.IMPLICIT_DENY, tuple(missing))
    owner = resource_policy.owner(principal.account) if resource_policy else principal.account
    kms = holder is not None and key_policy_required(holder)
    path = _request_path(layers, allows, granted, cross=owner != principal.account, kms=kms)
    if path is not None:
        return RequestResult(RequestDecision.ALLOWED, (*path, *(allows[id(layer)] for layer in org_layers)))
    reasons = [
        layer.reason("no_allow", f"no statement in {layer.describe()} allows {request.on}")
        for layer in layers
        if layer.kind in (LayerKind.IDENTITY, LayerKind.BOUNDARY) and id(layer) not in allows
    ]
    what = resource_layer.describe() if resource_layer is not None else "the resource policy (there is none)"
    if owner != principal.account and not granted:
        where = f"the resource is in account {owner}"
        message = f"no statement in {what} allows {request.on} to the principal ({where})"
        reasons.append(Reason("no_resource_allow", LayerKind.RESOURCE, message, resource=holder))
    elif owner == principal.account and kms and Grant.ACCOUNT not in granted:
        message = (
            f"no statement in {what} allows {request.on} to the principal or its account: without it the "
            "identity policies grant nothing"
        )
        reasons.append(Reason("no_resource_allow", LayerKind.RESOURCE, message, resource=holder))
    return RequestResult(RequestDecision.IMPLICIT_DENY, tuple(reasons))


def _match_layers(layers: Sequence[Layer], request: _Request) -> tuple[list[Reason], dict[int, Reason]]:
    """The Denies that match the request, and each layer's first matching Allow (by layer id)."""
    denies: list[Reason] = []
    allows: dict[int, Reason] = {}
    for layer in layers:
        for policy in layer.policies:
            for statement in policy.covering(request.action_lower):
                if not statement_applies(statement, request.resource, request.context):
                    continue
                ref = policy.ref(statement)[0]
                if statement.effect is Effect.DENY:
                    denies.append(layer.reason("explicit_deny", f"denied by {ref.describe()}", ref))
                else:
                    allows.setdefault(id(layer), layer.reason("allow", f"allowed by {ref.describe()}", ref))
    return denies, allows


def _match_resource(layer: Layer, request: _Request, granted: dict[Grant, Reason]) -> list[Reason]:
    """The resource policy's Denies that apply to the request; its grants go to ``granted``."""
    (policy,) = layer.policies
    denies: list[Reason] = []
    for statement in policy.covering(request.action_lower):
        if not statement_applies(statement, request.resource, request.context):
            continue
        person = who(statement, request.principal)
        ref = policy.ref(statement)[0]
        note = f" ({person.note})" if person.note else ""
        if statement.effect is Effect.DENY:
            if person.applies and person.for_session(request.session):
                denies.append(layer.reason("explicit_deny", f"denied by {ref.describe()}{note}", ref))
        elif person.grants and (not person.only or request.session in person.only):
            for grant in person.grants:
                granted.setdefault(grant, layer.reason("allow", f"allowed by {ref.describe()}{note}", ref))
    return denies


def _request_path(
    layers: Sequence[Layer],
    allows: Mapping[int, Reason],
    granted: Mapping[Grant, Reason],
    *,
    cross: bool,
    kms: bool,
) -> list[Reason] | None:
    """The Allows that grant the request (the module docstring's rules), or None."""
    identity = allows.get(id(layers[0]))
    boundary_layer = next((layer for layer in layers if layer.kind is LayerKind.BOUNDARY), None)
    boundary_ok = boundary_layer is None or id(boundary_layer) in allows
    boundary = [allows[id(boundary_layer)]] if boundary_layer is not None and boundary_ok else []
    if cross:
        side = granted.get(Grant.DIRECT) or granted.get(Grant.ROLE) or granted.get(Grant.ACCOUNT)
        return [identity, *boundary, side] if identity and boundary_ok and side else None
    if Grant.DIRECT in granted:
        return [granted[Grant.DIRECT]]
    if Grant.ROLE in granted and boundary_ok:
        return [granted[Grant.ROLE], *boundary]
    if identity is None or not boundary_ok:
        return None
    if not kms:
        return [identity, *boundary]
    return [identity, *boundary, granted[Grant.ACCOUNT]] if Grant.ACCOUNT in granted else None
