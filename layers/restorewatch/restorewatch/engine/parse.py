"""Policy documents into compiled ``Policy`` values.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html

Accepts a dict, a JSON string, or the URL-encoded JSON string the raw IAM API returns. Anything
that does not follow the grammar raises ``MalformedPolicyError`` naming the policy and the problem:
a checker that guessed would report "allowed" for a document AWS reads differently.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from restorewatch.engine.conditions import ConditionEntry, ConditionSyntaxError, parse_condition_block
from restorewatch.engine.jsontext import load_json
from restorewatch.engine.model import Effect, LayerKind, Policy, PolicySource, Statement
from restorewatch.engine.patterns import ActionMatcher, ResourceMatcher, fold_case, has_wildcard
from restorewatch.errors import MalformedPolicyError

if TYPE_CHECKING:
    from restorewatch.engine.principals import PrincipalMatcher

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
_DOCUMENT_KEYS = frozenset({"Version", "Id", "Statement"})
_EFFECTS = {effect.value: effect for effect in Effect}  # a dict: calling the Enum runs Python code
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
        "Principal",
        "NotPrincipal",
    }
)


def decode_document(document: object) -> Mapping[str, Any]:
    """A policy document as a mapping; raises ValueError with the reason."""
    if isinstance(document, Mapping):
        return document
    if isinstance(document, bytes):
        document = document.decode("utf-8", errors="strict")
    if not isinstance(document, str):
        raise ValueError(f"a policy document must be a JSON object, not {type(document).__name__}")
    text = document.strip()
    if text[:1] != "{" and "%" in text:
        import urllib.parse  # only the raw API's documents need it (boto3 and the CLI decode them)

        text = urllib.parse.unquote(text)  # IAM's API returns documents URL-encoded (RFC 3986)
    try:
        decoded = load_json(text)
    except ValueError as error:
        raise ValueError(f"invalid JSON ({error})") from None
    if not isinstance(decoded, dict):
        raise ValueError("a policy document must be a JSON object")
    return decoded


def _string_list(value: object, label: str, element: str) -> tuple[str, ...]:
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"{label}: {element} is an empty list")
    for item in items:
        if not isinstance(item, str) or not item:
            raise ValueError(f"{label}: {element} entries must be non-empty strings, got {item!r}"[:200])
    return tuple(items)


def _action_services(actions: tuple[str, ...], label: str) -> frozenset[str]:
    """The lower-cased service prefixes the actions can match ("*": any); raises for a value that is
    no action."""
    services: set[str] = set()
    for action in actions:
        service, sep, _name = action.partition(":")
        # "s3:" (an empty action name) names no action: it matches nothing, like any other action
        # name AWS does not have, instead of making the whole policy (and the run) unreadable
        if not (sep and service) and action != "*":
            raise ValueError(f"{label}: action {action!r} is not of the form service:action")
        services.add(service)
    return frozenset(map(_service_key, services))


@lru_cache(maxsize=4096)
def _service_key(service: str) -> str:
    """A service prefix as the policy's index keys it: lower-cased, "*" when it has a wildcard."""
    return "*" if has_wildcard(service) else fold_case(service)


_RCP_SYNTAX = (
    "https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html"
)


def _principal_element(
    raw: Mapping[str, Any], label: str, layer: LayerKind
) -> tuple[PrincipalMatcher | None, bool]:
    """The Principal or NotPrincipal of a resource-based policy or RCP statement; no other layer has one.

    A resource-based policy statement names its principals with exactly one of the two elements
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html);
    an RCP statement with ``"Principal": "*"`` only, and without NotPrincipal or NotAction
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html).
    An RCP statement without Principal is read as ``"*"``, the only value it may have.
    """
    has_principal, has_not = "Principal" in raw, "NotPrincipal" in raw
    if layer is not LayerKind.RESOURCE and layer is not LayerKind.RCP:
        if has_principal or has_not:
            raise ValueError(f"{label}: Principal/NotPrincipal belong in resource-based policies, not here")
        return None, False
    # imported here: identity policies, boundaries and SCPs (nearly every policy) never need it
    from restorewatch.engine.principals import parse_principal_element

    if layer is LayerKind.RESOURCE:
        if has_principal == has_not:
            raise ValueError(
                f"{label}: a resource-based policy statement needs exactly one of Principal or NotPrincipal"
            )
        element = "NotPrincipal" if has_not else "Principal"
        return parse_principal_element(raw[element], f"{label}: {element}"), has_not
    if layer is LayerKind.RCP:
        if has_not:
            raise ValueError(f"{label}: RCPs do not support NotPrincipal ({_RCP_SYNTAX})")
        if has_principal and raw["Principal"] != "*":
            raise ValueError(f'{label}: the Principal of an RCP statement can only be "*" ({_RCP_SYNTAX})')
    return parse_principal_element("*", "Principal"), False


