"""The engine's data: compiled policies, principals and the answers with their explanations.

Everything here is a frozen value. Policies are compiled once (see ``parse``) and shared by every
principal that uses them, so the per-check work is only matching.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Mapping

    from restorewatch.engine.catalog import ActionFacts
    from restorewatch.engine.conditions import ConditionEntry
    from restorewatch.engine.evaluate import Covering
    from restorewatch.engine.patterns import ActionMatcher, ResourceMatcher
    from restorewatch.engine.principals import PrincipalMatcher
    from restorewatch.engine.scope import Inapplicable, Scoped


class Effect(enum.Enum):
    ALLOW = "Allow"
    DENY = "Deny"


class LayerKind(enum.Enum):
    IDENTITY = "identity"
    BOUNDARY = "boundary"
    SCP = "scp"
    RESOURCE = "resource"  # the resource-based policy of the resource (bucket policy, key policy)
    RCP = "rcp"  # resource control policies of AWS Organizations, on the resource's account
    SERVICE = "service"  # AWS itself, outside every policy (engine.service_rules)


class PrincipalKind(enum.Enum):
    USER = "user"
    ROLE = "role"


class RequestDecision(enum.Enum):
    """The answer to one concrete request, as AWS would give it."""

    ALLOWED = "allowed"
    EXPLICIT_DENY = "explicit_deny"
    IMPLICIT_DENY = "implicit_deny"


class RequirementStatus(enum.Enum):
    """Can the principal perform an action on some resource, whatever the request looks like?

    ``UNKNOWN``: a policy the answer needs could not be read (the engine says so for a resource
    policy it was not given, ``engine.resources``), or the watcher could not read or evaluate the
    principal; a failure is never mistaken for ``ALLOWED``.
    """

    ALLOWED = "allowed"
    PARTIAL = "partial"
    DENIED = "denied"
    UNKNOWN = "unknown"


class Limit(enum.Enum):
    """Why a covering statement only grants (or denies) part of an action."""

    RESOURCE_SCOPE = "resource_scope"
    NOT_RESOURCE = "not_resource"
    CONDITION = "condition"
    PRINCIPAL = "principal"  # a resource policy names only some sessions of the role


@dataclass(frozen=True, slots=True)
class PolicySource:
    """Where a policy document came from, for explanations and error messages.

    ``name`` is the inline policy name or the managed policy name; ``arn`` is set for managed
    policies, SCPs and RCPs that have one; ``via_group`` names the group a user inherits it from;
    ``scp_level`` (``rcp_level``) is the index from the organization root (0) down to the account;
    ``resource`` is the ARN a resource-based policy is attached to (the bucket, the key), and
    ``name`` then says what kind of policy it is ("bucket policy", "key policy").
    """

    layer: LayerKind
    name: str
    arn: str | None = None
    via_group: str | None = None
    scp_level: int | None = None
    owner: str | None = None  # the user, group or role an inline policy is embedded in
    resource: str | None = None
    rcp_level: int | None = None

    def describe(self) -> str:
        if self.layer is LayerKind.SCP:
            label = f"SCP {self.arn or self.name} at level {self.scp_level}"
        elif self.layer is LayerKind.RCP:
            label = f"RCP {self.arn or self.name} at level {self.rcp_level}"
        elif self.layer is LayerKind.RESOURCE:
            label = f"the {self.name} of {self.resource}"
        elif self.arn:
            label = f"managed policy {self.name} ({self.arn})"
        else:
            label = f"inline policy {self.name}" + (f" of {self.owner}" if self.owner else "")
        if self.layer is LayerKind.BOUNDARY:
            label = f"permissions boundary {label}"
        if self.via_group:
            label += f" via group {self.via_group}"
        return label


@dataclass(frozen=True, slots=True)
class Statement:
    """One compiled statement. ``index`` is its position in the document's Statement list."""

    effect: Effect
    index: int
    sid: str | None
    actions: ActionMatcher
    not_action: bool
    resources: ResourceMatcher
    not_resource: bool
    conditions: tuple[ConditionEntry, ...]
    resource_is_star: bool  # Resource contains the literal "*" (and there is no NotResource)
    substitute: bool = True  # policy variables are substituted (the document's Version is 2012-10-17)
    # resource-based policies and RCPs only: the Principal (or NotPrincipal) element
    principals: PrincipalMatcher | None = None
    not_principal: bool = False
    # action facts (None: no catalog) -> what the statement means for that action (engine.scope);
    # filled lazily and shared by every principal whose policies hold the statement
    scopes: dict[ActionFacts | None, Scoped | Inapplicable] = field(
        default_factory=dict, repr=False, compare=False
    )

    @property
    def label(self) -> str:
        return f"statement {self.sid!r}" if self.sid else f"statement #{self.index}"

    def covers(self, action: str) -> bool:
        """Action / NotAction match for an already lower-cased ``service:name``."""
        return self.actions.matches(action) != self.not_action


