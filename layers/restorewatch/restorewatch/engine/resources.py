"""The resource side of a bound requirement: the resource's policy, its account and its RCPs.

A profile can bind an action to a resource pattern (``arn:aws:s3:::backups/*``). The answer then
depends on the policy attached to the resource that holds what the pattern names (the bucket
``arn:aws:s3:::backups``, the KMS key) and on the resource control policies (RCPs) of the account
that owns it. This module holds those inputs as values; ``engine.resource_eval`` evaluates them.

What is known about a resource's policy is one of three things (``ResourcePolicy``): its document,
that it has none (valid for an S3 bucket, never for a KMS key), or that it could not be read, which
makes the answer ``unknown`` unless something else already denies. ``ResourcePolicies`` holds what
the caller read or was given, and what a resource it does not hold means:

* read from a file (``restorewatch check --resource-policies FILE``), the file is the user's
  statement: a resource missing from it has no resource policy, except a KMS key, which always has
  one (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html: "Every KMS key must
  have exactly one key policy"), so a key missing from it is unknown;
* not given at all (``ResourcePolicies.unread()``), every resource policy is unknown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from restorewatch.engine.arn import parse_arn
from restorewatch.engine.jsontext import load_json
from restorewatch.engine.model import LayerKind, Policy, PolicySource
from restorewatch.engine.parse import parse_policy
from restorewatch.errors import InputError, MalformedPolicyError

if TYPE_CHECKING:
    from restorewatch.engine.evaluate import ScpLevels

__all__ = [
    "BoundResource",
    "RcpLevels",
    "ResourcePolicies",
    "ResourcePolicy",
    "bound_resource",
    "check_holder",
    "holder_kind",
    "holder_pattern",
    "key_policy_required",
    "parse_resource_policy",
    "policy_holder",
    "resource_policies_from_json",
]

# RCP levels, root first, like SCP levels (``engine.scps.parse_rcps``)
RcpLevels = tuple[tuple[Policy, ...], ...]

_ARN = re.compile(r"^arn:([a-z][a-z0-9-]*):([a-z0-9-]+):([a-z0-9-]*):(\d{12}|aws|):(.+)$")
_S3_BUCKET = re.compile(r"^arn:[a-z][a-z0-9-]*:s3:::[^/*?]+$")
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html (3-63 characters)
_BUCKET_NAME = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_KMS_KEY = re.compile(r"^arn:[a-z][a-z0-9-]*:kms:[a-z0-9-]+:\d{12}:key/[^/*?]+$")
_ACCOUNT = re.compile(r"^\d{12}$")
_ENTRY_KEYS = frozenset({"Policy", "PolicyName", "Account", "KeyManager"})


def holder_pattern(pattern: str) -> str:
    """The ARN (or ARN pattern) of what the resource-based policy governing ``pattern`` is attached to.

    An S3 object or bucket pattern is governed by its bucket's policy (``arn:aws:s3:::backups`` for
    ``arn:aws:s3:::backups/veeam/*``); any other resource by its own policy (a KMS key, a backup
    vault).
    """
    arn = parse_arn(pattern)
    if arn is not None and arn.service == "s3" and not arn.region and not arn.account:
        return f"arn:{arn.partition}:s3:::{arn.resource.split('/', 1)[0]}"
    return pattern


def policy_holder(pattern: str) -> str | None:
    """``holder_pattern`` when it names one resource; None when it has a wildcard."""
    holder = holder_pattern(pattern)
    return None if "*" in holder or "?" in holder else holder


def holder_kind(holder: str) -> str:
    """What the policy of ``holder`` is called: "bucket policy", "key policy", ..."""
    arn = parse_arn(holder)
    service = arn.service if arn is not None else ""
    if service == "s3" and _S3_BUCKET.match(holder):
        return "bucket policy"
    if service == "kms":
        return "key policy"
    if service == "backup" and ":backup-vault:" in holder:
        return "vault access policy"
    return "resource policy"


def key_policy_required(holder: str) -> bool:
    """Must the resource's own policy allow the principal, directly or by enabling IAM policies?

    KMS keys (``arn:aws:kms:region:account:key/id``, or a pattern of them): "Unless the key policy
    explicitly allows it, you cannot use IAM policies to allow access to a KMS key"
    (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html). Every other resource
    policy only adds to what the identity policies grant in the same account.
    """
    arn = parse_arn(holder)
    return arn is not None and arn.service == "kms" and arn.resource.startswith("key/")


def _owner_in_arn(holder: str) -> str | None:
    arn = parse_arn(holder)
    return arn.account if arn is not None and _ACCOUNT.match(arn.account) else None


@dataclass(frozen=True, slots=True)
class ResourcePolicy:
    """What is known about the policy of one resource (``resource``, the holder's ARN).

    ``policy``: the compiled document, or None when the resource has none (or it is ``unreadable``,
    which says why it could not be read). ``account``: the account that owns the resource when the
    ARN does not say (an S3 bucket's ARN names no account); None: the ARN's account, else the
    principal's. ``aws_managed``: an AWS managed KMS key, to which RCPs do not apply
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html).
    ``key_state``: a KMS key's ``KeyState`` as ``DescribeKey`` gave it (None: not read, or not a
    key); a key that is not ``Enabled`` cannot be used in cryptographic operations, whatever its
    policy says (``engine.key_state``).
    """

    resource: str
    policy: Policy | None
    unreadable: str | None = None
    account: str | None = None
    aws_managed: bool = False
    key_state: str | None = None

    @classmethod
    def none(cls, resource: str, *, account: str | None = None) -> ResourcePolicy:
        return cls(resource, None, account=account)

    @classmethod
    def unknown(cls, resource: str, why: str) -> ResourcePolicy:
        return cls(resource, None, unreadable=why)

    @property
    def kind(self) -> str:
        return holder_kind(self.resource)

    def owner(self, principal_account: str) -> str:
        """The account that owns the resource."""
        return self.account or _owner_in_arn(self.resource) or principal_account


@dataclass(frozen=True, slots=True)
class ResourcePolicies:
    """The resource policies a check may consult, by holder ARN, and what a missing one means.

    ``given``: True when the mapping is the user's statement of every resource policy (a missing
    resource has none, a missing KMS key is unknown); False when nothing was read (all unknown).
    """

    known: Mapping[str, ResourcePolicy] = field(default_factory=dict)
    given: bool = True
    source: str = "--resource-policies"

    @classmethod
    def unread(
        cls, why: str = "no resource policies were given (--resource-policies FILE)"
    ) -> ResourcePolicies:
        return cls({}, given=False, source=why)

    def lookup_pattern(self, holders: str) -> ResourcePolicy:
        """What is known about the policies of every resource ``holders`` (a pattern) can name.

        Only a file can say: none of them has a policy when no resource the file holds matches the
        pattern (and they are not KMS keys, which always have one). Otherwise it is unknown, since
        the requirement would depend on which resource a request names.
        """
        from restorewatch.engine.arnformat import intersects, pattern_tokens

        tokens = pattern_tokens(holders)
        named = sorted(arn for arn in self.known if intersects(pattern_tokens(arn), tokens))
        if self.given and not named and not key_policy_required(holders):
            return ResourcePolicy.none(holders)
        if named:
            kind = holder_kind(named[0])
            why = f"{holders} names several resources, and {', '.join(named)} has a {kind}: bind to one"
        else:
            why = f"the policies of the resources {holders} names are not known ({self.source})"
        return ResourcePolicy.unknown(holders, why)

    def lookup(self, holder: str) -> ResourcePolicy:
        found = self.known.get(holder)
        if found is not None:
            return found
        kind = holder_kind(holder)
        if not self.given:
            return ResourcePolicy.unknown(holder, f"the {kind} of {holder} was not read: {self.source}")
        if key_policy_required(holder):
            return ResourcePolicy.unknown(
                holder,
                f"the {kind} of {holder} is not in {self.source}: every KMS key has a key policy, "
                "so its absence means it is not known",
            )
        return ResourcePolicy.none(holder)


@dataclass(frozen=True, slots=True)
class BoundResource:
    """A bound requirement's resource side, as the engine receives it.

    ``pattern``: the ARN pattern the action is bound to (parameters already put in);
    ``policy``: what is known about the policy of the pattern's holder (``policy_holder``);
    ``rcps``: the RCP levels of the account that owns it (None: no RCP applies).
    """

    pattern: str
    policy: ResourcePolicy
    rcps: ScpLevels | None = None


def bound_resource(
    pattern: str,
    policies: ResourcePolicies,
    principal_account: str,
    rcps: Mapping[str, RcpLevels] | None = None,
) -> BoundResource:
    """The resource side of ``pattern`` for a principal of ``principal_account``: the policy of its
    holder as ``policies`` knows it, and the RCP levels of the account that owns it (``rcps`` by
    account; an account it does not hold has none)."""
    holder = policy_holder(pattern)
    state = (
        policies.lookup(holder) if holder is not None else policies.lookup_pattern(holder_pattern(pattern))
    )
    return BoundResource(pattern, state, (rcps or {}).get(state.owner(principal_account)))


def parse_resource_policy(document: object, resource: str) -> Policy:
    """Compile the resource-based policy attached to ``resource``; ``MalformedPolicyError`` names it."""
    return parse_policy(document, PolicySource(LayerKind.RESOURCE, holder_kind(resource), resource=resource))


def check_holder(arn: str, origin: str) -> None:
    """Is ``arn`` one resource a resource-based policy can be attached to? ``InputError`` says why not."""
    if not _ARN.match(arn):
        raise InputError(f"{origin}: {arn!r} is not an ARN (arn:partition:service:region:account:resource)")
    service = arn.split(":", 3)[2]
    if service == "s3" and not (_S3_BUCKET.match(arn) and _BUCKET_NAME.match(arn.split(":", 5)[5])):
        raise InputError(
            f"{origin}: {arn!r}: give the bucket's ARN (arn:aws:s3:::bucket-name, a valid bucket name), "
            "which the bucket policy is attached to"
        )
    if service == "kms" and not _KMS_KEY.match(arn):
        raise InputError(
            f"{origin}: {arn!r}: give the key's ARN (arn:aws:kms:region:account:key/key-id); key policies "
            "are attached to keys, not aliases"
        )
    if "*" in arn or "?" in arn:
        raise InputError(f"{origin}: {arn!r} has a wildcard; name one resource")


def _entry(arn: str, value: object, origin: str) -> ResourcePolicy:
    where = f"{origin}: {arn}"
    account: str | None = None
    aws_managed = False
    document = value
    if isinstance(value, Mapping) and "Statement" not in value:
        unknown = sorted(str(key) for key in value if key not in _ENTRY_KEYS)
        if unknown:
            raise InputError(
                f"{where}: unknown key(s) {', '.join(unknown)}: give a policy document, or an object of "
                f"{', '.join(sorted(_ENTRY_KEYS))}"
            )
        if "Policy" not in value:
            raise InputError(f"{where}: no Policy (null for a resource without a policy)")
        document = value["Policy"]
        raw_account = value.get("Account")
        if raw_account is not None:
            if not isinstance(raw_account, str) or not _ACCOUNT.match(raw_account):
                raise InputError(f"{where}: Account must be a 12-digit account ID")
            named = _owner_in_arn(arn)
            if named is not None and named != raw_account:
                raise InputError(f"{where}: Account {raw_account} is not the account the ARN names ({named})")
            account = raw_account
        manager = value.get("KeyManager")
        if manager is not None:
            if manager not in ("AWS", "CUSTOMER") or not key_policy_required(arn):
                raise InputError(f'{where}: KeyManager is "AWS" or "CUSTOMER", for a KMS key only')
            aws_managed = manager == "AWS"
    if document is None:
        if key_policy_required(arn):
            raise InputError(f"{where}: a KMS key always has a key policy; null is not a valid key policy")
        return ResourcePolicy.none(arn, account=account)
    try:
        policy = parse_resource_policy(document, arn)
    except MalformedPolicyError as error:
        raise InputError(f"{origin}: {error}") from None
    return ResourcePolicy(arn, policy, account=account, aws_managed=aws_managed)


def resource_policies_from_json(data: object, origin: str) -> ResourcePolicies:
    """The content of a resource policies file: a JSON object mapping a resource ARN to its policy.

    A value is a policy document (an object, or the JSON text of one), ``null`` (the resource has no
    policy; not for a KMS key), or an object ``{"Policy": ..., "Account": ..., "KeyManager": ...}``:
    ``Policy`` as the AWS CLI prints it (``aws s3api get-bucket-policy``, ``aws kms
    get-key-policy``), ``Account`` the bucket's owner when it is not the principal's account,
    ``KeyManager`` ``"AWS"`` for an AWS managed key.
    """
    if isinstance(data, str):
        try:
            data = load_json(data)
        except ValueError as error:
            raise InputError(f"{origin} is not valid JSON: {error}") from None
    if not isinstance(data, Mapping):
        raise InputError(f"{origin} must hold a JSON object mapping resource ARNs to policy documents")
    known: dict[str, ResourcePolicy] = {}
    for arn, value in data.items():
        if not isinstance(arn, str):  # pragma: no cover - JSON object keys are strings
            raise InputError(f"{origin}: a key is not a string")
        check_holder(arn, origin)
        known[arn] = _entry(arn, value, origin)
    return ResourcePolicies(known, given=True, source=origin)
