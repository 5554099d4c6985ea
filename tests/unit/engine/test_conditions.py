"""Condition operators, ``...IfExists``, ``ForAllValues:``/``ForAnyValue:``, ``Null`` and absent keys.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
"""

from __future__ import annotations

from typing import Any

import pytest

from restorewatch.engine import RequestDecision, decide_request, normalize_context
from restorewatch.engine.conditions import parse_condition_block

from .conftest import allow, doc, user_with

OPS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html"


def holds(block: dict[str, Any], context: dict[str, Any] | None = None, *, substitute: bool = True) -> bool:
    """Whether a whole Condition block is true for ``context`` (AND of its entries)."""
    entries = parse_condition_block(block, substitute_variables=substitute)
    ctx = normalize_context(context)
    return all(entry.evaluate(ctx) for entry in entries)


# ---- string operators ----


def test_conditions_string_equals_case_sensitive():
    """``StringEquals`` is exact and case-sensitive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    ("StringEquals: Exact matching, case sensitive")
    """
    block = {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}
    assert holds(block, {"aws:RequestedRegion": "us-east-1"})
    assert not holds(block, {"aws:RequestedRegion": "US-EAST-1"})
    assert not holds(block, {"aws:RequestedRegion": "us-east-*"})


def test_conditions_string_not_equals_negates():
    """``StringNotEquals`` is true when the value equals none of the listed values.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    block = {"StringNotEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    assert holds(block, {"aws:RequestedRegion": "ap-south-1"})
    assert not holds(block, {"aws:RequestedRegion": "eu-west-1"})


def test_conditions_string_equals_ignore_case_matches_any_case():
    """``StringEqualsIgnoreCase`` ignores case.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    assert holds(
        {"StringEqualsIgnoreCase": {"aws:PrincipalTag/env": "PROD"}}, {"aws:PrincipalTag/env": "prod"}
    )
    assert not holds({"StringNotEqualsIgnoreCase": {"k": "PROD"}}, {"k": "Prod"})
    assert holds({"StringNotEqualsIgnoreCase": {"k": "PROD"}}, {"k": "dev"})


def test_conditions_string_like_wildcards_case_sensitive():
    """``StringLike`` supports ``*`` and ``?`` and is case-sensitive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    ("StringLike: Case-sensitive matching. The values can include multi-character match wildcards (*)
    and single-character match wildcards (?)")
    """
    block = {"StringLike": {"s3:prefix": ["home/*/docs", "tmp/?"]}}
    assert holds(block, {"s3:prefix": "home/alice/docs"})
    assert holds(block, {"s3:prefix": "tmp/x"})
    assert not holds(block, {"s3:prefix": "tmp/xy"})
    assert not holds(block, {"s3:prefix": "HOME/alice/docs"})


