"""Policy variables in resources and condition values.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

from restorewatch.engine import RequestDecision, decide_request

from .conftest import V2008, allow, doc, role_with, user_with

VARS = "https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html"


def _decision(principal, action="s3:GetObject", resource="*", context=None):
    return decide_request(principal, action, resource, context).decision


def test_variables_username_in_resource_2012_substituted():
    """``${aws:username}`` in ``Resource`` is replaced by the user's name in a 2012-10-17 policy.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    alice = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")))
    assert _decision(alice, resource="arn:aws:s3:::home/alice/x") is RequestDecision.ALLOWED
    assert _decision(alice, resource="arn:aws:s3:::home/bob/x") is RequestDecision.IMPLICIT_DENY


def test_variables_version_2008_literal_text():
    """In a 2008-10-17 (or Version-less) policy, ``${aws:username}`` is literal text.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    ("you must include the Version element and set it to a version that supports policy variables
    ... variables such as ${aws:username} aren't recognized as variables and are instead treated as
    literal strings in the policy")
    """
    for version in (V2008, None):
        alice = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*"), version=version))
        assert _decision(alice, resource="arn:aws:s3:::home/alice/x") is RequestDecision.IMPLICIT_DENY
        assert _decision(alice, resource="arn:aws:s3:::home/${aws:username}/x") is RequestDecision.ALLOWED


