"""A KMS key's state: a key that is not ``Enabled`` cannot be used in cryptographic operations.

https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html: keys in the ``Disabled``,
``PendingDeletion``, ``PendingImport``, ``Unavailable`` and ``PendingReplicaDeletion`` states fail
every cryptographic operation (``Decrypt``, ``Encrypt``, ``GenerateDataKey*``, ``ReEncrypt*``,
``Sign``, ``Verify``, ``GenerateMac``, ``VerifyMac``, ``DeriveSharedSecret``), whatever the key
policy and the IAM policies allow; ``DisableKey`` "temporarily prevents use of the KMS key for
cryptographic operations" (https://docs.aws.amazon.com/kms/latest/APIReference/API_DisableKey.html).
So a restore bound to such a key cannot decrypt: its cryptographic actions are ``denied``, with the
key's state as the reason. The key's management actions (``DescribeKey``, ``CreateGrant``, ...) are
left to the policies: the table gives them per state and this module does not guess them.

A state this module does not know (``Creating``, ``Updating``, a new one) makes those actions
``unknown``: never ``allowed`` on a guess.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from restorewatch.engine.model import LayerKind, Reason, RequirementResult, RequirementStatus

if TYPE_CHECKING:
    from restorewatch.engine.resources import ResourcePolicy

__all__ = ["CRYPTOGRAPHIC_ACTIONS", "KEY_STATE_DOC", "UNUSABLE_STATES", "key_state_result"]

KEY_STATE_DOC = "https://docs.aws.amazon.com/kms/latest/developerguide/key-state.html"

CRYPTOGRAPHIC_ACTIONS = frozenset(
    f"kms:{name}".lower()
    for name in (
        "Decrypt",
        "Encrypt",
        "GenerateDataKey",
        "GenerateDataKeyPair",
        "GenerateDataKeyPairWithoutPlaintext",
        "GenerateDataKeyWithoutPlaintext",
        "ReEncryptFrom",
        "ReEncryptTo",
        "Sign",
        "Verify",
        "GenerateMac",
        "VerifyMac",
        "DeriveSharedSecret",
    )
)

UNUSABLE_STATES = frozenset(
    {"Disabled", "PendingDeletion", "PendingImport", "Unavailable", "PendingReplicaDeletion"}
)


def key_state_result(action: str, policy: ResourcePolicy) -> RequirementResult | None:
    """The answer the key's state alone gives for ``action`` on the key, or None (the policies decide)."""
    state = policy.key_state
    if state is None or state == "Enabled" or action.lower() not in CRYPTOGRAPHIC_ACTIONS:
        return None
    if state in UNUSABLE_STATES:
        message = (
            f"the KMS key {policy.resource} is {state}: KMS refuses {action} on a key that is not Enabled, "
            f"whatever the policies allow ({KEY_STATE_DOC})"
        )
        reason = Reason("key_state", LayerKind.RESOURCE, message, resource=policy.resource)
        return RequirementResult(action, RequirementStatus.DENIED, (reason,))
    message = (
        f"the KMS key {policy.resource} is in state {state}, whose effect on {action} RestoreWatch does "
        f"not know ({KEY_STATE_DOC})"
    )
    reason = Reason("key_state", LayerKind.RESOURCE, message, resource=policy.resource)
    return RequirementResult(action, RequirementStatus.UNKNOWN, (reason,))