def test_conditions_string_equals_wildcard_is_literal():
    """``StringEquals`` does not expand wildcards.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    assert not holds({"StringEquals": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/alice"})
    assert holds({"StringEquals": {"s3:prefix": "home/*"}}, {"s3:prefix": "home/*"})


def test_conditions_string_not_like_negates():
    """``StringNotLike`` is true when no pattern matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    """
    block = {"StringNotLike": {"s3:prefix": ["secret/*", "private/*"]}}
    assert holds(block, {"s3:prefix": "public/x"})
    assert not holds(block, {"s3:prefix": "private/x"})


# ---- numeric ----


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("NumericEquals", "10", True),
        ("NumericEquals", "10.0", True),
        ("NumericEquals", "11", False),
        ("NumericNotEquals", "11", True),
        ("NumericNotEquals", "10", False),
        ("NumericLessThan", "9", True),
        ("NumericLessThan", "10", False),
        ("NumericLessThanEquals", "10", True),
        ("NumericLessThanEquals", "11", False),
        ("NumericGreaterThan", "11", True),
        ("NumericGreaterThan", "10", False),
        ("NumericGreaterThanEquals", "10", True),
        ("NumericGreaterThanEquals", "9.5", False),
    ],
)
def test_conditions_numeric_operator_compares_numbers(operator: str, value: str, expected: bool):
    """Numeric operators compare numbers, not text (``10.0`` equals ``10``).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
    """
    assert holds({operator: {"s3:max-keys": "10"}}, {"s3:max-keys": value}) is expected


def test_conditions_numeric_request_not_a_number_false():
    """A request value that is not a number does not match a numeric operator.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
    """
    assert not holds({"NumericLessThan": {"s3:max-keys": "10"}}, {"s3:max-keys": "many"})


# ---- dates ----


@pytest.mark.parametrize(
    ("operator", "now", "expected"),
    [
        ("DateLessThan", "2024-06-30T23:59:59Z", True),
        ("DateLessThan", "2024-07-01T00:00:00Z", False),
        ("DateLessThanEquals", "2024-07-01T00:00:00Z", True),
        ("DateGreaterThan", "2024-07-01T00:00:01Z", True),
        ("DateGreaterThan", "2024-07-01T00:00:00Z", False),
        ("DateGreaterThanEquals", "2024-07-01T00:00:00Z", True),
        ("DateEquals", "2024-07-01T00:00:00Z", True),
        ("DateEquals", "2024-07-01T02:00:00+02:00", True),
        ("DateNotEquals", "2024-07-01T00:00:00Z", False),
        ("DateNotEquals", "2024-07-02T00:00:00Z", True),
    ],
)
def test_conditions_date_operator_compares_instants(operator: str, now: str, expected: bool):
    """Date operators compare points in time (time zones honoured).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
    """
    assert (
        holds({operator: {"aws:CurrentTime": "2024-07-01T00:00:00Z"}}, {"aws:CurrentTime": now}) is expected
    )


def test_conditions_date_epoch_equals_iso():
    """Dates may be given as epoch seconds in the policy or in the request.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
    ("You can also specify ... in epoch (UNIX) time")
    """
    epoch = "1719792000"  # 2024-07-01T00:00:00Z
    assert holds({"DateEquals": {"aws:CurrentTime": epoch}}, {"aws:CurrentTime": "2024-07-01T00:00:00Z"})
    assert holds({"DateEquals": {"aws:CurrentTime": "2024-07-01T00:00:00Z"}}, {"aws:CurrentTime": epoch})
    assert holds({"DateLessThan": {"aws:EpochTime": 1719792001}}, {"aws:EpochTime": epoch})


def test_conditions_date_only_iso_is_midnight_utc():
    """An ISO date without a time is that day at 00:00 UTC.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
    """
    assert holds(
        {"DateGreaterThanEquals": {"aws:CurrentTime": "2024-07-01"}},
        {"aws:CurrentTime": "2024-07-01T00:00:00Z"},
    )
    assert not holds(
        {"DateGreaterThan": {"aws:CurrentTime": "2024-07-01"}}, {"aws:CurrentTime": "2024-06-30T23:00:00Z"}
    )


def test_conditions_date_absent_current_time_false():
    """``aws:CurrentTime`` must be given: an absent key makes a date condition false.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    ("If the key that you specify in a policy condition is not present in the request context, the
    values do not match and the condition is false")
    """
    assert not holds({"DateLessThan": {"aws:CurrentTime": "2099-01-01T00:00:00Z"}}, {})


# ---- Bool, Binary --------------------------------------------------------------------------------------


def test_conditions_bool_matches_true_false():
    """``Bool`` compares true/false (JSON booleans and strings alike, case-insensitively).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
    """
    assert holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True})
    assert holds({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "TRUE"})
    assert not holds({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "false"})
    assert holds({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:MultiFactorAuthPresent": False})


def test_conditions_bool_absent_key_false():
    """``Bool`` on an absent key is false (e.g. ``aws:MultiFactorAuthPresent`` for access keys).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
    """
    assert not holds({"Bool": {"aws:MultiFactorAuthPresent": "false"}}, {})
    assert not holds({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {})


def test_conditions_binary_equals_compares_bytes():
    """``BinaryEquals`` compares base64-encoded values byte for byte.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
    """
    block = {"BinaryEquals": {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}}
    assert holds(block, {"key": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="})
    assert not holds(block, {"key": "QmluYXJ5VmFsdWU="})
    assert not holds(block, {"key": "not base64!"})
    assert not holds(block, {})


# ---- IP addresses ----


def test_conditions_ip_address_v4_cidr_matches():
    """``IpAddress`` matches an address inside an IPv4 CIDR range.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
    """
    block = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "198.51.100.7"]}}
    assert holds(block, {"aws:SourceIp": "203.0.113.5"})
    assert holds(block, {"aws:SourceIp": "198.51.100.7"})
    assert not holds(block, {"aws:SourceIp": "203.0.114.5"})
    assert not holds(block, {"aws:SourceIp": "198.51.100.8"})


def test_conditions_ip_address_v6_cidr_matches():
    """``IpAddress`` accepts IPv6 ranges; an IPv4 address never matches an IPv6 range.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
    ("IPv6 address ... 2001:DB8:1234:5678::/64")
    """
    block = {"IpAddress": {"aws:SourceIp": "2001:DB8:1234:5678::/64"}}
    assert holds(block, {"aws:SourceIp": "2001:db8:1234:5678::1"})
    assert not holds(block, {"aws:SourceIp": "2001:db8:1234:5679::1"})
    assert not holds(block, {"aws:SourceIp": "203.0.113.5"})


def test_conditions_not_ip_address_negates():
    """``NotIpAddress`` is true outside every listed range.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
    """
    block = {"NotIpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}
    assert holds(block, {"aws:SourceIp": "192.0.2.1"})
    assert not holds(block, {"aws:SourceIp": "203.0.113.9"})
    assert not holds(block, {"aws:SourceIp": "2001:db8::5"})


def test_conditions_ip_request_not_an_address_false():
    """A request value that is not an IP address does not match.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
    """
    assert not holds({"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}, {"aws:SourceIp": "vpce-1234"})


# ---- ARN ----


def test_conditions_arn_like_component_wise():
    """``ArnLike`` checks each of the six colon-delimited ARN components separately.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    ("Each of the six colon-delimited components of the ARN is checked separately and each can include
    multi-character match wildcards (*) or single-character match wildcards (?)")
    """
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:iam::*:role/backup-?"}}
    assert holds(block, {"aws:SourceArn": "arn:aws:iam::111122223333:role/backup-1"})
    # a * inside the account component does not swallow the colon of the next component
    assert not holds(block, {"aws:SourceArn": "arn:aws:iam::111122223333:extra:role/backup-1"})
    assert not holds(block, {"aws:SourceArn": "arn:aws:iam::111122223333:role/backup-12"})


def test_conditions_arn_equals_supports_wildcards_and_case():
    """``ArnEquals`` is case-sensitive and, like ``ArnLike``, accepts wildcards per component.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    block = {"ArnEquals": {"aws:SourceArn": "arn:aws:sns:us-east-1:*:topic"}}
    assert holds(block, {"aws:SourceArn": "arn:aws:sns:us-east-1:111122223333:topic"})
    assert not holds(block, {"aws:SourceArn": "arn:aws:sns:us-east-1:111122223333:Topic"})


def test_conditions_arn_resource_part_keeps_colons():
    """The sixth component (resource) may itself contain colons and ``*`` spans them.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:logs:*:*:log-group:/backup/*"}}
    assert holds(block, {"aws:SourceArn": "arn:aws:logs:us-east-1:111122223333:log-group:/backup/x:*"})


def test_conditions_arn_not_like_negates():
    """``ArnNotLike``/``ArnNotEquals`` are true when no value matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    arn = "arn:aws:iam::111122223333:role/admin"
    assert holds(
        {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/backup-*"}}, {"aws:PrincipalArn": arn}
    )
    assert not holds({"ArnNotEquals": {"aws:PrincipalArn": arn}}, {"aws:PrincipalArn": arn})


def test_conditions_arn_request_not_an_arn_false():
    """A request value that is not an ARN does not match a six-component pattern.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    """
    assert not holds({"ArnLike": {"aws:SourceArn": "arn:aws:s3:::*"}}, {"aws:SourceArn": "bucket"})


# ---- absent keys, IfExists, Null ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "x", False),
        ("StringLike", "*", False),
        ("StringEqualsIgnoreCase", "x", False),
        ("NumericEquals", "1", False),
        ("NumericLessThan", "1", False),
        ("DateEquals", "2024-01-01T00:00:00Z", False),
        ("Bool", "true", False),
        ("BinaryEquals", "QQ==", False),
        ("IpAddress", "0.0.0.0/0", False),
        ("ArnLike", "*", False),
        ("ArnEquals", "*", False),
        ("StringNotEquals", "x", True),
        ("StringNotLike", "*", True),
        ("StringNotEqualsIgnoreCase", "x", True),
        ("NumericNotEquals", "1", True),
        ("DateNotEquals", "2024-01-01T00:00:00Z", True),
        ("NotIpAddress", "0.0.0.0/0", True),
        ("ArnNotLike", "*", True),
        ("ArnNotEquals", "*", True),
    ],
)
def test_conditions_absent_key_positive_false_negated_true(operator: str, value: str, expected: bool):
    """A condition on an absent key is false, except that negated operators are true.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    ("If the key that you specify in a policy condition is not present in the request context, the
    values do not match and the condition is false. If the policy condition requires that the key is
    not matched, such as StringNotLike or ArnNotLike, and the right key is not present, the condition
    is true.")
    """
    assert holds({operator: {"some:AbsentKey": value}}, {}) is expected


@pytest.mark.parametrize(
    "operator",
    [
        "StringEqualsIfExists",
        "StringLikeIfExists",
        "NumericLessThanIfExists",
        "DateLessThanIfExists",
        "BoolIfExists",
        "IpAddressIfExists",
        "ArnLikeIfExists",
        "BinaryEqualsIfExists",
        "StringNotEqualsIfExists",
        "ArnNotLikeIfExists",
    ],
)
def test_conditions_if_exists_absent_key_true(operator: str):
    """``...IfExists``: if the key is absent, the condition is true.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    ("If the key is not present, evaluate the condition element as true")
    """
    value = {
        "Numeric": "1",
        "Date": "2024-01-01T00:00:00Z",
        "Bool": "true",
        "IpAdd": "10.0.0.0/8",
        "Binary": "QQ==",
    }
    policy_value = next((v for k, v in value.items() if operator.startswith(k)), "x")
    assert holds({operator: {"some:AbsentKey": policy_value}}, {})


def test_conditions_if_exists_present_key_evaluated():
    """``...IfExists``: a present key is evaluated as by the operator without IfExists.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    ("If the policy key is present in the context of the request, process the key as specified in the policy")
    """
    block = {"StringEqualsIfExists": {"ec2:InstanceType": ["t3.micro", "t3.small"]}}
    assert holds(block, {"ec2:InstanceType": "t3.micro"})
    assert not holds(block, {"ec2:InstanceType": "m5.large"})
    assert not holds(
        {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}, {"aws:MultiFactorAuthPresent": True}
    )


def test_conditions_null_true_tests_absence():
    """``Null: true`` holds when the key is absent; ``Null: false`` when it is present.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
    ("If the key value is set to true, the key doesn't exist ... If it is set to false, the key exists
    and its value is not null")
    """
    assert holds({"Null": {"aws:TokenIssueTime": "true"}}, {})
    assert not holds({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"})
    assert holds({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"})
    assert not holds({"Null": {"aws:TokenIssueTime": False}}, {})


# ---- multivalued keys: ForAllValues / ForAnyValue -----------------------------------------------------


def test_conditions_for_all_values_every_value_in_set_true():
    """``ForAllValues:`` is true when every request value matches some policy value.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    block = {"ForAllValues:StringEquals": {"aws:TagKeys": ["Env", "Owner"]}}
    assert holds(block, {"aws:TagKeys": ["Env"]})
    assert holds(block, {"aws:TagKeys": ["Env", "Owner"]})
    assert not holds(block, {"aws:TagKeys": ["Env", "Secret"]})


def test_conditions_for_all_values_absent_or_empty_true():
    """``ForAllValues:`` is true when the key is absent or its list is empty.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ("ForAllValues ... also returns true if there are no context keys in the request or if the context
    key value resolves to a null dataset, such as an empty string")
    """
    block = {"ForAllValues:StringEquals": {"aws:TagKeys": ["Env"]}}
    assert holds(block, {})
    assert holds(block, {"aws:TagKeys": []})


def test_conditions_for_any_value_one_match_true():
    """``ForAnyValue:`` is true when at least one request value matches.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    block = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Env", "Owner"]}}
    assert holds(block, {"aws:TagKeys": ["Secret", "Owner"]})
    assert not holds(block, {"aws:TagKeys": ["Secret"]})


def test_conditions_for_any_value_absent_or_empty_false():
    """``ForAnyValue:`` is false when the key is absent (or has no values).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ("ForAnyValue ... returns false if there are no matching context keys in the request")
    """
    block = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["Env"]}}
    assert not holds(block, {})
    assert not holds(block, {"aws:TagKeys": []})


def test_conditions_for_all_values_negated_operator_per_value():
    """``ForAllValues:StringNotEquals``: no request value may equal a listed value.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    block = {"ForAllValues:StringNotEquals": {"aws:TagKeys": ["Secret"]}}
    assert holds(block, {"aws:TagKeys": ["Env", "Owner"]})
    assert not holds(block, {"aws:TagKeys": ["Env", "Secret"]})


def test_conditions_for_any_value_negated_operator_per_value():
    """``ForAnyValue:StringNotEquals``: some request value differs from every listed value.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    block = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": ["Env"]}}
    assert holds(block, {"aws:TagKeys": ["Env", "Owner"]})
    assert not holds(block, {"aws:TagKeys": ["Env"]})


def test_conditions_for_any_value_string_like_wildcards():
    """Set qualifiers combine with any operator, e.g. ``ForAnyValue:StringLike``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    block = {"ForAnyValue:StringLike": {"aws:TagKeys": "backup:*"}}
    assert holds(block, {"aws:TagKeys": ["Env", "backup:plan"]})
    assert not holds(block, {"aws:TagKeys": ["Env"]})


# ---- block logic and key names ----


def test_conditions_multiple_operators_and_keys_anded():
    """Operators of one Condition block, and keys of one operator, are ANDed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
    ("If your policy has multiple condition operators or multiple context keys ... the conditions are
    evaluated using a logical AND")
    """
    block = {
        "StringEquals": {"aws:RequestedRegion": "us-east-1", "ec2:InstanceType": "t3.micro"},
        "Bool": {"aws:SecureTransport": "true"},
    }
    ctx = {"aws:RequestedRegion": "us-east-1", "ec2:InstanceType": "t3.micro", "aws:SecureTransport": "true"}
    assert holds(block, ctx)
    for key in ctx:
        assert not holds(block, {k: v for k, v in ctx.items() if k != key})
    assert not holds(block, {**ctx, "ec2:InstanceType": "m5.large"})


def test_conditions_values_of_one_key_ored():
    """The values of one key are ORed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
    ("If a single condition operator includes multiple values for a context key, those values are
    evaluated using a logical OR")
    """
    block = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"]}}
    assert holds(block, {"aws:RequestedRegion": "eu-west-1"})


def test_conditions_negated_values_nored():
    """Negated operators with several values are a NOR: the value must match none of them.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
    ("condition operators that are negated ... evaluated using a logical NOR")
    """
    block = {"StringNotLike": {"aws:RequestedRegion": ["us-*", "eu-*"]}}
    assert not holds(block, {"aws:RequestedRegion": "us-west-2"})
    assert not holds(block, {"aws:RequestedRegion": "eu-west-1"})
    assert holds(block, {"aws:RequestedRegion": "ap-south-1"})


def test_conditions_key_name_case_insensitive():
    """Condition key names are case-insensitive; values follow their operator.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    ("Condition key names are not case-sensitive")
    """
    assert holds({"StringEquals": {"AWS:REQUESTEDREGION": "us-east-1"}}, {"aws:requestedregion": "us-east-1"})
    assert holds({"StringEquals": {"aws:requestedregion": "us-east-1"}}, {"aws:RequestedRegion": "us-east-1"})


def test_conditions_request_decision_uses_condition():
    """End to end: a conditional Allow applies only when its condition holds.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    """
    alice = user_with(
        doc(allow("ec2:RunInstances", condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}))
    )
    ok = decide_request(alice, "ec2:RunInstances", "*", {"aws:SourceIp": "203.0.113.5"})
    no = decide_request(alice, "ec2:RunInstances", "*", {"aws:SourceIp": "192.0.2.5"})
    absent = decide_request(alice, "ec2:RunInstances", "*", {})
    assert ok.decision is RequestDecision.ALLOWED
    assert no.decision is RequestDecision.IMPLICIT_DENY
    assert absent.decision is RequestDecision.IMPLICIT_DENY


def test_conditions_principal_keys_added_from_snapshot():
    """``aws:username``, ``aws:userid``, ``aws:PrincipalArn``, ``aws:PrincipalAccount``,
    ``aws:PrincipalType`` and ``aws:PrincipalTag/<k>`` come from the principal itself.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principal-properties
    """
    alice = user_with(
        doc(
            allow(
                "s3:ListAllMyBuckets",
                condition={
                    "StringEquals": {
                        "aws:username": "alice",
                        "aws:userid": "AIDAALICEEXAMPLE",
                        "aws:PrincipalAccount": "111122223333",
                        "aws:PrincipalType": "User",
                        "aws:PrincipalTag/Team": "ops",
                    },
                    "ArnEquals": {"aws:PrincipalArn": "arn:aws:iam::111122223333:user/alice"},
                },
            )
        ),
        tags={"team": "ops"},
    )
    assert decide_request(alice, "s3:ListAllMyBuckets").decision is RequestDecision.ALLOWED


def test_conditions_principal_tag_absent_when_untagged():
    """A tag the principal lacks is an absent key.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principaltag
    """
    document = doc(allow("s3:ListAllMyBuckets", condition={"StringEquals": {"aws:PrincipalTag/team": "ops"}}))
    assert (
        decide_request(user_with(document), "s3:ListAllMyBuckets").decision is RequestDecision.IMPLICIT_DENY
    )
    negated = doc(
        allow("s3:ListAllMyBuckets", condition={"StringNotEquals": {"aws:PrincipalTag/team": "ops"}})
    )
    assert decide_request(user_with(negated), "s3:ListAllMyBuckets").decision is RequestDecision.ALLOWED


def test_conditions_for_any_value_if_exists_absent_false():
    """``ForAnyValue:...IfExists`` on an absent key is still false: IfExists does not rescue the
    empty set (observed AWS behaviour for ``ForAnyValue:StringEqualsIfExists`` on ``aws:TagKeys``).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ("ForAnyValue ... if there are no context keys ... the condition returns false")
    https://repost.aws/questions/QU9HFmDzP0QGuU-fd7rS6B7w/foranyvalue-stringequalsifexists-behaving-unexpectedly
    """
    assert not holds({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "team"}}, {})
    assert holds({"ForAllValues:StringEqualsIfExists": {"aws:TagKeys": "team"}}, {})


def test_conditions_null_with_qualifier_rejected():
    """``Null`` tests presence only; it takes neither IfExists nor a set qualifier.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
    """
    from restorewatch.engine.conditions import ConditionSyntaxError

    with pytest.raises(ConditionSyntaxError):
        parse_condition_block({"NullIfExists": {"k": "true"}}, substitute_variables=True)
    with pytest.raises(ConditionSyntaxError):
        parse_condition_block({"ForAnyValue:Null": {"k": "true"}}, substitute_variables=True)
