"""Parsing policy documents: accepted shapes and malformed documents.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from restorewatch.engine import LayerKind, PolicySource, decode_document, parse_policy
from restorewatch.errors import InputError, MalformedPolicyError

from .conftest import V2008, V2012, allow, compile_doc, deny, doc, stmt, user_with

GRAMMAR = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html"


def _malformed(document: object, name: str = "restore-inline") -> MalformedPolicyError:
    with pytest.raises(MalformedPolicyError) as info:
        parse_policy(document, PolicySource(LayerKind.IDENTITY, name))
    return info.value


# ---- accepted shapes ----


def test_parse_dict_document_compiles():
    """A policy document given as a JSON object (as the CLI prints it) is accepted.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    policy = compile_doc(doc(allow("ec2:RunInstances")))
    assert len(policy.statements) == 1
    assert policy.version == V2012


def test_parse_json_string_document_compiles():
    """A policy document given as a JSON string parses to the same statements.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    policy = compile_doc(json.dumps(doc(allow("ec2:RunInstances"))))
    assert policy.statements[0].actions.patterns == ("ec2:runinstances",)


def test_parse_url_encoded_document_compiles():
    """The raw IAM API returns policy documents URL-encoded (RFC 3986); they must be decoded.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    ("PolicyDocument ... is URL-encoded compliant with RFC 3986")
    """
    encoded = urllib.parse.quote(json.dumps(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))))
    assert encoded.startswith("%7B")
    policy = compile_doc(encoded)
    assert policy.statements[0].resources.entries == ("arn:aws:s3:::b/*",)


def test_parse_url_encoded_document_in_snapshot_is_evaluated():
    """URL-encoded inline documents inside a snapshot are evaluated like JSON objects.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    from restorewatch.engine import RequestDecision, decide_request

    from .conftest import inline, snapshot, user, user_arn

    encoded = urllib.parse.quote(json.dumps(doc(allow("ec2:RunInstances"))))
    snap = snapshot(users=[user(inline_policies=[inline("enc", encoded)])])
    result = decide_request(snap.principal(user_arn()), "ec2:RunInstances", "*")
    assert result.decision is RequestDecision.ALLOWED


def test_parse_statement_object_equals_statement_list():
    """``Statement`` may be a single object instead of a list.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (<statement_block> = "Statement" : [ <statement>, <statement>, ... ] | <statement>)
    """
    single = compile_doc({"Version": V2012, "Statement": allow("ec2:RunInstances")})
    listed = compile_doc(doc(allow("ec2:RunInstances")))
    assert len(single.statements) == 1
    assert single.statements[0].actions.patterns == listed.statements[0].actions.patterns


def test_parse_string_elements_equal_list_elements():
    """``Action``/``Resource`` may each be a string or a list of strings.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    as_string = compile_doc(doc(allow("ec2:RunInstances", "arn:aws:ec2:*:*:instance/*")))
    as_list = compile_doc(doc(allow(["ec2:RunInstances"], ["arn:aws:ec2:*:*:instance/*"])))
    assert as_string.statements[0].actions.patterns == as_list.statements[0].actions.patterns
    assert as_string.statements[0].resources.entries == as_list.statements[0].resources.entries


def test_parse_notaction_notresource_strings_compile():
    """``NotAction``/``NotResource`` take a string or a list, like their positive forms.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    """
    policy = compile_doc(doc(stmt("Allow", not_action="iam:*", not_resource="arn:aws:s3:::secret")))
    statement = policy.statements[0]
    assert statement.not_action
    assert statement.not_resource
    assert not statement.resource_is_star


def test_parse_missing_version_defaults_to_2008():
    """A policy without ``Version`` is read as version 2008-10-17.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    ("If you do not include a Version element, the value defaults to 2008-10-17")
    """
    policy = compile_doc(doc(allow("ec2:*"), version=None))
    assert policy.version == V2008


def test_parse_sid_and_index_label_statements():
    """Statements are identified by their optional ``Sid`` or, without one, their position.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_sid.html
    """
    policy = compile_doc(doc(allow("ec2:*", sid="Ec2"), allow("s3:*")))
    assert policy.statements[0].label == "statement 'Ec2'"
    assert policy.statements[1].label == "statement #1"


def test_parse_condition_json_number_and_bool_values_accepted():
    """Condition values may be written as JSON numbers or booleans (IAM reads them as strings).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    policy = compile_doc(
        doc(
            allow(
                "s3:*",
                condition={"NumericLessThan": {"s3:max-keys": 10}, "Bool": {"aws:SecureTransport": True}},
            )
        )
    )
    values = sorted(entry.values for entry in policy.statements[0].conditions)
    assert values == [("10",), ("true",)]


