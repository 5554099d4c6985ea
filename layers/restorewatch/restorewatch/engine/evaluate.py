"""The two questions: a request decision, and the requirement status of an action.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_boundaries.html
https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_evaluation.html

Layers are the identity policies (together), the permissions boundary (if any), each SCP level
(if SCPs are given) and each RCP level (if RCPs are given and apply to the action's service). A
Deny that applies in any layer wins; otherwise every layer needs an Allow. A requirement bound to a
resource, and a request with a resource policy, are answered by ``engine.resource_eval``, which
adds the resource's own policy with AWS's rules for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, NamedTuple

from restorewatch.engine.conditions import is_principal_key
from restorewatch.engine.model import (
    Effect,
    LayerKind,
    Limit,
    Policy,
    Principal,
    PrincipalKind,
    Reason,
    RequestDecision,
    RequestResult,
    RequirementResult,
    RequirementStatus,
    Statement,
    StatementRef,
)
from restorewatch.engine.patterns import fold_case
from restorewatch.engine.scope import Scoped, catalog_view, is_universal, never_applies, statement_scope
from restorewatch.engine.service_rules import ServiceRule, always_allowing, reserving

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from restorewatch.engine.catalog import ActionCatalog, ActionFacts
    from restorewatch.engine.conditions import ConditionEntry
    from restorewatch.engine.resources import BoundResource, ResourcePolicy

ScpLevels = tuple[tuple[Policy, ...], ...]
# the catalog's view of one action: its facts, the resources service rules reserve, those rules
CatalogView = tuple["ActionFacts | None", tuple[str, ...], tuple[ServiceRule, ...]]


@dataclass(frozen=True, slots=True)
class Layer:
    kind: LayerKind
    policies: tuple[Policy, ...]
    scp_level: int | None = None
    rcp_level: int | None = None
    # service prefix -> the policies with a statement that can cover an action of it
    _by_service: dict[str, tuple[Policy, ...]] = field(default_factory=dict, repr=False, compare=False)

    def policies_for(self, service: str) -> tuple[Policy, ...]:
        """The policies that can cover an action of ``service`` (a requirement check asks each
        principal about a few services, and most of its policies are about others)."""
        found = self._by_service.get(service)
        if found is None:
            found = tuple(p for p in self.policies if service in p.by_service or "*" in p.by_service)
            self._by_service[service] = found
        return found

    def describe(self) -> str:
        if self.kind is LayerKind.IDENTITY:
            return "the identity policies"
        if self.kind is LayerKind.BOUNDARY:
            return f"the permissions boundary {self.policies[0].source.name}"
        if self.kind is LayerKind.RESOURCE:
            source = self.policies[0].source
            return f"the {source.name} of {source.resource}"
        names = ", ".join(p.source.arn or p.source.name for p in self.policies) or "none"
        if self.kind is LayerKind.RCP:
            return f"the RCPs at level {self.rcp_level} ({names})"
        return f"the SCPs at level {self.scp_level} ({names})"

    def reason(
        self,
        code: str,
        message: str,
        ref: StatementRef | None = None,
        limits: tuple[Limit, ...] = (),
        condition_keys: tuple[str, ...] = (),
    ) -> Reason:
        """A reason about this layer (its SCP or RCP level, the resource its policy is attached to)."""
        resource = self.policies[0].source.resource if self.kind is LayerKind.RESOURCE else None
        return Reason(
            code, self.kind, message, ref, self.scp_level, limits, condition_keys, self.rcp_level, resource
        )


def layers_of(principal: Principal, scps: ScpLevels | None, rcps: ScpLevels | None = None) -> list[Layer]:
    """The identity layers, the boundary, the SCP levels; with ``rcps``, the RCP levels of the
    principal's account (for an action on ``*``: RCPs apply to the resources of the account)."""
    layers = [Layer(LayerKind.IDENTITY, principal.identity)]
    if principal.boundary is not None:
        layers.append(Layer(LayerKind.BOUNDARY, (principal.boundary,)))
    if scps:
        layers += [Layer(LayerKind.SCP, policies, level) for level, policies in enumerate(scps)]
    if rcps:  # last: _requirement drops them for the services RCPs do not apply to
        layers += [Layer(LayerKind.RCP, policies, rcp_level=level) for level, policies in enumerate(rcps)]
    return layers


