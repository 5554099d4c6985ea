"""The engine's resource side: pattern coverage, Principal elements, resource policy inputs, RCP parsing
and the decisions the data-driven cases cannot pin (tests/cases/ holds the AWS-documented rules).

Pattern coverage answers "does every ARN the bound pattern names match this Resource entry?"
(evaluation spec, "Bound requirements"; wildcard semantics:
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html).
"""

from __future__ import annotations

import functools
import itertools
import time
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from restorewatch.catalog import default_catalog
from restorewatch.engine import (
    AccountSnapshot,
    LayerKind,
    ResourcePolicies,
    ResourcePolicy,
    decide_request,
    parse_rcps,
    parse_resource_policy,
    requirement_status,
    resource_policies_from_json,
)
from restorewatch.engine.arnformat import MAX_SUBSETS, covers, pattern_tokens
from restorewatch.engine.patterns import wildcard_match
from restorewatch.engine.principals import parse_principal_element
from restorewatch.engine.resources import BoundResource, bound_resource, key_policy_required, policy_holder
from restorewatch.errors import InputError, MalformedPolicyError, SnapshotError

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/restore-role"
USER = f"arn:aws:iam::{ACCOUNT}:user/restore-user"
KEY = f"arn:aws:kms:eu-west-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
RCP_FULL = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}],
}


def _doc(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _principal(kind: str = "user", policy: dict[str, Any] | None = None, *, boundary: bool = False) -> Any:
    entity: dict[str, Any] = {"Path": "/", "AttachedManagedPolicies": [], "Tags": []}
    policies = [{"PolicyName": "p", "PolicyDocument": policy}] if policy else []
    pages: dict[str, Any] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    if boundary:
        arn = f"arn:aws:iam::{ACCOUNT}:policy/b"
        entity["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": arn}
        pages["Policies"].append(
            {
                "PolicyName": "b",
                "Arn": arn,
                "PolicyVersionList": [
                    {
                        "Document": _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}),
                        "IsDefaultVersion": True,
                    }
                ],
            }
        )
    if kind == "user":
        entity.update(
            UserName="restore-user", UserId="AIDAEXAMPLE", Arn=USER, UserPolicyList=policies, GroupList=[]
        )
        pages["UserDetailList"].append(entity)
        arn = USER
    else:
        entity.update(RoleName="restore-role", RoleId="AROAEXAMPLE", Arn=ROLE, RolePolicyList=policies)
        pages["RoleDetailList"].append(entity)
        arn = ROLE
    return AccountSnapshot.from_pages([pages]).principal(arn)


# --- covers ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("outer", "inner", "expected"),
    [
        ("arn:aws:s3:::backups/*", "arn:aws:s3:::backups/*", True),
        ("arn:aws:s3:::backup*", "arn:aws:s3:::backups/*", True),
        ("arn:aws:s3:::*/*", "arn:aws:s3:::backups/*", True),
        ("*", "arn:aws:s3:::backups/*", True),
        ("arn:aws:s3:::backups/veeam/*", "arn:aws:s3:::backups/*", False),
        ("arn:aws:s3:::backups/*", "arn:aws:s3:::backups", False),
        ("arn:aws:s3:::backups?*", "arn:aws:s3:::backups/*", True),
        ("arn:aws:s3:::backups/?*", "arn:aws:s3:::backups/*", False),  # the empty key
        ("arn:aws:kms:*:111122223333:key/*", KEY, True),
        ("arn:aws:kms:*:444455556666:key/*", KEY, False),
        ("a*b*", "a*b", True),
        ("*a?", "*a?", True),
        ("a?*", "a*", False),
    ],
)
def test_covers(outer: str, inner: str, expected: bool) -> None:
    assert covers(pattern_tokens(outer), pattern_tokens(inner)) is expected


_CHARS = "ab:"
_PATTERNS = st.text(alphabet="ab:*?", max_size=4)