def test_parse_decode_document_returns_mapping():
    """``decode_document`` turns each accepted encoding into the same mapping.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    document = doc(allow("ec2:RunInstances"))
    text = json.dumps(document)
    assert decode_document(document) == document
    assert decode_document(text) == document
    assert decode_document(urllib.parse.quote(text)) == document


# ---- malformed documents ----


def test_parse_invalid_json_raises_naming_policy():
    """Text that is not JSON is a malformed policy; the error names the policy and says "invalid JSON".

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    error = _malformed('{"Version": "2012-10-17", "Statement": [', name="broken-inline")
    assert "broken-inline" in str(error)
    assert "invalid JSON" in str(error)
    assert isinstance(error, InputError)


def test_parse_non_object_document_raises():
    """A policy document must be a JSON object.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (<policy> = { <version_block>? <id_block>? <statement_block> })
    """
    assert "object" in str(_malformed("[1, 2]"))
    assert "object" in str(_malformed(42))


def test_parse_statement_wrong_type_raises():
    """``Statement`` must be an object or a list of objects.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    assert "Statement" in str(_malformed({"Version": V2012, "Statement": "Allow everything"}))
    assert "statement #0" in str(_malformed({"Version": V2012, "Statement": ["not an object"]}))


def test_parse_missing_statement_raises():
    """A policy without ``Statement`` is malformed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    assert "Statement" in str(_malformed({"Version": V2012}))


def test_parse_action_wrong_type_raises():
    """``Action`` entries must be strings.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (<action_string> = "*" | "<service>:<action>")
    """
    error = _malformed(doc({"Effect": "Allow", "Action": [1], "Resource": "*", "Sid": "Bad"}))
    assert "Action" in error.problem
    assert "got 1" in error.problem


def test_parse_action_without_service_prefix_raises():
    """An action must be ``*`` or ``service:action``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    assert "service:action" in _malformed(doc(allow("RunInstances"))).problem
    assert "service:action" in _malformed(doc(allow(":RunInstances"))).problem


def test_parse_empty_action_name_matches_nothing():
    """``"s3:"`` names no action: it matches nothing (issue 14, point 8), as an action name AWS does
    not have does, instead of aborting the run; the other actions of the statement still count.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    policy = parse_policy(doc(allow(["s3:", "ec2:RunInstances"])), PolicySource(LayerKind.IDENTITY, "p"))
    statement = policy.statements[0]
    assert statement.covers("ec2:runinstances")
    assert not statement.covers("s3:getobject")
    assert not any(statement.covers(f"s3:{name}") for name in ("listbucket", "putobject", "*"))


def test_parse_unknown_operator_raises():
    """An unknown condition operator makes the policy invalid; the error names the operator.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    """
    error = _malformed(doc(allow("s3:*", condition={"StringEqualz": {"aws:username": "a"}}, sid="S")))
    assert "StringEqualz" in error.problem
    assert "unknown condition operator" in error.problem


def test_parse_unknown_set_qualifier_raises():
    """Only ``ForAllValues`` and ``ForAnyValue`` qualify an operator.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    """
    error = _malformed(doc(allow("s3:*", condition={"ForSomeValues:StringEquals": {"aws:TagKeys": "a"}})))
    assert "ForSomeValues" in error.problem


def test_parse_invalid_ip_raises():
    """``IpAddress`` values must be IPv4/IPv6 addresses or CIDR ranges.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress
    """
    error = _malformed(doc(allow("s3:*", condition={"IpAddress": {"aws:SourceIp": "203.0.113.300/24"}})))
    assert "203.0.113.300/24" in error.problem
    assert "aws:SourceIp" in error.problem


def test_parse_invalid_date_raises():
    """Date operators need ISO 8601 dates or epoch seconds.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
    """
    error = _malformed(doc(allow("s3:*", condition={"DateLessThan": {"aws:CurrentTime": "next tuesday"}})))
    assert "next tuesday" in error.problem
    assert "date" in error.problem


def test_parse_invalid_number_raises():
    """Numeric operators need numbers.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
    """
    error = _malformed(doc(allow("s3:*", condition={"NumericLessThan": {"s3:max-keys": "ten"}})))
    assert "'ten'" in error.problem
    assert "number" in error.problem


def test_parse_invalid_base64_binary_raises():
    """``BinaryEquals`` values are base64-encoded.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
    """
    assert "base64" in _malformed(doc(allow("s3:*", condition={"BinaryEquals": {"k": "***"}}))).problem