def rcps_apply(facts: ActionFacts | None) -> bool:
    """Do RCPs apply to the action? Only to the services AWS lists (the catalog says which);
    without a catalog (or one that does not say), they are applied: they can only take away.
    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html"""
    return facts is None or facts.rcp_supported is not False


def _ref(policy: Policy, statement: Statement) -> StatementRef:
    return policy.ref(statement)[0]


def normalize_context(context: Mapping[str, object] | None) -> dict[str, str | list[str]]:
    """Lower-case keys; scalars to strings (JSON true -> "true"); lists of scalars to lists."""
    normalized: dict[str, str | list[str]] = {}
    for key, value in (context or {}).items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            normalized[key.lower()] = [_scalar_text(item) for item in value]
        else:
            normalized[key.lower()] = _scalar_text(value)
    return normalized


def _scalar_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---- request decisions -----------------------------------------------------------------------------


def decide_request(
    principal: Principal,
    action: str,
    resource: str = "*",
    context: Mapping[str, object] | None = None,
    scps: ScpLevels | None = None,
    *,
    resource_policy: ResourcePolicy | None = None,
    rcps: ScpLevels | None = None,
    catalog: ActionCatalog | None = None,
) -> RequestResult:
    """The decision AWS would make for this one request (no session policies).

    ``resource_policy``: the policy of the resource the request acts on (``engine.resources``);
    ``rcps``: the RCP levels of the account that owns it (applied to the services that support
    RCPs, as ``catalog`` says). With either, ``engine.resource_eval`` decides. The service rules
    (``engine.service_rules``) come first where AWS decides without the policies.
    """
    if resource_policy is not None or rcps is not None:
        from restorewatch.engine.resource_eval import decide_with_resource

        return decide_with_resource(
            principal,
            action,
            resource,
            context,
            scps=scps,
            resource_policy=resource_policy,
            rcps=rcps,
            catalog=catalog,
        )
    action_lower = fold_case(action)
    always = always_allowing(action_lower)
    if always is not None:
        return RequestResult(RequestDecision.ALLOWED, (_service_rule_reason(always, f"{action} is allowed"),))
    request_context = normalize_context(context)
    derived = principal.derived_context()
    request_context.update(derived)

    denies: list[Reason] = []
    missing: list[Reason] = []
    allows: list[Reason] = []
    for layer in layers_of(principal, scps):
        layer_allow: Reason | None = None
        for policy in layer.policies:
            for statement in policy.covering(action_lower):
                if not statement_applies(statement, resource, request_context):
                    continue
                ref = _ref(policy, statement)
                if statement.effect is Effect.DENY:
                    denies.append(layer.reason("explicit_deny", f"denied by {ref.describe()}", ref))
                elif layer_allow is None:
                    layer_allow = layer.reason("allow", f"allowed by {ref.describe()}", ref)
        if layer_allow is None:
            missing.append(
                layer.reason("no_allow", f"no statement in {layer.describe()} allows {action} on {resource}")
            )
        else:
            allows.append(layer_allow)
    if denies:
        return RequestResult(RequestDecision.EXPLICIT_DENY, tuple(denies))
    reserved = reserving(action_lower, resource)
    if reserved is not None:
        reason = _service_rule_reason(
            reserved, f"{action} on {resource} is denied whatever the policies allow"
        )
        return RequestResult(RequestDecision.IMPLICIT_DENY, (reason, *missing))
    if missing:
        return RequestResult(RequestDecision.IMPLICIT_DENY, tuple(missing))
    return RequestResult(RequestDecision.ALLOWED, tuple(allows))


def service_rule_reason(rule: ServiceRule, what: str) -> Reason:
    return Reason("service_rule", LayerKind.SERVICE, f"{what}: AWS service rule: {rule.summary} ({rule.doc})")


_service_rule_reason = service_rule_reason


def statement_applies(statement: Statement, resource: str, context: Mapping[str, str | list[str]]) -> bool:
    """Resource (or NotResource) and every Condition entry match the request."""
    if statement.resources.matches(resource, context) == statement.not_resource:
        return False
    return all(entry.evaluate(context) for entry in statement.conditions)


# ---- requirement status ----------------------------------------------------------------------------