@functools.cache
def _strings(max_length: int) -> tuple[str, ...]:
    return tuple("".join(p) for n in range(max_length + 1) for p in itertools.product(_CHARS, repeat=n))


@pytest.mark.slow  # 150 examples against a reference over every short string
@settings(max_examples=150, deadline=None)
@given(outer=_PATTERNS, inner=_PATTERNS)
def test_covers_agrees_with_every_short_string(outer: str, inner: str) -> None:
    """Against brute force over every string of up to len(outer) + len(inner) + 1 characters: a "covers"
    is never wrong (every such string of ``inner`` matches ``outer``), and a "does not cover" has a
    witness among them (a longer string adds nothing new: a star of each pattern absorbs the rest)."""
    answer = covers(pattern_tokens(outer), pattern_tokens(inner))
    witnesses = [
        s
        for s in _strings(len(outer) + len(inner) + 1)
        if wildcard_match(inner, s, case_sensitive=True) and not wildcard_match(outer, s, case_sensitive=True)
    ]
    assert answer == (not witnesses), witnesses[:3]


def test_covers_stays_bounded_on_a_hostile_pattern() -> None:
    """Many ``?`` and ``*`` make many subsets; the search stops at MAX_SUBSETS and answers "does not
    cover" (a statement then counts as partial: coarse, never unsound)."""
    outer = pattern_tokens("*a?" * 12 + "*")
    inner = pattern_tokens("*" + "?*" * 40)
    started = time.perf_counter()
    assert covers(outer, inner) is False
    assert time.perf_counter() - started < 20
    assert MAX_SUBSETS == 50_000