def test_parse_null_operator_value_must_be_true_or_false():
    """``Null`` takes true or false.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
    """
    assert (
        "Null" in _malformed(doc(allow("s3:*", condition={"Null": {"aws:TokenIssueTime": "maybe"}}))).problem
    )


def test_parse_effect_wrong_raises():
    """``Effect`` is exactly ``Allow`` or ``Deny``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_effect.html
    """
    error = _malformed(doc(stmt("allow", "s3:*", "*")))
    assert "Effect" in error.problem
    assert "'allow'" in error.problem
    assert "Effect" in _malformed(doc({"Action": "s3:*", "Resource": "*"})).problem


def test_parse_action_missing_raises():
    """A statement needs ``Action`` or ``NotAction``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    error = _malformed(doc({"Effect": "Allow", "Resource": "*", "Sid": "NoAction"}))
    assert "Action" in error.problem
    assert "'NoAction'" in error.problem


def test_parse_both_action_and_notaction_raises():
    """``Action`` and ``NotAction`` are mutually exclusive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (<action_block> = ("Action" | "NotAction") : ...)
    """
    error = _malformed(doc({"Effect": "Allow", "Action": "s3:*", "NotAction": "iam:*", "Resource": "*"}))
    assert "Action or NotAction" in error.problem


def test_parse_both_resource_and_notresource_raises():
    """``Resource`` and ``NotResource`` are mutually exclusive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    error = _malformed(doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "NotResource": "a"}))
    assert "NotResource" in error.problem


def test_parse_identity_statement_without_resource_raises():
    """An identity-policy statement needs ``Resource`` or ``NotResource``.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    """
    assert "Resource" in _malformed(doc({"Effect": "Allow", "Action": "s3:*"})).problem


def test_parse_principal_in_identity_policy_raises():
    """``Principal`` is not allowed in identity-based policies.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    ("You cannot use the Principal element in an identity-based policy")
    """
    statement = allow("s3:*")
    statement["Principal"] = "*"
    assert "Principal" in _malformed(doc(statement)).problem


def test_parse_unknown_version_raises():
    """``Version`` is 2012-10-17 or 2008-10-17 (a date, not a policy version number).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    """
    assert "Version" in _malformed(doc(allow("s3:*"), version="2012-10-18")).problem


def test_parse_unknown_statement_element_raises():
    """Statements contain only the documented elements.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    statement = allow("s3:*")
    statement["Actions"] = "ec2:*"
    assert "Actions" in _malformed(doc(statement)).problem


def test_parse_deeply_nested_json_raises_malformed():
    """Pathologically nested JSON is reported as malformed, never a crash (RecursionError).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    nested = '{"Version": "2012-10-17", "Statement": ' + "[" * 100_000 + "]" * 100_000 + "}"
    error = _malformed(nested, name="nested")
    assert "nested" in str(error)


def test_parse_condition_not_object_raises():
    """``Condition`` is an object of operators, each an object of keys.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    """
    assert "Condition" in _malformed(doc(allow("s3:*", condition=["StringEquals"]))).problem
    assert "StringEquals" in _malformed(doc(allow("s3:*", condition={"StringEquals": "x"}))).problem


def test_parse_malformed_managed_policy_in_snapshot_names_arn():
    """A malformed managed policy in a snapshot names the policy's ARN.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    from .conftest import managed_policy, snapshot, user, user_arn

    bad = managed_policy("Broken", doc(stmt("Permit", "s3:*", "*")))
    snap = snapshot(users=[user(managed=[bad])], policies=[bad])
    with pytest.raises(MalformedPolicyError) as info:
        snap.principal(user_arn())
    assert "arn:aws:iam::111122223333:policy/Broken" in str(info.value)
    assert "Effect" in str(info.value)


def test_parse_malformed_inline_policy_names_owner():
    """A malformed inline policy names the inline policy and its owner.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    with pytest.raises(MalformedPolicyError) as info:
        user_with(doc(allow("s3:*", condition={"IpAddress": {"aws:SourceIp": "nope"}})))
    assert "p0" in str(info.value)
    assert "alice" in str(info.value)


def test_parse_scp_statement_without_resource_accepted():
    """SCP statements written before resources were supported omit ``Resource``: it means all resources.

    https://docs.aws.amazon.com/organizations/latest/userguide/orgs_manage_policies_scps_syntax.html
    """
    policy = parse_policy(doc({"Effect": "Deny", "Action": "iam:*"}), PolicySource(LayerKind.SCP, "scp"))
    assert policy.statements[0].resource_is_star


def test_parse_empty_action_list_raises():
    """An empty ``Action`` list grants nothing and is rejected rather than guessed.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    """
    assert "Action" in _malformed(doc(deny([], "*"))).problem