class Covering(NamedTuple):
    """A covering statement after the catalog's rules and its principal-derived conditions.

    A named tuple, not a frozen dataclass: one is made per covering statement of every check, and
    a tuple is built four times faster.
    """

    policy: Policy
    statement: Statement
    scoped: Scoped
    remaining: tuple[ConditionEntry, ...]
    unconditional_on_star: bool

    @property
    def limits(self) -> tuple[Limit, ...]:
        limits: list[Limit] = []
        if self.scoped.not_resource:
            limits.append(Limit.NOT_RESOURCE)
        elif not self.scoped.star:
            limits.append(Limit.RESOURCE_SCOPE)
        if self.remaining:
            limits.append(Limit.CONDITION)
        return tuple(limits)

    def describe_limits(self) -> str:
        only = "only " if self.statement.effect is Effect.ALLOW else ""
        parts: list[str] = []
        entries = self.scoped.entries
        if self.scoped.not_resource:
            parts.append(f"on every resource except {', '.join(entries)}")
        elif not self.scoped.star:
            parts.append(f"{only}on {', '.join(entries)}")
        if self.remaining:
            keys = ", ".join(f"{entry.operator} {entry.key}" for entry in self.remaining)
            parts.append(f"{only}when {keys}")
        return " and ".join(parts)

    def absent_note(self, action: str) -> str:
        """Why a condition of the statement no longer counts (the catalog decided it)."""
        if not self.scoped.absent:  # the usual case
            return ""
        keys = ", ".join(f"{entry.operator} {entry.key}" for entry in self.scoped.absent)
        return f" (its condition {keys} always holds: {action} requests never carry that key)"


def undecided_keys(principal: Principal) -> frozenset[str]:
    """Principal-derived keys the request still decides: a role's ``aws:userid`` ends with the
    session name."""
    return frozenset({"aws:userid"}) if principal.kind is PrincipalKind.ROLE else frozenset()


# keys of the principal's organization: the principal decides them once the caller said which one
ORG_KEYS = frozenset({"aws:principalorgid", "aws:principalorgpaths"})


def _decidable_by_principal(entry: ConditionEntry, principal: Principal) -> bool:
    # a role's aws:userid ends with the session name, which the request decides
    if principal.kind is PrincipalKind.ROLE and (
        entry.key_lower == "aws:userid" or "aws:userid" in entry.variable_keys
    ):
        return False
    if principal.org_id is not None and (entry.key_lower in ORG_KEYS or entry.variable_keys & ORG_KEYS):
        keys = {entry.key_lower, *entry.variable_keys}
        return all(key in ORG_KEYS or is_principal_key(key) for key in keys)
    return entry.principal_derived


def classify(
    policy: Policy, scoped: Scoped, principal: Principal, derived: Mapping[str, str | list[str]]
) -> Covering | None:
    """None when a principal-derived condition is false: the statement never applies to it."""
    if not scoped.conditions:  # the usual case
        return Covering(policy, scoped.statement, scoped, (), scoped.star)
    remaining: list[ConditionEntry] = []
    for entry in scoped.conditions:
        if _decidable_by_principal(entry, principal):
            if not entry.evaluate(derived):
                return None
        else:
            remaining.append(entry)
    return Covering(policy, scoped.statement, scoped, tuple(remaining), scoped.star and not remaining)


