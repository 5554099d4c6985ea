"""What each statement of a policy means for one action, once the action catalog is consulted.

Evaluation spec, "The action catalog" (requirement checks only):

1. A Resource entry applies to action A only if it can name a resource of one of A's resource
   types (``arnformat.can_name``); for a wildcard-only action, only if it matches the string ``*``.
   A statement none of whose Resource entries applies does not cover A. A NotResource entry that
   cannot name a resource of A excludes nothing; a NotResource statement none of whose entries can
   is read as ``Resource: "*"``.
2. A condition on a key outside ``aws:`` that neither A nor its resource types carry is decided as
   for an absent key: false removes the statement, true drops the entry.

Service rules that reserve resources (``service_rules``) remove those resources from A's formats.
The result depends only on the policy and the action, so it is computed once per (policy, action)
and shared by every principal that has the policy.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from restorewatch.engine.arnformat import can_name, key_matches, matches_star
from restorewatch.engine.parse import VERSION_2012
from restorewatch.engine.service_rules import ServiceRule, reserved_patterns

if TYPE_CHECKING:
    from restorewatch.engine.catalog import ActionCatalog, ActionFacts
    from restorewatch.engine.conditions import ConditionEntry
    from restorewatch.engine.model import Policy, Statement

__all__ = ["Inapplicable", "PolicyScope", "Scoped", "policy_scope"]


@dataclass(frozen=True, slots=True)
class Scoped:
    """A covering statement as it applies to the action.

    ``entries``: the Resource (or NotResource) entries that can name a resource of the action;
    ``star``: it applies to every resource of the action (a literal ``"*"``, or a NotResource
    that excludes nothing); ``not_resource``: some resources are excluded; ``conditions``: the
    entries still to decide (principal-derived, ``aws:`` keys, keys the action carries);
    ``absent``: the entries the catalog decided true because the action never carries their key.
    """

    statement: Statement
    entries: tuple[str, ...]
    star: bool
    not_resource: bool
    conditions: tuple[ConditionEntry, ...]
    absent: tuple[ConditionEntry, ...] = ()


@dataclass(frozen=True, slots=True)
class Inapplicable:
    """A statement whose Action covers the action but that can never apply to it, and why."""

    statement: Statement
    why: str


@dataclass(frozen=True, slots=True)
class PolicyScope:
    facts: ActionFacts | None
    applicable: tuple[Scoped, ...]
    inapplicable: tuple[Inapplicable, ...]


@lru_cache(maxsize=4096)
def _key_index(facts: ActionFacts) -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(key.lower() for key in facts.condition_keys if "${" not in key and "<" not in key)
    templated = tuple(key for key in facts.condition_keys if "${" in key or "<" in key)
    return exact, templated


def carries(facts: ActionFacts, key_lower: str) -> bool:
    """Can a request of this action carry the condition key? (The catalog's own keys only.)"""
    exact, templated = _key_index(facts)
    return key_lower in exact or any(key_matches(key_lower, key) for key in templated)


def _entry_applies(entry: str, substitute: bool, facts: ActionFacts, reserved: tuple[str, ...]) -> bool:
    if entry == "*":
        return True
    if facts.wildcard_only:
        return matches_star(entry, substitute)
    return any(can_name(entry, substitute, arn_format, reserved) for arn_format in facts.arn_formats)


def _resource_reason(
    statement: Statement,
    facts: ActionFacts,
    substitute: bool,
    rules: tuple[ServiceRule, ...],
) -> str:
    listed = ", ".join(statement.resources.entries)
    if facts.wildcard_only:
        return (
            f'it names only {listed}, but {facts.action} has no resource types and is always requested on "*"'
        )
    if rules and any(_entry_applies(entry, substitute, facts, ()) for entry in statement.resources.entries):
        names = "; ".join(f"{rule.summary} ({rule.doc})" for rule in rules)
        return f"it names only {listed}, which AWS reserves: {names}"
    return f"none of {listed} can name a resource of {facts.action}"


def _scope_statement(
    statement: Statement,
    substitute: bool,
    facts: ActionFacts | None,
    reserved: tuple[str, ...],
    rules: tuple[ServiceRule, ...],
) -> Scoped | Inapplicable:
    entries = statement.resources.entries
    if facts is None:
        return Scoped(
            statement, entries, statement.resource_is_star, statement.not_resource, statement.conditions
        )
    applicable = tuple(entry for entry in entries if _entry_applies(entry, substitute, facts, reserved))
    if statement.not_resource:
        star, not_resource = not applicable, bool(applicable)
    elif not applicable:
        return Inapplicable(statement, _resource_reason(statement, facts, substitute, rules))
    else:
        star, not_resource = "*" in applicable, False

    kept: list[ConditionEntry] = []
    absent: list[ConditionEntry] = []
    for condition in statement.conditions:
        if condition.key_lower.startswith("aws:") or carries(facts, condition.key_lower):
            kept.append(condition)
        elif condition.evaluate({}):
            absent.append(condition)
        else:
            return Inapplicable(
                statement,
                f"its condition {condition.operator} {condition.key} can never hold: "
                f"{facts.action} requests never carry {condition.key}",
            )
    return Scoped(statement, applicable, star, not_resource, tuple(kept), tuple(absent))


def policy_scope(policy: Policy, action_lower: str, catalog: ActionCatalog | None) -> PolicyScope:
    """The covering statements of ``policy`` for the action, with the catalog's rules applied."""
    facts = catalog.facts(action_lower) if catalog is not None else None
    cached = policy.scopes.get(action_lower)
    if cached is not None and cached.facts is facts:
        return cached
    reserved, rules = reserved_patterns(action_lower) if facts is not None else ((), ())
    substitute = policy.version == VERSION_2012
    applicable: list[Scoped] = []
    inapplicable: list[Inapplicable] = []
    for statement in policy.covering(action_lower):
        scoped = _scope_statement(statement, substitute, facts, reserved, rules)
        if isinstance(scoped, Scoped):
            applicable.append(scoped)
        else:
            inapplicable.append(scoped)
    scope = PolicyScope(facts, tuple(applicable), tuple(inapplicable))
    policy.scopes[action_lower] = scope
    return scope