@dataclass(frozen=True, slots=True)
class Policy:
    source: PolicySource
    version: str
    statements: tuple[Statement, ...]
    # statements indexed by the lower-cased service prefix they can cover; "*" holds those that
    # can cover any service (NotAction, or a wildcard in the service part), and each service's
    # entry ends with them (the statements an action of the service may match, in that order)
    by_service: Mapping[str, tuple[Statement, ...]] = field(repr=False, compare=False)
    # action -> the statements that cover it; filled lazily, shared by every principal using the policy
    _covering: dict[str, tuple[Statement, ...]] = field(default_factory=dict, repr=False, compare=False)
    # statement index -> the statement named for explanations, and that name as text
    _refs: dict[int, tuple[StatementRef, str]] = field(default_factory=dict, repr=False, compare=False)
    # (action, id of the layer's kind, SCP or RCP level, id of the scoped statement) -> the "allowed
    # by" reason, and the result of an action allowed by that reason alone: a managed policy's are
    # the same for every principal it is attached to, and both are immutable
    allow_reasons: dict[tuple[str, int, int | None, int], tuple[Reason, RequirementResult]] = field(
        default_factory=dict, repr=False, compare=False
    )
    # (action, its catalog facts) -> the covering statements as the catalog scopes them
    # (``engine.evaluate``); per policy object, since each names its policy
    scoped: dict[tuple[str, ActionFacts | None], tuple[Covering | Scoped, ...]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def ref(self, statement: Statement) -> tuple[StatementRef, str]:
        """The statement as explanations name it (``StatementRef`` and its ``describe()``), built once."""
        found = self._refs.get(statement.index)
        if found is None:
            ref = StatementRef(self.source, statement.label, statement.effect)
            found = self._refs[statement.index] = (ref, ref.describe())
        return found

    def statements_for(self, service: str) -> tuple[Statement, ...]:
        """The statements that can cover an action of ``service``: its own, then those of "*"."""
        found = self.by_service.get(service)
        return self.by_service.get("*", ()) if found is None else found

    def covering(self, action: str) -> tuple[Statement, ...]:
        """Statements whose Action/NotAction covers ``action`` (lower-cased ``service:name``)."""
        found = self._covering.get(action)
        if found is None:
            found = tuple(
                [
                    statement
                    for statement in self.statements_for(action.partition(":")[0])
                    if statement.actions.matches(action) != statement.not_action  # Statement.covers
                ]
            )
            self._covering[action] = found
        return found


@dataclass(frozen=True, slots=True)
class Principal:
    """A user or role with the policies of each of its layers (SCPs are given separately)."""

    arn: str
    name: str
    kind: PrincipalKind
    account: str
    principal_id: str
    tags: Mapping[str, str]
    identity: tuple[Policy, ...]
    boundary: Policy | None
    # the organization of the principal's account, when the caller read it (AWS Organizations):
    # then aws:PrincipalOrgID and aws:PrincipalOrgPaths are the principal's too; None: not known
    org_id: str | None = None
    org_paths: tuple[str, ...] = ()

    def derived_context(self) -> dict[str, str | list[str]]:
        """The principal-derived condition keys, lower-cased, as AWS adds them to every request.

        A role's ``aws:userid`` is ``role-id:session-name``; the session is not part of the
        snapshot, so it is left out (absent) rather than guessed. ``aws:PrincipalOrgID`` and
        ``aws:PrincipalOrgPaths`` are there only when the caller said which organization the account
        is in (``org_id``); otherwise they are undecided, never absent.
        https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalorgid
        """
        context: dict[str, str | list[str]] = {
            "aws:principalarn": self.arn,
            "aws:principalaccount": self.account,
            "aws:principaltype": "User" if self.kind is PrincipalKind.USER else "AssumedRole",
        }
        if self.kind is PrincipalKind.USER:
            context["aws:username"] = self.name
            context["aws:userid"] = self.principal_id
        for key, value in self.tags.items():
            context[f"aws:principaltag/{key.lower()}"] = value
        if self.org_id is not None:
            context["aws:principalorgid"] = self.org_id
            context["aws:principalorgpaths"] = list(self.org_paths)
        return context


@dataclass(frozen=True, slots=True)
class StatementRef:
    """A statement named for an explanation: which layer, which policy, which statement."""

    source: PolicySource
    statement: str  # the statement's label
    effect: Effect

    def describe(self) -> str:
        return f"{self.effect.value} {self.statement} of {self.source.describe()}"


@dataclass(frozen=True, slots=True)
class Reason:
    """One line of an explanation.

    ``code`` is a stable machine-readable word (``explicit_deny``, ``no_allow``, ``limited_allow``,
    ``limited_deny``, ``allow``, ``service_rule``, and on the resource side ``no_resource_allow``
    and ``unreadable``); ``layer`` and ``scp_level``/``rcp_level`` say which layer it is about;
    ``statement`` points at the statement when there is one; ``limits`` and ``condition_keys``
    say why a statement only partly applies; ``resource`` names the resource whose policy the
    reason is about (the bucket or key a resource-side reason concerns).
    """

    code: str
    layer: LayerKind
    message: str
    statement: StatementRef | None = None
    scp_level: int | None = None
    limits: tuple[Limit, ...] = ()
    condition_keys: tuple[str, ...] = ()
    rcp_level: int | None = None
    resource: str | None = None

    def as_dict(self) -> dict[str, object]:
        data: dict[str, object] = {"code": self.code, "layer": self.layer.value, "message": self.message}
        if self.scp_level is not None:
            data["scp_level"] = self.scp_level
        if self.rcp_level is not None:
            data["rcp_level"] = self.rcp_level
        resource = self.resource or (self.statement.source.resource if self.statement else None)
        if resource is not None:
            data["resource"] = resource
        if self.statement is not None:
            source = self.statement.source
            data["policy"] = source.arn or (
                f"{source.name} of {source.resource}" if source.resource else source.name
            )
            data["policy_name"] = source.name
            if source.via_group:
                data["via_group"] = source.via_group
            data["statement"] = self.statement.statement
            data["effect"] = self.statement.effect.value
        if self.limits:
            data["limits"] = [limit.value for limit in self.limits]
        if self.condition_keys:
            data["condition_keys"] = list(self.condition_keys)
        return data


@dataclass(frozen=True, slots=True)
class RequestResult:
    decision: RequestDecision
    reasons: tuple[Reason, ...]

    @property
    def explanation(self) -> str:
        return "; ".join(reason.message for reason in self.reasons)


@dataclass(frozen=True, slots=True)
class RequirementResult:
    action: str
    status: RequirementStatus
    reasons: tuple[Reason, ...]

    @property
    def explanation(self) -> str:
        return "; ".join(reason.message for reason in self.reasons)