def _fill(policy: Policy, batch: _Batch) -> None:
    """Cache in ``policy.scoped`` the statements that cover each action of ``batch`` (actions of
    one service) as the catalog scopes them: a ``Covering`` when no condition is left to decide
    (the same for every principal), else the ``Scoped`` statement for ``classify``.

    One pass over the policy's statements of the service for the whole batch (the actions of the
    profile being checked), instead of one per action: a large account has hundreds of distinct
    policies, each asked about every action of the profile, and most cover none of them. The
    cache serves every principal the policy is attached to."""
    covered: dict[str, list[Statement]] = {}
    for statement in policy.statements_for(batch.service):
        matched = statement.actions.matching(batch.lowers)
        if statement.not_action:  # Statement.covers
            excluded = set(matched)
            matched = [lower for lower in batch.lowers if lower not in excluded]
        for lower in matched:
            covered.setdefault(lower, []).append(statement)
    # built apart, then published: another thread reading the policy sees an answer only once it
    # is final (a missing one it works out again, the same)
    filled: dict[tuple[str, ActionFacts | None], tuple[Covering | Scoped, ...]]
    filled = dict.fromkeys(batch.keys, ())  # the usual answer: no statement covers the action
    universal: dict[int, Covering] = {}  # statement index -> its Covering, the same for every action
    for lower, statements in covered.items():
        asked = batch.asked[lower]
        items: list[Covering | Scoped] = []
        for statement in statements:
            if is_universal(statement):  # most statements of an account: Resource "*", no Condition
                covering = universal.get(statement.index)
                if covering is None:
                    scoped = statement_scope(statement, *asked.view)
                    assert isinstance(scoped, Scoped)  # on "*": never inapplicable
                    covering = universal[statement.index] = Covering(policy, statement, scoped, (), True)
                items.append(covering)
                continue
            if never_applies(statement, asked.view[0]):  # the usual "no", without its explanation
                continue
            scoped = statement_scope(statement, *asked.view)
            if type(scoped) is Scoped:
                items.append(
                    scoped if scoped.conditions else Covering(policy, statement, scoped, (), scoped.star)
                )
        if items:
            filled[asked.key] = tuple(items)
    policy.scoped.update(filled)


def covering_in(
    layer: Layer,
    action: str,
    principal: Principal,
    derived: Mapping[str, str | list[str]],
    view: CatalogView,
) -> list[Covering]:
    """The statements of ``layer`` that cover ``action`` as the catalog scopes them, without those
    a principal-derived condition rules out."""
    # the view is a function of the action and its facts
    asked = _Asked(action, action.partition(":")[0], None, view, (action, view[0]))
    return _covering_in(layer, asked, principal, derived, _Batch.of((asked,)))


def _covering_in(
    layer: Layer,
    asked: _Asked,
    principal: Principal,
    derived: Mapping[str, str | list[str]],
    batch: _Batch,
) -> list[Covering]:
    """``covering_in``; ``batch``: the actions of the service to cache at once (``asked`` among them)."""
    found: list[Covering] = []
    key = asked.key
    for policy in layer.policies_for(asked.service):
        items = policy.scoped.get(key)
        if items is None:
            _fill(policy, batch)
            items = policy.scoped[key]
        for item in items:
            if type(item) is Covering:
                found.append(item)
            else:
                covering = classify(policy, item, principal, derived)  # type: ignore[arg-type]
                if covering is not None:
                    found.append(covering)
    return found


def _excluding_not_actions(layer: Layer, action: str) -> Iterable[tuple[Policy, Statement]]:
    """Allow statements with a NotAction that lists ``action``: the usual reason it is missing."""
    for policy in layer.policies:
        for statement in policy.by_service.get("*", ()):  # where every NotAction statement is indexed
            if (
                statement.effect is Effect.ALLOW
                and statement.not_action
                and statement.actions.matches(action)
            ):
                yield policy, statement


def requirement_status(
    principal: Principal,
    action: str,
    scps: ScpLevels | None = None,
    catalog: ActionCatalog | None = None,
    *,
    rcps: ScpLevels | None = None,
    bound: BoundResource | None = None,
) -> RequirementResult:
    """Can ``principal`` perform ``action`` on some resource, whatever the request context?

    ``catalog`` (evaluation spec, "The action catalog") says what the action can act on and which
    condition keys its requests carry; without one, every Resource entry may apply and no
    condition is decided (coarse, never more than the policies say). ``rcps``: the RCP levels of
    the principal's account. ``bound``: the question is asked of the resources of one pattern,
    with the policy of that resource and the RCPs of its account (``engine.resource_eval``).
    """
    if bound is not None:
        return check_actions(principal, ((action, bound),), scps, catalog, rcps=rcps)[0]
    return _requirement(
        principal, action, layers_of(principal, scps, rcps), principal.derived_context(), catalog
    )


class _Asked(NamedTuple):
    """What a requirement check needs to know of the action, whoever is asked: computed once."""

    lower: str  # folded (``fold_case``)
    service: str  # its service prefix
    always: ServiceRule | None  # the service rule that allows it whatever the policies say
    view: CatalogView
    key: tuple[str, ActionFacts | None]  # the policies' cache key (``_scoped_in``)


