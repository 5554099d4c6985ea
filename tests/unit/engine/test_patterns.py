"""Action and resource matching: ``*``/``?`` wildcards and case rules.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

from typing import Any

import pytest

from restorewatch.engine import RequestDecision, decide_request
from restorewatch.engine.patterns import ActionMatcher, wildcard_match

from .conftest import allow, doc, stmt, user_with

BUCKET_OBJ = "arn:aws:s3:::backup-bucket/veeam/2024/01/disk.vmdk"


def _allowed(document: dict[str, Any], action: str, resource: str = "*") -> bool:
    return decide_request(user_with(document), action, resource).decision is RequestDecision.ALLOWED


def test_patterns_action_case_differs_matches():
    """Action names are case-insensitive: ``EC2:runinstances`` is ``ec2:RunInstances``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    ("Prefixes and action names are case insensitive")
    """
    assert _allowed(doc(allow("EC2:runinstances")), "ec2:RunInstances")
    assert _allowed(doc(allow("ec2:RunInstances")), "EC2:RUNINSTANCES")


def test_patterns_action_star_suffix_matches_prefix():
    """``ec2:Describe*`` matches every action starting with Describe.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert _allowed(doc(allow("ec2:Describe*")), "ec2:DescribeInstances")
    assert not _allowed(doc(allow("ec2:Describe*")), "ec2:RunInstances")


def test_patterns_action_question_mark_matches_one_character():
    """``?`` matches exactly one character.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    ("You can also use wildcards (* or ?) as part of the action name")
    """
    assert _allowed(doc(allow("s3:?etObject")), "s3:GetObject")
    assert not _allowed(doc(allow("s3:?etObject")), "s3:XXetObject")
    assert not _allowed(doc(allow("s3:GetObject?")), "s3:GetObject")


def test_patterns_action_star_alone_matches_everything():
    """``"Action": "*"`` matches every action of every service.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert _allowed(doc(allow("*")), "iam:CreateRole")


def test_patterns_action_service_wildcard_does_not_cross_services():
    """``iam:*`` covers IAM actions only.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert _allowed(doc(allow("iam:*")), "iam:GetRole")
    assert not _allowed(doc(allow("iam:*")), "s3:GetObject")


def test_patterns_action_wildcard_in_service_part_matches():
    """Wildcards work anywhere in the action string, including the service prefix.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert _allowed(doc(allow("*:Get*")), "s3:GetObject")
    assert _allowed(doc(allow("s?:GetObject")), "s3:GetObject")
    assert not _allowed(doc(allow("s?:GetObject")), "ec2:GetObject")


def test_patterns_action_list_is_ored():
    """A list of actions matches when any entry matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    document = doc(allow(["ec2:RunInstances", "s3:Get*"]))
    assert _allowed(document, "s3:GetBucketLocation")
    assert _allowed(document, "ec2:RunInstances")
    assert not _allowed(document, "ec2:StopInstances")


def test_patterns_action_exact_does_not_match_prefix():
    """A pattern without wildcards matches only the whole action name.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert not _allowed(doc(allow("ec2:Describe")), "ec2:DescribeInstances")


def test_patterns_resource_case_differs_no_match():
    """Resource ARNs are case-sensitive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    ("Resource ARNs are case sensitive" / reference-arns: "ARNs are case sensitive")
    """
    document = doc(allow("s3:GetObject", "arn:aws:s3:::Backup-Bucket/*"))
    assert _allowed(document, "s3:GetObject", "arn:aws:s3:::Backup-Bucket/x")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::backup-bucket/x")


def test_patterns_resource_star_crosses_slash_and_colon():
    """``*`` in a resource matches any run of characters, including ``/`` and ``:``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    ("You can use wildcard characters (* and ?) within any ARN segment (the parts separated by colons)")
    """
    assert _allowed(doc(allow("s3:GetObject", "arn:aws:s3:::backup-bucket/*")), "s3:GetObject", BUCKET_OBJ)
    document = doc(allow("ec2:RunInstances", "arn:aws:ec2:*"))
    assert _allowed(document, "ec2:RunInstances", "arn:aws:ec2:us-east-1:111122223333:instance/i-1")


def test_patterns_resource_question_mark_matches_one_character():
    """``?`` in a resource matches exactly one character.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    document = doc(allow("s3:GetObject", "arn:aws:s3:::bucket-?/key"))
    assert _allowed(document, "s3:GetObject", "arn:aws:s3:::bucket-a/key")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::bucket-ab/key")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::bucket-/key")


def test_patterns_resource_without_wildcard_is_exact():
    """A resource without wildcards matches only itself.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    document = doc(allow("s3:ListBucket", "arn:aws:s3:::bucket"))
    assert _allowed(document, "s3:ListBucket", "arn:aws:s3:::bucket")
    assert not _allowed(document, "s3:ListBucket", "arn:aws:s3:::bucket2")
    assert not _allowed(document, "s3:ListBucket", "arn:aws:s3:::bucket/key")


def test_patterns_resource_regex_metacharacters_are_literal():
    """Only ``*`` and ``?`` are wildcards; characters like ``.``, ``+`` or ``[`` are literal.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    document = doc(allow("s3:GetObject", "arn:aws:s3:::b/a.b+[c]"))
    assert _allowed(document, "s3:GetObject", "arn:aws:s3:::b/a.b+[c]")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::b/aXb+[c]")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::b/a.bb+c")


def test_patterns_resource_list_is_ored():
    """A list of resources matches when any entry matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    document = doc(allow("s3:*", ["arn:aws:s3:::a", "arn:aws:s3:::b/*"]))
    assert _allowed(document, "s3:GetObject", "arn:aws:s3:::b/k")
    assert _allowed(document, "s3:ListBucket", "arn:aws:s3:::a")
    assert not _allowed(document, "s3:ListBucket", "arn:aws:s3:::c")


def test_patterns_notaction_matches_unlisted_actions():
    """``NotAction`` matches every action except the listed ones.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    document = doc(stmt("Allow", not_action=["iam:*", "Organizations:*"], resource="*"))
    assert _allowed(document, "ec2:RunInstances")
    assert not _allowed(document, "iam:GetRole")
    assert not _allowed(document, "organizations:ListAccounts")


def test_patterns_notresource_matches_unlisted_resources():
    """``NotResource`` matches every resource except the listed ones.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
    """
    document = doc(stmt("Allow", "s3:*", not_resource="arn:aws:s3:::secret*"))
    assert _allowed(document, "s3:GetObject", "arn:aws:s3:::public/x")
    assert not _allowed(document, "s3:GetObject", "arn:aws:s3:::secret/x")


@pytest.mark.parametrize(
    ("pattern", "value", "expected"),
    [
        ("*", "", True),
        ("a*b", "ab", True),
        ("a*b", "a/:b", True),
        ("a?b", "a:b", True),
        ("a?b", "ab", False),
        ("a\nb", "a\nb", True),
    ],
)
def test_patterns_wildcard_match_edge_cases(pattern: str, value: str, expected: bool):
    """``*`` matches any run (also empty), ``?`` exactly one character of any kind.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    assert wildcard_match(pattern, value, case_sensitive=True) is expected


def test_patterns_action_matcher_services_index():
    """The service index lists the prefixes a statement can match ("*" when any).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert ActionMatcher.compile(["EC2:Run*", "s3:GetObject"]).services == frozenset({"ec2", "s3"})
    assert ActionMatcher.compile(["*"]).services == frozenset({"*"})
    assert ActionMatcher.compile(["e?2:Run*"]).services == frozenset({"*"})
