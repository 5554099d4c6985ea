"""The IAM evaluation engine: pure Python, standard library only, no AWS calls.

It answers the two questions of the evaluation spec: the decision AWS makes for one request
(``decide_request``) and whether a principal can still perform an action at all
(``requirement_status``), each with its explanation. Requirement checks consult the action catalog
through ``ActionCatalog`` (``restorewatch.catalog`` reads it; the engine reads no file). A requirement
bound to a resource pattern, and a request on a resource, also weigh the resource's own policy and
the RCPs of its account (``engine.resources`` holds them, ``engine.resource_eval`` evaluates them).
"""

from restorewatch.engine.catalog import ActionCatalog, ActionFacts
from restorewatch.engine.evaluate import (
    Layer,
    ScpLevels,
    check_actions,
    decide_request,
    layers_of,
    normalize_context,
    requirement_status,
)
from restorewatch.engine.model import (
    Effect,
    LayerKind,
    Limit,
    Policy,
    PolicySource,
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
from restorewatch.engine.parse import decode_document, parse_policy
from restorewatch.engine.resources import (
    BoundResource,
    RcpLevels,
    ResourcePolicies,
    ResourcePolicy,
    parse_resource_policy,
    policy_holder,
    resource_policies_from_json,
)
from restorewatch.engine.scps import parse_rcps, parse_scps
from restorewatch.engine.snapshot import AccountSnapshot, account_of

__all__ = [
    "AccountSnapshot",
    "ActionCatalog",
    "ActionFacts",
    "BoundResource",
    "Effect",
    "Layer",
    "LayerKind",
    "Limit",
    "Policy",
    "PolicySource",
    "Principal",
    "PrincipalKind",
    "RcpLevels",
    "Reason",
    "RequestDecision",
    "RequestResult",
    "RequirementResult",
    "RequirementStatus",
    "ResourcePolicies",
    "ResourcePolicy",
    "ScpLevels",
    "Statement",
    "StatementRef",
    "account_of",
    "check_actions",
    "decide_request",
    "decode_document",
    "layers_of",
    "normalize_context",
    "parse_policy",
    "parse_rcps",
    "parse_resource_policy",
    "parse_scps",
    "policy_holder",
    "requirement_status",
    "resource_policies_from_json",
]
