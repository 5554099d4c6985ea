"""The action catalog inside the engine: the ARN-format intersection, the catalog interface, the
explanations, and the service rules table (issue 14; evaluation spec, "The action catalog").

https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

import time

import pytest

from restorewatch.engine import RequirementStatus, decide_request, requirement_status
from restorewatch.engine.arnformat import (
    MAX_PRODUCT,
    can_name,
    entry_tokens,
    format_tokens,
    intersects,
    key_matches,
)
from restorewatch.engine.catalog import ActionFacts
from restorewatch.engine.service_rules import SERVICE_RULES

from .conftest import FakeCatalog, allow, deny, doc, user_with

EC2_INSTANCE = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
S3_BUCKET = "arn:${Partition}:s3:::${BucketName}"
S3_OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"


START = ActionFacts("ec2:StartInstances", (EC2_INSTANCE,), ("ec2:ResourceTag/${TagKey}", "ec2:InstanceType"))
DESCRIBE = ActionFacts("ec2:DescribeInstances", (), ("ec2:Region",))
GET_OBJECT = ActionFacts("s3:GetObject", (S3_OBJECT,), ("s3:ExistingObjectTag/<key>",))
CATALOG = FakeCatalog(
    {"ec2:startinstances": START, "ec2:describeinstances": DESCRIBE, "s3:getobject": GET_OBJECT}
)


# --- the intersection -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("entry", "arn_format", "expected"),
    [
        ("*", EC2_INSTANCE, True),
        ("arn:aws:ec2:us-east-1:111122223333:instance/i-1", EC2_INSTANCE, True),
        ("arn:aws:ec2:*:*:instance/*", EC2_INSTANCE, True),
        ("arn:aws:ec2:us-east-1:111122223333:*", EC2_INSTANCE, True),
        ("arn:aws:s3:::audit/*", EC2_INSTANCE, False),
        ("arn:aws:autoscaling:*:*:*", EC2_INSTANCE, False),
        ("arn:*:ec2:*", EC2_INSTANCE, True),
        ("arn:aws:ec2:us-east-1:1111:2222:instance/i-1", EC2_INSTANCE, False),  # the account has no ":"
        ("arn:aws:ec2:us-east-1:1111:2222:instance/*", EC2_INSTANCE, False),  # still ":2222" after it
        ("arn:aws:ec2:us-east-1:1111:*", EC2_INSTANCE, True),  # "*" takes "instance/..."
        ("arn:aws:ec2:?s-east-1:*:instance/i-?", EC2_INSTANCE, True),
        ("arn:aws:s3:::logs/*", S3_BUCKET, True),  # a bucket named "logs/x": coarse, never unsound
        ("arn:aws:s3:::logs/*", S3_OBJECT, True),
        ("arn:aws:s3:::logs", S3_OBJECT, False),  # an object ARN needs "/"
        ("arn:aws:s3:*:*:logs", S3_BUCKET, True),  # "*" may be empty, or take ":"
        ("arn:aws:s3:::home/${aws:username}/*", S3_OBJECT, True),  # a variable stays a wildcard
        ("arn:aws:ec2:*:*:instance/${aws:username}", S3_OBJECT, False),
        ("arn:aws:s3:::a${*}b", S3_BUCKET, True),  # ${*} is a literal "*"
        ("arn:aws:s3:::a${*}b", S3_OBJECT, False),  # ... not a wildcard: no "/" for the object
        ("arn:aws:s3:::a*b", S3_OBJECT, True),
        # coarse by the spec's definition: an instance id is "any text", so it may hold ":s3:::"
        ("arn:*:s3:::*", EC2_INSTANCE, True),
        ("*:instance/*", EC2_INSTANCE, True),
        ("arn:aws:ec2:*", EC2_INSTANCE, True),
        ("arn:aws:ec2", EC2_INSTANCE, False),
        ("arn:aws:ec2:us-east-1:111122223333:instance", EC2_INSTANCE, False),
    ],
)
def test_an_entry_can_name_a_resource_of_a_format(entry: str, arn_format: str, expected: bool) -> None:
    assert can_name(entry, True, arn_format) is expected


def test_reserved_patterns_remove_resources() -> None:
    policy_format = "arn:${Partition}:iam::${Account}:policy/${PolicyNameWithPath}"
    reserved = ("arn:${Partition}:iam::aws:policy/*",)
    assert can_name("arn:aws:iam::aws:policy/*", True, policy_format)
    assert not can_name("arn:aws:iam::aws:policy/*", True, policy_format, reserved)
    assert can_name("arn:aws:iam::*:policy/*", True, policy_format, reserved)
    assert can_name("*", True, policy_format, reserved)
    assert not can_name("arn:aws:iam::aws:policy/Admin*", True, policy_format, reserved)


@pytest.mark.parametrize(
    ("key", "catalog_key", "expected"),
    [
        ("ec2:resourcetag/env", "ec2:ResourceTag/${TagKey}", True),
        ("ec2:resourcetag/", "ec2:ResourceTag/${TagKey}", True),
        ("ec2:resourcetags/env", "ec2:ResourceTag/${TagKey}", False),
        ("s3:existingobjecttag/env", "s3:ExistingObjectTag/<key>", True),
        ("kms:encryptioncontext:purpose", "kms:EncryptionContext:${EncryptionContextKey}", True),
        ("ec2:instancetype", "ec2:InstanceType", True),
        ("ec2:instancetypes", "ec2:InstanceType", False),
    ],
)
def test_condition_keys_match_templated_catalog_keys(key: str, catalog_key: str, expected: bool) -> None:
    assert key_matches(key, catalog_key) is expected


def test_the_intersection_is_polynomial_on_adversarial_patterns() -> None:
    """Many stars on both sides (the shape that makes a backtracking matcher exponential) take a
    bounded, polynomial search: well under a second for patterns longer than any real ARN."""
    entry, arn_format = "arn:aws:s3:::" + "*a" * 300 + "b", "arn:${Partition}:s3:::" + "${X}a" * 300 + "c"
    tokens, other = entry_tokens(entry, True), format_tokens(arn_format)
    assert (len(tokens) + 1) * (len(other) + 1) < MAX_PRODUCT  # searched, not cut short
    start = time.perf_counter()
    assert not intersects(tokens, other)
    assert intersects(tokens, format_tokens("arn:${Partition}:s3:::" + "${X}a" * 300 + "b"))
    assert time.perf_counter() - start < 2.0


def test_a_pair_beyond_the_bound_counts_as_can_name() -> None:
    """Beyond MAX_PRODUCT position pairs the answer is the coarse "can name" (a partial, never a
    wrong "allowed" or "denied"), and it comes at once."""
    entry = "arn:aws:s3:::" + "x" * 2000
    arn_format = "arn:${Partition}:ec2:" + "y" * 600
    assert (len(entry_tokens(entry, True)) + 1) * (len(format_tokens(arn_format)) + 1) > MAX_PRODUCT
    assert intersects(entry_tokens(entry, True), format_tokens(arn_format))


# --- the engine with a catalog ------------------------------------------------------------------------


def test_without_a_catalog_entries_of_other_services_still_count() -> None:
    """No catalog (or an action it does not know): every entry may apply, nothing is decided."""
    principal = user_with(doc(allow("*"), deny("*", "arn:aws:s3:::audit/*")))
    assert requirement_status(principal, "ec2:StartInstances").status is RequirementStatus.PARTIAL
    assert (
        requirement_status(principal, "ec2:StartInstances", catalog=CATALOG).status
        is RequirementStatus.ALLOWED
    )
    assert (
        requirement_status(principal, "ec2:StopInstances", catalog=CATALOG).status
        is RequirementStatus.PARTIAL
    )


def test_partial_reasons_name_only_the_entries_that_apply() -> None:
    """Alerts' "partial" reasons no longer blame what can never apply: of the Allow's entries only the
    object pattern is named for s3:GetObject, and the S3 Deny is not mentioned for EC2."""
    principal = user_with(
        doc(
            allow(
                ["s3:GetObject", "ec2:StartInstances"],
                ["arn:aws:ec2:*:*:instance/*", "arn:aws:s3:::b/*"],
                sid="Both",
            ),
            deny("*", "arn:aws:s3:::audit/*", sid="Audit"),
        )
    )
    s3 = requirement_status(principal, "s3:GetObject", catalog=CATALOG)
    assert s3.status is RequirementStatus.PARTIAL
    messages = [reason.message for reason in s3.reasons]
    assert any("only on arn:aws:s3:::b/*" in m for m in messages), messages
    assert not any("instance" in m for m in messages), messages
    ec2 = requirement_status(principal, "ec2:StartInstances", catalog=CATALOG)
    assert ec2.status is RequirementStatus.PARTIAL
    assert not any("Audit" in reason.message or "s3" in reason.message for reason in ec2.reasons)


def test_a_deny_decided_by_an_absent_key_says_why() -> None:
    principal = user_with(
        doc(allow("*"), deny("ec2:*", condition={"StringNotEquals": {"ec2:InstanceType": "t3.micro"}}))
    )
    result = requirement_status(principal, "ec2:DescribeInstances", catalog=CATALOG)
    assert result.status is RequirementStatus.DENIED
    (reason,) = result.reasons
    assert "always holds: ec2:DescribeInstances requests never carry that key" in reason.message
    assert (
        requirement_status(principal, "ec2:StartInstances", catalog=CATALOG).status
        is RequirementStatus.PARTIAL
    )


def test_a_statement_removed_by_an_absent_key_is_named_in_the_no_allow_reason() -> None:
    principal = user_with(
        doc(allow("ec2:*", condition={"StringEquals": {"ec2:InstanceType": "t3.micro"}}, sid="Small"))
    )
    (reason,) = requirement_status(principal, "ec2:DescribeInstances", catalog=CATALOG).reasons
    assert reason.code == "no_allow"
    assert "statement 'Small'" in reason.message
    assert "can never hold: ec2:DescribeInstances requests never carry ec2:InstanceType" in reason.message


# --- service rules ---------------------------------------------------------------------------------


def test_every_service_rule_cites_an_aws_page() -> None:
    names = [rule.name for rule in SERVICE_RULES]
    assert len(names) == len(set(names))
    for rule in SERVICE_RULES:
        assert rule.doc.startswith("https://docs.aws.amazon.com/"), rule.name
        assert rule.actions, rule.name
        assert all(action == action.lower() for action in rule.actions), rule.name


def test_service_rule_answers_are_named_in_explanations() -> None:
    """https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html: no permission
    is needed, and an explicit deny does not stop it; simulate and check say which rule decided."""
    principal = user_with(doc(deny("*")))
    request = decide_request(principal, "sts:GetCallerIdentity")
    assert request.decision.value == "allowed"
    (reason,) = request.reasons
    assert reason.code == "service_rule"
    assert reason.layer.value == "service"
    assert "API_GetCallerIdentity.html" in reason.message
    requirement = requirement_status(principal, "STS:getcalleridentity")
    assert requirement.status is RequirementStatus.ALLOWED
    assert requirement.reasons[0].code == "service_rule"
    denied = decide_request(
        user_with(doc(allow("*"))), "kms:DeleteAlias", "arn:aws:kms:us-east-1:111122223333:alias/aws/s3"
    )
    assert denied.decision.value == "implicit_deny"
    assert denied.reasons[0].code == "service_rule"
    assert "alias/aws/" in denied.reasons[0].message
