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
The result depends only on the statement and the action, so it is computed once per (statement,
action) and shared by every principal whose policies hold the statement.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from restorewatch.engine.arnformat import can_name, entry_service, format_service, key_matches, matches_star
from restorewatch.engine.service_rules import ServiceRule, reserved_patterns

if TYPE_CHECKING:
    from restorewatch.engine.catalog import ActionCatalog, ActionFacts
    from restorewatch.engine.conditions import ConditionEntry
    from restorewatch.engine.model import Statement

__all__ = ["Inapplicable", "Scoped", "catalog_view", "is_universal", "never_applies", "statement_scope"]


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


@lru_cache(maxsize=4096)
def _key_index(facts: ActionFacts) -> tuple[frozenset[str], tuple[str, ...]]:
    exact = frozenset(key.lower() for key in facts.condition_keys if "${" not in key and "<" not in key)
    templated = tuple(key for key in facts.condition_keys if "${" in key or "<" in key)
    return exact, templated


def carries(facts: ActionFacts, key_lower: str) -> bool:
    """Can a request of this action carry the condition key? (The catalog's own keys only.)"""
    exact, templated = _key_index(facts)
    return key_lower in exact or any(key_matches(key_lower, key) for key in templated)


@lru_cache(maxsize=4096)
def _services(facts: ActionFacts) -> frozenset[str] | None:
    """The services the action's ARN formats name; None when one of them is not literal."""
    services = [format_service(arn_format) for arn_format in facts.arn_formats]
    return None if None in services else frozenset(s for s in services if s is not None)


@lru_cache(maxsize=262144)
def _entry_applies(entry: str, substitute: bool, facts: ActionFacts, reserved: tuple[str, ...]) -> bool:
    if entry == "*":
        return True
    if facts.wildcard_only:
        return matches_star(entry, substitute)
    # most entries of a large account name another service: one set lookup instead of a format each
    service, services = entry_service(entry, substitute), _services(facts)
    if service is not None and services is not None and service not in services:
        return False
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
    facts: ActionFacts | None,
    reserved: tuple[str, ...],
    rules: tuple[ServiceRule, ...],
) -> Scoped | Inapplicable:
    entries = statement.resources.entries
    if facts is None:
        return Scoped(
            statement, entries, statement.resource_is_star, statement.not_resource, statement.conditions
        )
    substitute = statement.substitute
    if statement.resource_is_star:
        # "*" names every resource: the other entries change nothing, and they are never shown
        applicable = entries
    else:
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


@lru_cache(maxsize=65536)
def _named_services(entries: tuple[str, ...], substitute: bool) -> frozenset[str] | None:
    """The services a Resource list's entries name; None when one of them does not spell it."""
    services = [entry_service(entry, substitute) for entry in entries]
    return None if None in services else frozenset(s for s in services if s is not None)


@lru_cache(maxsize=65536)
def _any_matches_star(entries: tuple[str, ...], substitute: bool) -> bool:
    return any(matches_star(entry, substitute) for entry in entries)


def never_applies(statement: Statement, facts: ActionFacts | None) -> bool:
    """A quick "no" for what ``statement_scope`` finds ``Inapplicable`` by its Resource list alone
    in the usual cases (rule 1): no entry is ``*``, and each names another service than every
    resource type of the action, or the action is wildcard-only and none matches ``*``.

    Decided per Resource list, not per entry, and without the explanation: a large account's
    statements name many services' ARNs, and a check asks each about every action of a profile.
    ``statement_scope`` still gives the ``Inapplicable`` with its reason when one is asked for."""
    if facts is None or statement.not_resource or statement.resource_is_star:
        return False
    entries, substitute = statement.resources.entries, statement.substitute
    if facts.wildcard_only:
        return not _any_matches_star(entries, substitute)
    services, named = _services(facts), _named_services(entries, substitute)
    return services is not None and named is not None and named.isdisjoint(services)


def is_universal(statement: Statement) -> bool:
    """Does the statement mean the same for every action it covers? On "*" without conditions it
    does: ``statement_scope`` gives one shared answer, a ``Scoped`` on every resource."""
    return statement.resource_is_star and not statement.conditions


@lru_cache(maxsize=8192)
def catalog_view(
    action_lower: str, catalog: ActionCatalog | None
) -> tuple[ActionFacts | None, tuple[str, ...], tuple[ServiceRule, ...]]:
    """What the catalog and the service rules say about one action (cached: the catalog must be
    hashable, as an object compared by identity is, and hand out the same facts every time)."""
    facts = catalog.facts(action_lower) if catalog is not None else None
    if facts is None:
        return None, (), ()
    reserved, rules = reserved_patterns(action_lower)
    return facts, reserved, rules


def statement_scope(
    statement: Statement,
    facts: ActionFacts | None,
    reserved: tuple[str, ...] = (),
    rules: tuple[ServiceRule, ...] = (),
) -> Scoped | Inapplicable:
    """What a statement that covers the action by name means for it (``facts``, ``reserved`` and
    ``rules`` as ``catalog_view`` gives them); computed once per statement and action."""
    key = None if is_universal(statement) else facts
    found = statement.scopes.get(key)
    if found is None:
        found = _scope_statement(statement, key, reserved, rules)
        statement.scopes[key] = found
    return found
