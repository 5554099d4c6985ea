"""The Principal and NotPrincipal elements of resource-based policies and RCPs.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html

A statement names principals as ``"*"`` (everyone), or by type: ``{"AWS": ...}`` (an account as
``111122223333`` or ``arn:aws:iam::111122223333:root``, an IAM user or role ARN, an assumed-role
session ARN, ``"*"``), ``Service``, ``Federated`` or ``CanonicalUser``. Only ``"*"`` on its own is a
wildcard: "You cannot use a wildcard to match part of a principal name or ARN", so a value with a
``*`` inside is a malformed policy, not a pattern.

What the engine needs to know is how a statement names the watched user or role, because AWS
treats the cases differently (``engine.resource_eval``): the user or role itself, one session of the
role, the account it belongs to (which delegates to the account's own policies), or everyone.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from restorewatch.engine.model import Principal, PrincipalKind

__all__ = ["PrincipalMatch", "PrincipalMatcher", "parse_principal_element"]

_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")
_ACCOUNT_ID = re.compile(r"^\d{12}$")
_ROOT = re.compile(r"^arn:[a-z-]+:iam::(\d{12}):root$")
_SESSION = re.compile(r"^arn:([a-z-]+):sts::(\d{12}):assumed-role/([^/]+)/(.+)$")


@dataclass(frozen=True, slots=True)
class PrincipalMatch:
    """How a Principal (or NotPrincipal) list names one user or role.

    ``everyone``: ``"*"`` (or ``{"AWS": "*"}``); ``itself``: the user's or role's ARN (or its unique
    id, which AWS shows once the name is gone); ``account``: its account; ``sessions``: for a role,
    the names of the sessions listed (``arn:aws:sts::111122223333:assumed-role/NAME/SESSION``).
    """

    everyone: bool = False
    itself: bool = False
    account: bool = False
    sessions: tuple[str, ...] = ()

    @property
    def named(self) -> bool:
        return self.everyone or self.itself or self.account or bool(self.sessions)


@dataclass(frozen=True, slots=True)
class PrincipalMatcher:
    """A compiled Principal or NotPrincipal element: ``everyone`` for ``"*"``, ``aws`` the values of
    its ``AWS`` list, ``others`` the values of the other types (they never name an IAM user or role)."""

    everyone: bool
    aws: tuple[str, ...]
    others: tuple[tuple[str, str], ...]

    def match(self, principal: Principal) -> PrincipalMatch:
        everyone = self.everyone or "*" in self.aws
        itself = account = False
        sessions: list[str] = []
        partition = principal.arn.split(":", 2)[1] if principal.arn.count(":") >= 2 else "aws"
        role_name = principal.arn.rsplit("/", 1)[-1]
        for value in self.aws:
            if value in (principal.arn, principal.principal_id) and value:
                itself = True
            elif value == principal.account or _root_account(value) == principal.account:
                account = True
            elif principal.kind is PrincipalKind.ROLE:
                session = _SESSION.match(value)
                if (
                    session is not None
                    and session.group(1) == partition
                    and session.group(2) == principal.account
                    and session.group(3) == role_name
                ):
                    sessions.append(session.group(4))
        return PrincipalMatch(everyone, itself, account, tuple(sessions))

    def describe(self) -> str:
        if self.everyone:
            return '"*"'
        values = [*self.aws, *(f"{kind}:{value}" for kind, value in self.others)]
        return ", ".join(values)


def _root_account(value: str) -> str | None:
    found = _ROOT.match(value)
    return found.group(1) if found else None


def _values(raw: object, where: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        raise ValueError(f"{where} is an empty list")
    for item in items:
        if not isinstance(item, str) or not item:
            raise ValueError(f"{where} entries must be non-empty strings, got {item!r}"[:200])
        if item != "*" and "*" in item:
            raise ValueError(
                f'{where} entry {item!r} has a wildcard: only "*" on its own is allowed '
                "(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html)"
            )
    return tuple(items)


def parse_principal_element(raw: object, element: str) -> PrincipalMatcher:
    """``raw`` is the value of a Principal or NotPrincipal element; ValueError says what is wrong."""
    if raw == "*":
        return PrincipalMatcher(True, (), ())
    if not isinstance(raw, Mapping) or not raw:
        raise ValueError(f'{element} must be "*" or an object of AWS, Service, Federated or CanonicalUser')
    unknown = sorted(str(key) for key in raw if key not in _TYPES)
    if unknown:
        raise ValueError(f"{element} has unknown principal type(s) {unknown} (allowed: {', '.join(_TYPES)})")
    aws: tuple[str, ...] = ()
    others: list[tuple[str, str]] = []
    for kind, value in raw.items():
        values = _values(value, f"{element} {kind}")
        if kind == "AWS":
            aws = values
        else:
            others.extend((kind, item) for item in values)
    return PrincipalMatcher(False, aws, tuple(others))


def is_account_principal(value: str) -> bool:
    """``111122223333`` or ``arn:aws:iam::111122223333:root``."""
    return bool(_ACCOUNT_ID.match(value) or _ROOT.match(value))