@lru_cache(maxsize=8192)
def _asked(action: str, catalog: ActionCatalog | None) -> _Asked:
    """(Cached like ``catalog_view``: the catalog hands out the same facts every time.)"""
    lower = fold_case(action)
    view = catalog_view(lower, catalog)
    return _Asked(lower, lower.partition(":")[0], always_allowing(lower), view, (lower, view[0]))


class _Batch(NamedTuple):
    """The actions of one service asked of a principal together (``_fill`` caches them at once)."""

    service: str
    asked: Mapping[str, _Asked]  # folded action -> what is asked (each action once)
    lowers: tuple[str, ...]
    keys: tuple[tuple[str, ActionFacts | None], ...]

    @classmethod
    def of(cls, asked: Iterable[_Asked]) -> _Batch:
        by_lower = {item.lower: item for item in asked}
        first = next(iter(by_lower.values()))
        keys = tuple(item.key for item in by_lower.values())
        return cls(first.service, MappingProxyType(by_lower), tuple(by_lower), keys)


@lru_cache(maxsize=8192)
def _alone(action: str, catalog: ActionCatalog | None) -> _Batch:
    """The batch of an action asked on its own (``requirement_status``), cached like ``_asked``."""
    return _Batch.of((_asked(action, catalog),))


@lru_cache(maxsize=1024)
def _batches(actions: tuple[str, ...], catalog: ActionCatalog | None) -> Mapping[str, _Batch]:
    """The actions (on ``*``) of a check by service; the same for every principal checked against
    one profile, so cached like ``_asked``."""
    by_service: dict[str, list[_Asked]] = {}
    for action in actions:
        asked = _asked(action, catalog)
        by_service.setdefault(asked.service, []).append(asked)
    return MappingProxyType({service: _Batch.of(listed) for service, listed in by_service.items()})


def _requirement(
    principal: Principal,
    action: str,
    layers: Sequence[Layer],
    derived: Mapping[str, str | list[str]],
    catalog: ActionCatalog | None,
    *,
    batches: Mapping[str, _Batch] | None = None,
) -> RequirementResult:
    """``batches``: the actions of each service asked of the principal (``_fill``)."""
    asked = _asked(action, catalog)
    if asked.always is not None:
        reason = _service_rule_reason(asked.always, f"{action} is allowed whatever the policies say")
        return RequirementResult(action, RequirementStatus.ALLOWED, (reason,))
    action_lower, view = asked.lower, asked.view
    if layers[-1].kind is LayerKind.RCP and not rcps_apply(view[0]):
        layers = [layer for layer in layers if layer.kind is not LayerKind.RCP]
    full_denies: list[Reason] = []
    no_allow: list[Reason] = []
    limited: list[Reason] = []
    allows: list[Reason] = []
    allowed: RequirementResult | None = None  # the result when one layer's "allowed by" says it all
    any_deny = False

    batch = batches[asked.service] if batches else _alone(action, catalog)
    for layer in layers:
        coverings = _covering_in(layer, asked, principal, derived, batch)
        full: Covering | None = None  # the first Allow of the layer that grants it all
        some_allow = False
        for covering in coverings:
            if covering.statement.effect is Effect.ALLOW:
                if full is None and covering.unconditional_on_star:
                    full = covering
                some_allow = True
                continue
            any_deny = True
            ref, described = covering.policy.ref(covering.statement)
            if covering.unconditional_on_star:
                full_denies.append(
                    layer.reason(
                        "explicit_deny",
                        f"{action} is denied by {described}{covering.absent_note(action)}",
                        ref,
                    )
                )
            else:
                limited.append(
                    layer.reason(
                        "limited_deny",
                        f"{action} is denied {covering.describe_limits()} by {described}",
                        ref,
                        covering.limits,
                        tuple(e.key for e in covering.remaining),
                    )
                )
        if full is not None:
            reason, allowed = _allow_reason(full, action, layer)
            allows.append(reason)
        elif not some_allow:
            no_allow.append(no_allow_reason(layer, action, action_lower, view))
        else:
            for allow in coverings:
                if allow.statement.effect is not Effect.ALLOW:
                    continue
                ref, described = allow.policy.ref(allow.statement)
                limited.append(
                    layer.reason(
                        "limited_allow",
                        f"{action} is allowed {allow.describe_limits()} by {described}",
                        ref,
                        allow.limits,
                        tuple(e.key for e in allow.remaining),
                    )
                )

    if full_denies or no_allow:
        return RequirementResult(action, RequirementStatus.DENIED, tuple(full_denies + no_allow))
    if not limited and not any_deny:
        if len(allows) == 1 and allowed is not None:
            return allowed
        return RequirementResult(action, RequirementStatus.ALLOWED, tuple(allows))
    return RequirementResult(action, RequirementStatus.PARTIAL, tuple(limited))


