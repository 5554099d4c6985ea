"""The IAM evaluation engine: pure Python, standard library only, no AWS calls.

It answers the two questions of the evaluation spec: the decision AWS makes for one request
(``decide_request``) and whether a principal can still perform an action at all
(``requirement_status``), each with its explanation. Requirement checks consult the action catalog
through ``ActionCatalog`` (``restorewatch.catalog`` reads it; the engine reads no file).
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
from restorewatch.engine.scps import parse_scps
from restorewatch.engine.snapshot import AccountSnapshot, account_of

__all__ = [
    "AccountSnapshot",
    "ActionCatalog",
    "ActionFacts",
    "Effect",
    "Layer",
    "LayerKind",
    "Limit",
    "Policy",
    "PolicySource",
    "Principal",
    "PrincipalKind",
    "Reason",
    "RequestDecision",
    "RequestResult",
    "RequirementResult",
    "RequirementStatus",
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
    "parse_scps",
    "requirement_status",
]
