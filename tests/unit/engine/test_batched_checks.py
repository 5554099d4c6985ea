"""Checking a profile's actions together answers exactly as checking each action alone.

``check_actions`` (what ``check`` and the watcher use) works out, for each policy, the statements
that cover every action of the profile at once and caches that on the policy for every principal it
is attached to; ``requirement_status`` asks about one action. The rules are those of
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html (Action,
NotAction, any letter case) and the catalog's (evaluation spec, "The action catalog"): whatever
the order, the letter case or the repetitions of the actions asked, and whichever principal asked
first, the answers (status and every reason) are the same.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from restorewatch.engine import check_actions, requirement_status
from restorewatch.engine.catalog import ActionFacts
from restorewatch.engine.patterns import ActionMatcher, fold_case

from .conftest import (
    FakeCatalog,
    doc,
    group,
    inline,
    managed_policy,
    role_with,
    scp_levels,
    snapshot,
    stmt,
    user,
    user_arn,
    user_with,
)

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EC2_INSTANCE = "arn:${Partition}:ec2:${Region}:${Account}:instance/${InstanceId}"
S3_OBJECT = "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
CATALOG = FakeCatalog(
    {
        "ec2:startinstances": ActionFacts(
            "ec2:StartInstances", (EC2_INSTANCE,), ("ec2:ResourceTag/${TagKey}", "ec2:InstanceType")
        ),
        "ec2:describeinstances": ActionFacts("ec2:DescribeInstances", (), ("ec2:Region",)),
        "s3:getobject": ActionFacts("s3:GetObject", (S3_OBJECT,), ("s3:ExistingObjectTag/<key>",)),
        "sts:getcalleridentity": ActionFacts("sts:GetCallerIdentity", (), ()),
    }
)
# known to the catalog, unknown to it (no catalog rule), one AWS allows whatever the policies say
ACTIONS = st.sampled_from(
    [
        "ec2:StartInstances",
        "EC2:startinstances",
        "ec2:DescribeInstances",
        "ec2:StopInstances",
        "s3:GetObject",
        "s3:PutObject",
        "iam:PassRole",
        "sts:GetCallerIdentity",
    ]
)
PATTERNS = st.sampled_from(
    [
        "*",
        "ec2:*",
        "EC2:Start*",
        "ec2:startinstances",
        "ec2:?tartInstances",
        "ec2:Describe*",
        "*:Describe*",
        "s3:Get*",
        "s3:*Object",
        "iam:PassRole",
        "sts:AssumeRole",
        "e?2:*",
    ]
)
RESOURCES = st.sampled_from(
    [
        "*",
        "arn:aws:ec2:*:*:instance/*",
        "arn:aws:s3:::bucket/*",
        "arn:aws:athena:*:*:*",
        "arn:aws:iam::111122223333:role/${aws:username}",
    ]
)
CONDITIONS = st.sampled_from(
    [
        None,
        {"StringEquals": {"aws:PrincipalTag/team": "blue"}},  # decided by the principal's tags
        {"StringEquals": {"aws:PrincipalTag/team": "red"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "true"}},  # decided by the request
        {"StringEquals": {"ec2:InstanceType": "t3.micro"}},  # a key StartInstances carries
        {"StringEquals": {"s3:x-amz-acl": "private"}},  # a key no action here carries: absent
        {"StringNotEquals": {"s3:x-amz-acl": "private"}},
    ]
)


@st.composite
def statements(draw: st.DrawFn) -> dict[str, Any]:
    actions = draw(st.lists(PATTERNS, min_size=1, max_size=3))
    resources = draw(st.lists(RESOURCES, min_size=1, max_size=2))
    negated_action, negated_resource = draw(st.booleans()), draw(st.booleans())
    return stmt(
        draw(st.sampled_from(["Allow", "Allow", "Deny"])),
        None if negated_action else actions,
        None if negated_resource else resources,
        not_action=actions if negated_action else None,
        not_resource=resources if negated_resource else None,
        condition=draw(CONDITIONS),
    )


TAGS = {"team": "blue"}
DOCUMENTS = st.lists(statements(), min_size=1, max_size=3).map(lambda listed: doc(*listed))


@SETTINGS
@given(
    documents=st.lists(DOCUMENTS, min_size=1, max_size=3),
    boundary=st.none() | DOCUMENTS,
    scp=st.none() | DOCUMENTS,
    asked=st.lists(ACTIONS, min_size=1, max_size=8),
    is_role=st.booleans(),
    with_catalog=st.booleans(),
)
def test_batched_checks_answer_as_single_checks(
    *,
    documents: list[dict[str, Any]],
    boundary: dict[str, Any] | None,
    scp: dict[str, Any] | None,
    asked: list[str],
    is_role: bool,
    with_catalog: bool,
) -> None:
    """Each action's answer from ``check_actions`` equals ``requirement_status`` on a principal whose
    policies were compiled apart (no cache shared), and a second principal using the same compiled
    policies (the caches filled by the first) gets the same answers again."""
    build = role_with if is_role else user_with
    catalog = CATALOG if with_catalog else None

    def scps() -> Any:
        if scp is None:
            return None
        guard = {"Name": "guard", "Arn": "arn:aws:organizations::1:policy/p-guard", "Content": scp}
        return scp_levels([guard])

    principal = build(*documents, boundary=boundary, tags=TAGS)
    levels = scps()
    batched = check_actions(principal, asked, levels, catalog)
    alone = [
        requirement_status(build(*documents, boundary=boundary, tags=TAGS), action, scps(), catalog)
        for action in asked
    ]
    assert list(batched) == alone
    again = check_actions(principal, list(reversed(asked)), levels, catalog)
    assert list(again) == list(reversed(alone))


@SETTINGS
@given(patterns=st.lists(PATTERNS, min_size=1, max_size=4), actions=st.lists(ACTIONS, max_size=8))
def test_action_matcher_matching_is_matches_for_each(patterns: list[str], actions: list[str]) -> None:
    """``matching`` (one call for many actions) keeps exactly the actions ``matches``, in order.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    """
    folded = [fold_case(action) for action in actions]
    matcher = ActionMatcher.compile(patterns)
    assert matcher.matching(folded) == [action for action in folded if matcher.matches(action)]


def test_group_policies_are_compiled_once_for_every_member() -> None:
    """Members of a group share its compiled policies (and what the engine caches on them); each
    member still names the group it inherits them from.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/id_groups.html
    """
    shared = managed_policy("Shared", doc(stmt("Allow", "ec2:*", "*")))
    snap = snapshot(
        users=[user("alice", groups=["ops"]), user("bob", groups=["ops"])],
        groups=[group("ops", inline_policies=[inline("ops-inline", doc(stmt()))], managed=[shared])],
        policies=[shared],
    )
    alice, bob = snap.principal(user_arn("alice")), snap.principal(user_arn("bob"))
    assert [p.source.via_group for p in alice.identity] == ["ops", "ops"]
    assert all(mine is theirs for mine, theirs in zip(alice.identity, bob.identity, strict=True))