def _allow_reason(full: Covering, action: str, layer: Layer) -> tuple[Reason, RequirementResult]:
    """The "allowed by" reason of ``full`` in ``layer``, and the result of ``action`` when that
    reason is all there is to say (the usual answer: one identity layer, one Allow): both built
    once per policy, not once per principal and action."""
    # the scoped statement (kept alive on the statement) stands for the catalog the answer came from
    key = (
        action,
        id(layer.kind),  # a member's id: hashing an Enum member runs Python code
        layer.scp_level if layer.rcp_level is None else layer.rcp_level,
        id(full.scoped),
    )
    found = full.policy.allow_reasons.get(key)
    if found is None:
        ref, described = full.policy.ref(full.statement)
        reason = layer.reason("allow", f"{action} is allowed by {described}{full.absent_note(action)}", ref)
        found = (reason, RequirementResult(action, RequirementStatus.ALLOWED, (reason,)))
        full.policy.allow_reasons[key] = found
    return found


def no_allow_reason(layer: Layer, action: str, action_lower: str, view: CatalogView, on: str = "") -> Reason:
    """No statement of ``layer`` allows the action (``on``: " on PATTERN" for a bound requirement),
    with the usual reason when there is one: a NotAction that lists it, an Allow that names it but
    can never apply to it."""
    excluded = list(_excluding_not_actions(layer, action_lower))
    message = f"no statement in {layer.describe()} allows {action}{on}"
    ref = None
    if excluded:
        policy, statement = excluded[0]
        ref = _ref(policy, statement)
        listed = ", ".join(statement.actions.patterns)
        message += f" ({ref.describe()} allows everything except {listed} via NotAction)"
    else:
        # an Allow that names the action but can never apply to it: the usual mistake to point at
        skipped = next(
            (
                (policy, scoped)
                for policy in layer.policies
                for statement in policy.covering(action_lower)
                if statement.effect is Effect.ALLOW
                and not isinstance(scoped := statement_scope(statement, *view), Scoped)
            ),
            None,
        )
        if skipped is not None:
            policy, inapplicable = skipped
            ref = _ref(policy, inapplicable.statement)
            message += f" ({ref.describe()} names {action} but never applies to it: {inapplicable.why})"
    return layer.reason("no_allow", message, ref)


def check_actions(
    principal: Principal,
    actions: Sequence[str | tuple[str, BoundResource | None]],
    scps: ScpLevels | None = None,
    catalog: ActionCatalog | None = None,
    *,
    rcps: ScpLevels | None = None,
) -> tuple[RequirementResult, ...]:
    """``requirement_status`` for several actions; the layers and context are built once.

    An entry is an action (on ``*``) or ``(action, bound)``, ``bound`` the resource side of an
    action bound to a resource pattern (None: on ``*``). ``rcps`` are the RCP levels of the
    principal's account, for the actions on ``*``; a bound action carries its own.
    """
    layers = layers_of(principal, scps, rcps)
    derived = principal.derived_context()
    on_star = tuple(
        entry if isinstance(entry, str) else entry[0]
        for entry in actions
        if isinstance(entry, str) or entry[1] is None
    )
    batches = _batches(on_star, catalog)
    results: list[RequirementResult] = []
    for entry in actions:
        action, bound = (entry, None) if isinstance(entry, str) else entry
        if bound is None:
            results.append(_requirement(principal, action, layers, derived, catalog, batches=batches))
            continue
        from restorewatch.engine.resource_eval import bound_requirement

        identity = [layer for layer in layers if layer.kind is not LayerKind.RCP]
        results.append(
            bound_requirement(principal, action, bound, layers=identity, derived=derived, catalog=catalog)
        )
    return tuple(results)
