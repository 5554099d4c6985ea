"""``scope.never_applies``: the quick "no" a requirement check takes before ``statement_scope``.

Rule 1 of the evaluation spec's "The action catalog": a Resource entry applies to an action only
if it can name a resource of one of the action's resource types; for a wildcard-only action, only
if it matches ``*``; a statement none of whose entries applies does not cover the action. The
shortcut must never say "no" where ``statement_scope`` finds the statement applicable (that would
turn an allowed or partial action into denied), and it must say it in the usual cases, or it buys
nothing. Every Resource list below is checked against every action both ways.
https://docs.aws.amazon.com/service-authorization/latest/reference/reference_policies_actions-resources-contextkeys.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from restorewatch.engine import PolicySource, RequirementStatus, parse_policy, requirement_status
from restorewatch.engine.catalog import ActionFacts
from restorewatch.engine.model import LayerKind, Statement
from restorewatch.engine.scope import Inapplicable, Scoped, never_applies, statement_scope

from .conftest import FakeCatalog, allow, doc, stmt, user_with

EC2_INSTANCE = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
S3_OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
IAM_ROLE = "arn:${Partition}:iam::${Account}:role/${RoleNameWithPath}"

START = ActionFacts("ec2:StartInstances", (EC2_INSTANCE,), ())
PASS_ROLE = ActionFacts("iam:PassRole", (IAM_ROLE,), ())
# an action acting on another service's resources too (a literal service each)
ATTACH = ActionFacts("ec2:AssociateIamInstanceProfile", (EC2_INSTANCE, IAM_ROLE), ())
DESCRIBE = ActionFacts("ec2:DescribeInstances", (), ())  # wildcard-only: requested on "*"
# a format whose service is not literal: nothing can be ruled out by service
ODD = ActionFacts("odd:Thing", ("arn:${Partition}:${Service}:::thing/${Id}",), ())
FACTS = [START, PASS_ROLE, ATTACH, DESCRIBE, ODD]

ENTRIES = [
    "arn:aws:s3:::backups/*",
    "arn:aws:ec2:us-east-1:111122223333:instance/*",
    "arn:aws:ec2:*:*:volume/*",
    "arn:aws:iam::111122223333:role/restore",
    "arn:aws:kms:*:111122223333:key/*",
    "arn:aws:*:*:*:*",
    "arn:aws:${aws:username}:::x",  # a variable where the service goes: not literal
    "arn:aws:s3:::${aws:username}/*",
    "arn:*",
    "*/*",
    "?",
    "${*}",
]


def _statement(entries: list[str], *, negated: bool = False, version: str = "2012-10-17") -> Statement:
    element = stmt("Allow", "*", None, not_resource=entries) if negated else stmt("Allow", "*", entries)
    document = {"Version": version, "Statement": [element]}
    return parse_policy(document, PolicySource(LayerKind.IDENTITY, "p")).statements[0]


@settings(max_examples=300, deadline=None)
@given(
    entries=st.lists(st.sampled_from(ENTRIES), min_size=1, max_size=3),
    negated=st.booleans(),
    version=st.sampled_from(["2012-10-17", "2008-10-17"]),
)
def test_the_shortcut_says_no_only_where_the_statement_never_applies(
    entries: list[str], negated: bool, version: str
) -> None:
    statement = _statement(entries, negated=negated, version=version)
    for facts in FACTS:
        if never_applies(statement, facts):
            assert isinstance(statement_scope(statement, facts), Inapplicable), (entries, facts.action)


def test_the_shortcut_says_no_in_the_usual_cases_and_nothing_more() -> None:
    """Another service's ARNs for an action with resource types; any ARN but "*"-matching ones
    for a wildcard-only action. Not for NotResource (an entry that names nothing of the action
    excludes nothing: the statement applies everywhere), a mixed list, or a "*"."""
    other_service = _statement(["arn:aws:s3:::backups/*", "arn:aws:kms:*:111122223333:key/*"])
    assert never_applies(other_service, START)
    assert never_applies(other_service, DESCRIBE)
    assert not never_applies(other_service, ODD)  # cannot tell by the service
    assert never_applies(_statement(["arn:aws:ec2:*:*:volume/*"]), PASS_ROLE)
    assert not never_applies(_statement(["arn:aws:iam::111122223333:role/restore"]), ATTACH)
    assert not never_applies(_statement(["arn:aws:s3:::backups/*", "arn:aws:ec2:*:*:volume/*"]), START)
    assert not never_applies(_statement(["arn:aws:s3:::backups/*"], negated=True), START)
    assert not never_applies(_statement(["arn:aws:s3:::backups/*", "*"]), START)
    # a wildcard-only action is requested on "*": only an entry that matches the string "*" applies
    assert never_applies(_statement(["arn:aws:ec2:*:*:instance/*", "arn:*", "*/*"]), DESCRIBE)
    assert not never_applies(_statement(["?", "arn:aws:s3:::backups/*"]), DESCRIBE)
    assert not never_applies(_statement(["${*}"]), DESCRIBE)  # "*" itself, the variable's text
    for facts in FACTS:  # without a catalog nothing is decided
        assert not never_applies(other_service, None)
        assert isinstance(statement_scope(_statement(["*"]), facts), Scoped)


def test_a_check_with_the_shortcut_still_names_the_statement_that_never_applies() -> None:
    """The shortcut skips building the explanation; the denied action's reason still has it."""
    catalog = FakeCatalog({"ec2:startinstances": START})
    principal = user_with(doc(allow("ec2:StartInstances", "arn:aws:s3:::backups/*")))
    result = requirement_status(principal, "ec2:StartInstances", catalog=catalog)
    assert result.status is RequirementStatus.DENIED
    assert "never applies to it: none of arn:aws:s3:::backups/* can name a resource of" in result.explanation
