"""The policies of the buckets and keys a bound profile names, read live (``s3``, ``kms``).

A profile that binds actions to the repository bucket and key (``profiles.parameters``) is answered
with the resource's own policy (``engine.resources``). This reader gets it, once per resource per
run (build one per run, as the IAM and Organizations readers), with the clients' retry policy
(``inventory.clients``):

* a bucket: ``s3:GetBucketPolicy`` (with ``ExpectedBucketOwner``: the principal's account).
  ``NoSuchBucketPolicy`` is a valid answer, the bucket has none (``ResourcePolicy.none``);
* a KMS key: ``kms:DescribeKey`` (``KeyManager``: an AWS managed key, to which RCPs do not apply;
  ``KeyState``: a key that is not ``Enabled`` cannot decrypt, ``engine.key_state``) and
  ``kms:GetKeyPolicy`` (the ``default`` policy, the only name a key policy has), in the key's own
  Region;
* anything else a bound profile may name (a backup vault) is not read: unknown, saying so.

Every failure is ``ResourcePolicy.unknown`` naming the call and the error ("s3 GetBucketPolicy on
arn:aws:s3:::b failed: AccessDenied: ..."), never "no policy": the engine then answers ``unknown``
unless something it did read already denies. Both calls can only be made from the account that
owns the resource ("Cross-account use: No",
https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyPolicy.html; GetBucketPolicy "must
... belong to the bucket owner's account",
https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetBucketPolicy.html), so a key in another
account than the principal's is read through that account's clients if the watcher has them, else
unknown; a bucket is read as the principal's account's, and a bucket another account owns fails
``ExpectedBucketOwner`` (AccessDenied): unknown, which is the truth about what the watcher knows.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from restorewatch.engine.arn import Arn, parse_arn
from restorewatch.engine.resources import (
    ResourcePolicy,
    holder_kind,
    key_policy_required,
    parse_resource_policy,
)
from restorewatch.errors import InputError, ReadError
from restorewatch.inventory.organizations import read_error

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["LiveResourcePolicies", "ResourcePolicyReader"]

logger = logging.getLogger(__name__)

NO_BUCKET_POLICY = "NoSuchBucketPolicy"


def _arn(holder: str) -> Arn:
    """``holder`` is a bucket's or key's ARN: ``holder_kind`` and ``key_policy_required`` said so."""
    arn = parse_arn(holder)
    if arn is None:  # pragma: no cover - unreachable: both tests above parse it first
        raise InputError(f"{holder!r} is not an ARN")
    return arn


class ResourcePolicyReader:
    """``policy(holder, principal_account) -> ResourcePolicy``, each resource read once.

    ``client_for(service, account, region)``: a client acting in ``account`` (``region`` None: the
    default); it raises ``ReadError`` when the watcher cannot act there (another account in
    single-account mode, a member role that cannot be assumed).
    """

    def __init__(self, client_for: Callable[[str, str, str | None], Any]) -> None:
        self._client_for = client_for
        self._cache: dict[tuple[str, str], ResourcePolicy] = {}
        self.calls: Counter[str] = Counter()
        self.failures: dict[str, ReadError] = {}  # holder -> the read that failed (the run may retry)

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    def policy(self, holder: str, principal_account: str) -> ResourcePolicy:
        key = (holder, principal_account)
        if key not in self._cache:
            self._cache[key] = self._read(holder, principal_account)
        return self._cache[key]

    def _read(self, holder: str, principal_account: str) -> ResourcePolicy:
        kind = holder_kind(holder)
        if kind == "bucket policy":
            return self._bucket(holder, principal_account)
        if key_policy_required(holder):
            return self._key(holder)
        return ResourcePolicy.unknown(
            holder, f"RestoreWatch does not read the {kind} of {holder} live (S3 buckets and KMS keys only)"
        )

    def _call(
        self, service: str, operation: str, holder: str, account: str, region: str | None, **kwargs: Any
    ) -> Any:
        client = self._client_for(service, account, region)
        self.calls[f"{service}.{operation}"] += 1
        try:  # named at run time, as the Organizations reader does (faults are injected by name)
            return getattr(client, xform_name(operation))(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise read_error(operation, holder, exc) from exc

    def _failed(self, service: str, holder: str, failure: ReadError, **known: Any) -> ResourcePolicy:
        logger.warning("%s of %s not read: %s", holder_kind(holder), holder, failure)
        self.failures[holder] = failure
        return ResourcePolicy(holder, None, unreadable=f"{service} {failure}", **known)

    def _bucket(self, holder: str, account: str) -> ResourcePolicy:
        bucket = _arn(holder).resource
        try:
            response = self._call(
                "s3", "GetBucketPolicy", holder, account, None, Bucket=bucket, ExpectedBucketOwner=account
            )
        except ReadError as failure:
            if failure.code == NO_BUCKET_POLICY:
                return ResourcePolicy.none(holder, account=account)
            return self._failed("s3", holder, failure)
        return self._parsed(holder, response.get("Policy"), account=account)

    def _key(self, holder: str) -> ResourcePolicy:
        arn = _arn(holder)
        region, account = arn.region, arn.account
        try:
            metadata = self._call("kms", "DescribeKey", holder, account, region, KeyId=holder)["KeyMetadata"]
        except ReadError as failure:
            return self._failed("kms", holder, failure)
        known = {"aws_managed": metadata.get("KeyManager") == "AWS", "key_state": metadata.get("KeyState")}
        try:
            response = self._call(
                "kms", "GetKeyPolicy", holder, account, region, KeyId=holder, PolicyName="default"
            )
        except ReadError as failure:
            return self._failed("kms", holder, failure, **known)
        return self._parsed(holder, response.get("Policy"), **known)

    def _parsed(self, holder: str, document: object, **known: Any) -> ResourcePolicy:
        try:
            policy = parse_resource_policy(document, holder)
        except InputError as failure:
            # a policy AWS accepted that the engine cannot compile: unknown, and the reason says which
            why = f"the {holder_kind(holder)} of {holder} could not be evaluated: {failure}"
            return ResourcePolicy(holder, None, unreadable=why, **known)
        return ResourcePolicy(holder, policy, **known)


class LiveResourcePolicies(Mapping[str, ResourcePolicy]):
    """The policies of the buckets and keys of ``account``'s principals, read when first looked up:
    what ``engine.ResourcePolicies(known=...)`` holds for ``restorewatch check`` on a live account
    (the engine asks for exactly the holders the bound profiles name)."""

    def __init__(self, reader: ResourcePolicyReader, account: str) -> None:
        self._reader = reader
        self._account = account
        self._read: dict[str, ResourcePolicy] = {}

    def __getitem__(self, holder: str) -> ResourcePolicy:
        if holder not in self._read:
            self._read[holder] = self._reader.policy(holder, self._account)
        return self._read[holder]

    def __iter__(self) -> Iterator[str]:
        return iter(dict(self._read))

    def __len__(self) -> int:
        return len(self._read)