def test_variables_version_2008_condition_value_literal():
    """Condition values are not substituted in 2008-10-17 policies either.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    condition = {"StringEquals": {"s3:prefix": "${aws:username}"}}
    old = user_with(doc(allow("s3:ListBucket", condition=condition), version=V2008))
    new = user_with(doc(allow("s3:ListBucket", condition=condition)))
    assert _decision(old, "s3:ListBucket", context={"s3:prefix": "alice"}) is RequestDecision.IMPLICIT_DENY
    assert (
        _decision(old, "s3:ListBucket", context={"s3:prefix": "${aws:username}"}) is RequestDecision.ALLOWED
    )
    assert _decision(new, "s3:ListBucket", context={"s3:prefix": "alice"}) is RequestDecision.ALLOWED


def test_variables_principal_tag_in_resource_substituted():
    """``${aws:PrincipalTag/team}`` is replaced by the principal's tag value.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-tags
    """
    restore = role_with(
        doc(allow("s3:GetObject", "arn:aws:s3:::${aws:PrincipalTag/team}-backups/*")), tags={"team": "ops"}
    )
    assert _decision(restore, resource="arn:aws:s3:::ops-backups/k") is RequestDecision.ALLOWED
    assert _decision(restore, resource="arn:aws:s3:::dev-backups/k") is RequestDecision.IMPLICIT_DENY


def test_variables_default_value_used_when_key_absent():
    """``${aws:PrincipalTag/team, 'x'}`` uses the default when the tag is missing.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-default-values
    ("To add a default value to a variable, surround the default value with single quotes")
    """
    document = doc(allow("s3:GetObject", "arn:aws:s3:::${aws:PrincipalTag/team, 'shared'}/*"))
    untagged = user_with(document)
    tagged = user_with(document, tags={"team": "ops"})
    assert _decision(untagged, resource="arn:aws:s3:::shared/k") is RequestDecision.ALLOWED
    assert _decision(tagged, resource="arn:aws:s3:::shared/k") is RequestDecision.IMPLICIT_DENY
    assert _decision(tagged, resource="arn:aws:s3:::ops/k") is RequestDecision.ALLOWED


def test_variables_unresolved_variable_matches_nothing():
    """A variable whose key has no value makes the value it sits in match nothing.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
    ("If a policy variable references a condition context key that has no value or is not present in
    an authorization context for a request, the value is effectively null. There is no equal or like value.")
    """
    untagged = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::${aws:PrincipalTag/team}/*")))
    assert _decision(untagged, resource="arn:aws:s3:::/k") is RequestDecision.IMPLICIT_DENY
    assert (
        _decision(untagged, resource="arn:aws:s3:::${aws:PrincipalTag/team}/k")
        is RequestDecision.IMPLICIT_DENY
    )
    # a role has no aws:username
    restore = role_with(doc(allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*")))
    assert _decision(restore, resource="arn:aws:s3:::home/restore/k") is RequestDecision.IMPLICIT_DENY


def test_variables_unresolved_in_condition_value_no_match():
    """An unresolved variable in a condition value has no equal value: StringEquals is false.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
    """
    alice = user_with(
        doc(allow("s3:ListBucket", condition={"StringEquals": {"s3:prefix": "${aws:PrincipalTag/x}"}}))
    )
    assert _decision(alice, "s3:ListBucket", context={"s3:prefix": ""}) is RequestDecision.IMPLICIT_DENY


def test_variables_special_characters_are_literal():
    """``${*}``, ``${?}`` and ``${$}`` stand for the literal characters, not wildcards.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars
    ("${*} - use where you need an * (asterisk) character")
    """
    alice = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::b/star${*}q${?}d${$}")))
    assert _decision(alice, resource="arn:aws:s3:::b/star*q?d$") is RequestDecision.ALLOWED
    assert _decision(alice, resource="arn:aws:s3:::b/starXq?d$") is RequestDecision.IMPLICIT_DENY
    assert _decision(alice, resource="arn:aws:s3:::b/star*qXd$") is RequestDecision.IMPLICIT_DENY


def test_variables_substituted_value_matched_literally():
    """A substituted value is text, not a pattern: a ``*`` in a context value is no wildcard.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    """
    alice = user_with(
        doc(allow("s3:ListBucket", condition={"StringLike": {"s3:prefix": "${aws:RequestTag/p}/*"}}))
    )
    ctx = {"aws:RequestTag/p": "a*", "s3:prefix": "a*/x"}
    assert _decision(alice, "s3:ListBucket", context=ctx) is RequestDecision.ALLOWED
    ctx = {"aws:RequestTag/p": "a*", "s3:prefix": "abc/x"}
    assert _decision(alice, "s3:ListBucket", context=ctx) is RequestDecision.IMPLICIT_DENY


def test_variables_in_condition_value_substituted():
    """Variables are substituted in string condition values (2012-10-17).

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-wheretouse
    """
    alice = user_with(
        doc(allow("s3:ListBucket", condition={"StringLike": {"s3:prefix": ["home/${aws:username}/*"]}}))
    )
    ctx_ok = {"s3:prefix": "home/alice/docs"}
    ctx_no = {"s3:prefix": "home/bob/docs"}
    assert _decision(alice, "s3:ListBucket", context=ctx_ok) is RequestDecision.ALLOWED
    assert _decision(alice, "s3:ListBucket", context=ctx_no) is RequestDecision.IMPLICIT_DENY


def test_variables_in_arn_condition_value_substituted():
    """Variables are substituted in ARN condition values.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-wheretouse
    """
    alice = user_with(
        doc(
            allow(
                "iam:PassRole",
                condition={
                    "ArnLike": {"iam:AssociatedResourceArn": "arn:aws:ec2:*:*:instance/${aws:username}-*"}
                },
            )
        )
    )
    ok = {"iam:AssociatedResourceArn": "arn:aws:ec2:us-east-1:111122223333:instance/alice-1"}
    no = {"iam:AssociatedResourceArn": "arn:aws:ec2:us-east-1:111122223333:instance/bob-1"}
    assert _decision(alice, "iam:PassRole", context=ok) is RequestDecision.ALLOWED
    assert _decision(alice, "iam:PassRole", context=no) is RequestDecision.IMPLICIT_DENY


def test_variables_request_context_variable_in_resource():
    """Any request-context key can be a variable, e.g. ``${aws:PrincipalAccount}`` or a given key.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-infotouse
    """
    alice = user_with(
        doc(allow("s3:GetObject", "arn:aws:s3:::${aws:PrincipalAccount}-${aws:RequestedRegion}/*"))
    )
    ctx = {"aws:RequestedRegion": "eu-west-1"}
    ok = "arn:aws:s3:::111122223333-eu-west-1/k"
    assert _decision(alice, resource=ok, context=ctx) is RequestDecision.ALLOWED
    assert _decision(alice, resource=ok) is RequestDecision.IMPLICIT_DENY  # region absent


def test_variables_key_name_case_insensitive():
    """Variable names are condition key names, which are case-insensitive.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    ("Condition key names are not case-sensitive")
    """
    alice = user_with(doc(allow("s3:GetObject", "arn:aws:s3:::home/${AWS:UserName}/*")))
    assert _decision(alice, resource="arn:aws:s3:::home/alice/x") is RequestDecision.ALLOWED