# --- the Principal element ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("element", "fragment"),
    [
        ({"AWS": "arn:aws:iam::111122223333:role/*"}, "has a wildcard"),
        ({"IAM": "x"}, "unknown principal type(s) ['IAM']"),
        ({}, 'must be "*" or an object'),
        ("everyone", 'must be "*" or an object'),
        ({"AWS": []}, "is an empty list"),
        ({"AWS": [3]}, "entries must be non-empty strings"),
    ],
)
def test_a_bad_principal_element_is_refused(element: object, fragment: str) -> None:
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html:
    "You cannot use a wildcard to match part of a principal name or ARN"."""
    with pytest.raises(ValueError, match=r".") as raised:
        parse_principal_element(element, "Principal")
    assert fragment in str(raised.value)


def test_how_a_principal_element_names_a_role() -> None:
    role = _principal("role")
    element = parse_principal_element(
        {
            "AWS": [ACCOUNT, f"arn:aws:sts::{ACCOUNT}:assumed-role/restore-role/veeam", ROLE],
            "Service": "backup.amazonaws.com",
        },
        "Principal",
    )
    match = element.match(role)
    assert (match.itself, match.account, match.sessions, match.everyone) == (True, True, ("veeam",), False)
    other = parse_principal_element(
        {"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/other-role/veeam"}, "P"
    ).match(role)
    assert not other.named
    assert parse_principal_element({"AWS": "AROAEXAMPLE"}, "P").match(role).itself  # the unique id


def test_principal_in_identity_policies_is_still_refused() -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"}
    with pytest.raises(MalformedPolicyError, match="belong in resource-based policies"):
        _principal("user", _doc(statement))


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        (
            {"Effect": "Deny", "Principal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
            'can only be "*"',
        ),
        (
            {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"},
            "NotPrincipal",
        ),
        ({"Effect": "Deny", "Principal": "*", "NotAction": "s3:*", "Resource": "*"}, "NotAction"),
        ({"Effect": "Deny", "Principal": "*", "Action": "s3:*"}, "needs Resource or NotResource"),
    ],
)
def test_rcp_syntax_is_enforced(statement: dict[str, Any], fragment: str) -> None:
    """https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps_syntax.html"""
    with pytest.raises(MalformedPolicyError) as raised:
        parse_rcps([[RCP_FULL, _doc(statement)]])
    assert fragment in str(raised.value)


def test_an_rcp_without_principal_reads_as_star() -> None:
    levels = parse_rcps([[RCP_FULL, _doc({"Effect": "Deny", "Action": "s3:PutObject", "Resource": "*"})]])
    assert levels is not None
    (_, deny) = levels[0]
    assert deny.source.layer is LayerKind.RCP
    assert deny.source.rcp_level == 0
    assert deny.source.describe() == "RCP RCP #1 at level 0"


def test_an_rcp_level_without_an_allow_is_refused() -> None:
    with pytest.raises(SnapshotError, match="RCP level 1 has no Allow statement"):
        parse_rcps([[RCP_FULL], []])


# --- resource policies as inputs ------------------------------------------------------------------------


def test_what_a_missing_resource_policy_means() -> None:
    """Offline, the file is the user's statement: a bucket missing from it has none; a key always has
    one (https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html), so it is unknown;
    without a file, every resource policy is unknown."""
    given = resource_policies_from_json({}, "f")
    assert given.lookup("arn:aws:s3:::backups") == ResourcePolicy.none("arn:aws:s3:::backups")
    assert given.lookup(KEY).unreadable is not None
    unread = ResourcePolicies.unread()
    assert unread.lookup("arn:aws:s3:::backups").unreadable is not None
    # a pattern that names several resources: none of them has a policy unless the file holds one
    assert given.lookup_pattern("arn:aws:s3:::backup*").unreadable is None
    held = resource_policies_from_json({"arn:aws:s3:::backups": None}, "f")
    assert held.lookup_pattern("arn:aws:s3:::backup*").policy is None
    assert "bind to one" in str(
        resource_policies_from_json(
            {
                "arn:aws:s3:::backups": _doc(
                    {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"}
                )
            },
            "f",
        )
        .lookup_pattern("arn:aws:s3:::backup*")
        .unreadable
    )


def test_holders_and_key_policies() -> None:
    assert policy_holder("arn:aws:s3:::backups/veeam/*") == "arn:aws:s3:::backups"
    assert policy_holder("arn:aws:s3:::backups") == "arn:aws:s3:::backups"
    assert policy_holder("arn:aws:s3:::backup*/x") is None
    assert policy_holder(KEY) == KEY
    assert key_policy_required(KEY)
    assert not key_policy_required(f"arn:aws:kms:eu-west-1:{ACCOUNT}:alias/aws/s3")
    assert not key_policy_required("arn:aws:s3:::backups")


def test_the_owner_of_a_bucket_is_the_principals_account_unless_the_file_says() -> None:
    policies = resource_policies_from_json(
        {"arn:aws:s3:::partner": {"Account": "444455556666", "Policy": None}}, "f"
    )
    assert bound_resource("arn:aws:s3:::backups/*", policies, ACCOUNT).policy.owner(ACCOUNT) == ACCOUNT
    assert bound_resource("arn:aws:s3:::partner/*", policies, ACCOUNT).policy.owner(ACCOUNT) == "444455556666"
    with pytest.raises(InputError, match="is not the account the ARN names"):
        resource_policies_from_json({KEY: {"Account": "444455556666", "Policy": RCP_FULL}}, "f")


def test_reasons_name_the_resource_and_the_rcp_level() -> None:
    policy = parse_resource_policy(
        _doc({"Sid": "No", "Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"}),
        "arn:aws:s3:::b",
    )
    bound = BoundResource("arn:aws:s3:::b/*", ResourcePolicy("arn:aws:s3:::b", policy))
    result = requirement_status(_principal(), "s3:PutObject", None, default_catalog(), bound=bound)
    (reason,) = result.reasons
    assert reason.as_dict() == {
        "code": "explicit_deny",
        "layer": "resource",
        "message": "s3:PutObject on arn:aws:s3:::b/* is denied by Deny statement 'No' of the bucket policy "
        "of arn:aws:s3:::b",
        "resource": "arn:aws:s3:::b",
        "policy": "bucket policy of arn:aws:s3:::b",
        "policy_name": "bucket policy",
        "statement": "statement 'No'",
        "effect": "Deny",
    }


# --- decisions the AWS pages leave open (pinned here, documented in docs/evaluation.md) -------------------


def test_a_not_principal_deny_that_omits_the_users_account_applies() -> None:
    """NotPrincipal with Deny: "you must also specify the account ARN of the not-denied principal.
    Otherwise, the policy might deny access to the entire account containing the principal"
    (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html).
    "Might": RestoreWatch reads the Deny as applying, so the answer is never a guessed "allowed"."""
    user = _principal("user", _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    deny = _doc({"Effect": "Deny", "NotPrincipal": {"AWS": USER}, "Action": "s3:*", "Resource": "*"})
    policy = ResourcePolicy("arn:aws:s3:::b", parse_resource_policy(deny, "arn:aws:s3:::b"))
    result = requirement_status(
        user, "s3:GetObject", None, default_catalog(), bound=BoundResource("arn:aws:s3:::b/*", policy)
    )
    assert result.status.value == "denied"
    assert "its NotPrincipal does not list its account" in result.reasons[0].message


def test_rcps_of_the_principals_account_govern_its_actions_on_star() -> None:
    """An action on "*" asks about any resource; RestoreWatch applies the RCPs of the principal's
    account as for its own resources (and, for an action without resource types, as AWS applies the
    caller's account's RCPs)."""
    role = _principal("role", _doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
    deny = _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "*"})
    rcps = parse_rcps([[RCP_FULL, deny]])
    catalog = default_catalog()
    assert requirement_status(role, "s3:PutObject", None, catalog, rcps=rcps).status.value == "denied"
    assert requirement_status(role, "s3:GetObject", None, catalog, rcps=rcps).status.value == "allowed"
    ec2_deny = parse_rcps(
        [[RCP_FULL, _doc({"Effect": "Deny", "Principal": "*", "Action": "ec2:*", "Resource": "*"})]]
    )
    assert (
        requirement_status(role, "ec2:RunInstances", None, catalog, rcps=ec2_deny).status.value == "allowed"
    )


def test_rcps_leave_kms_retire_grant_alone() -> None:
    """ "RCPs do not impact the kms:RetireGrant permission"
    (https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_rcps.html)."""
    catalog = default_catalog()
    assert catalog.facts("kms:RetireGrant").rcp_supported is False  # type: ignore[union-attr]
    assert catalog.facts("kms:Decrypt").rcp_supported is True  # type: ignore[union-attr]
    assert catalog.facts("ec2:RunInstances").rcp_supported is False  # type: ignore[union-attr]


def test_a_request_on_a_key_with_rcps_needs_the_key_policy() -> None:
    role = _principal("role", _doc({"Effect": "Allow", "Action": "kms:*", "Resource": "*"}))
    with pytest.raises(InputError, match="give the key policy of"):
        decide_request(role, "kms:Decrypt", KEY, None, None, rcps=parse_rcps([[RCP_FULL]]))


def test_an_unreadable_resource_policy_is_unknown_unless_something_else_denies() -> None:
    role = _principal("role", _doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"}))
    unknown = ResourcePolicy.unknown("arn:aws:s3:::b", "GetBucketPolicy failed: AccessDenied")
    bound = BoundResource("arn:aws:s3:::b/*", unknown)
    result = requirement_status(role, "s3:PutObject", None, default_catalog(), bound=bound)
    assert result.status.value == "unknown"
    assert result.reasons[0].code == "unreadable"
    assert result.reasons[0].message == "GetBucketPolicy failed: AccessDenied"
    denying = BoundResource(
        "arn:aws:s3:::b/*",
        unknown,
        parse_rcps(
            [[RCP_FULL, _doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})]]
        ),
    )
    assert (
        requirement_status(role, "s3:PutObject", None, default_catalog(), bound=denying).status.value
        == "denied"
    )