def _compile_statement(raw: object, index: int, version: str, layer: LayerKind) -> Statement:
    if not isinstance(raw, (dict, Mapping)):  # a dict first: the ABC alone checks slower
        raise ValueError(f"statement #{index} is not an object")
    sid = raw.get("Sid")
    label = f"statement {sid!r}" if isinstance(sid, str) and sid else f"statement #{index}"
    if not _STATEMENT_KEYS.issuperset(raw):
        unknown = set(raw) - _STATEMENT_KEYS
        raise ValueError(f"{label}: unknown element(s) {sorted(map(str, unknown))}")
    if sid is not None and not isinstance(sid, str):
        raise ValueError(f"{label}: Sid must be a string")
    effect_text = raw.get("Effect")
    effect = _EFFECTS.get(effect_text) if isinstance(effect_text, str) else None
    if effect is None:
        raise ValueError(f'{label}: Effect must be "Allow" or "Deny", not {effect_text!r}')
    principals, not_principal = _principal_element(raw, label, layer)

    if ("Action" in raw) == ("NotAction" in raw):
        raise ValueError(f"{label}: needs exactly one of Action or NotAction")
    not_action = "NotAction" in raw
    if not_action and layer is LayerKind.RCP:
        raise ValueError(f"{label}: RCPs do not support NotAction ({_RCP_SYNTAX})")
    action_element = "NotAction" if not_action else "Action"
    actions = _string_list(raw[action_element], label, action_element)
    services = _action_services(actions, label)

    if "Resource" in raw and "NotResource" in raw:
        raise ValueError(f"{label}: has both Resource and NotResource")
    if "Resource" not in raw and "NotResource" not in raw:
        if layer is not LayerKind.SCP:
            raise ValueError(f"{label}: needs Resource or NotResource")
        resources: tuple[str, ...] = ("*",)  # SCPs written before resources were supported omit it
    else:
        element = "NotResource" if "NotResource" in raw else "Resource"
        resources = _string_list(raw[element], label, element)
    not_resource = "NotResource" in raw
    substitute = version == VERSION_2012

    conditions: tuple[ConditionEntry, ...] = ()
    if "Condition" in raw:
        try:
            conditions = parse_condition_block(raw["Condition"], substitute_variables=substitute)
        except ConditionSyntaxError as error:
            raise ValueError(f"{label}: {error}") from None

    return Statement(
        effect=effect,
        index=index,
        sid=sid or None,
        actions=ActionMatcher.compile(actions, services),
        not_action=not_action,
        resources=ResourceMatcher.compile(resources, substitute=substitute),
        not_resource=not_resource,
        conditions=conditions,
        resource_is_star=not not_resource and "*" in resources,
        substitute=substitute,
        principals=principals,
        not_principal=not_principal,
    )


def parse_policy(document: object, source: PolicySource) -> Policy:
    """Compile one policy document; ``MalformedPolicyError`` names the policy and the problem."""
    try:
        decoded = decode_document(document)
        unknown = set(decoded) - _DOCUMENT_KEYS
        if unknown:
            raise ValueError(f"unknown top-level element(s) {sorted(map(str, unknown))}")
        version = decoded.get("Version", VERSION_2008)
        if version not in (VERSION_2012, VERSION_2008):
            raise ValueError(f"Version must be {VERSION_2012} or {VERSION_2008}, not {version!r}")
        if "Statement" not in decoded:
            raise ValueError("no Statement")
        raw_statements = decoded["Statement"]
        if isinstance(raw_statements, Mapping):
            raw_statements = [raw_statements]
        if not isinstance(raw_statements, list):
            raise ValueError("Statement must be an object or a list of objects")
        statements = tuple(
            _compile_statement(raw, index, version, source.layer) for index, raw in enumerate(raw_statements)
        )
    except (ValueError, RecursionError) as error:
        raise MalformedPolicyError(source.describe(), str(error) or type(error).__name__) from None

    by_service: dict[str, list[Statement]] = {}
    for statement in statements:
        services = statement.actions.services
        if statement.not_action or "*" in services:
            services = frozenset({"*"})
        for service in services:
            by_service.setdefault(service, []).append(statement)
    anywhere = tuple(by_service.pop("*", ()))
    indexed = {service: (*listed, *anywhere) for service, listed in by_service.items()}
    if anywhere:
        indexed["*"] = anywhere
    return Policy(source, version, statements, indexed)
