"""``Arn``: the one parser of ARNs (engine.arn, re-exported by domain).

ARN format: ``arn:partition:service:region:account-id:resource``, the resource being ``resource-id``,
``resource-type/resource-id`` or ``resource-type:resource-id``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference-arns.html); IAM identifiers with paths:
``arn:aws:iam::account:role/path/name``
(https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html#identifiers-arns).
"""

from __future__ import annotations

import pytest

from restorewatch.domain import Arn, parse_arn
from restorewatch.engine.model import PrincipalKind


def test_parse_arn_iam_role_with_path_names_the_last_segment() -> None:
    arn = parse_arn("arn:aws:iam::123456789012:role/service-role/x/VeeamRestoreRole")
    assert arn == Arn("aws", "iam", "", "123456789012", "role/service-role/x/VeeamRestoreRole")
    assert (arn.resource_type, arn.resource_id, arn.name) == (
        "role",
        "service-role/x/VeeamRestoreRole",
        "VeeamRestoreRole",
    )
    assert arn.principal_kind is PrincipalKind.ROLE


def test_parse_arn_keeps_the_colons_of_the_resource() -> None:
    """Only the first five colons separate parts: a log group's resource has colons of its own."""
    arn = parse_arn("arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*")
    assert arn is not None
    assert (arn.region, arn.resource) == ("us-east-1", "log-group:/aws/lambda/x:*")
    assert str(arn) == "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x:*"


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("arn:aws:iam::123456789012:user/alice", PrincipalKind.USER),
        ("arn:aws-us-gov:iam::123456789012:role/a/b", PrincipalKind.ROLE),
        ("arn:aws:iam::123456789012:root", None),  # the account, not a user or role
        ("arn:aws:iam::123456789012:group/admins", None),
        ("arn:aws:iam::123456789012:role/", None),  # no name
        ("arn:aws:sts::123456789012:assumed-role/Admin/alice", None),  # a session, not the role
    ],
)
def test_principal_kind_only_for_iam_users_and_roles(text: str, kind: PrincipalKind | None) -> None:
    arn = parse_arn(text)
    assert arn is not None
    assert arn.principal_kind is kind


def test_resource_without_type_is_its_own_id_and_name() -> None:
    arn = parse_arn("arn:aws:iam::123456789012:root")
    assert arn is not None
    assert (arn.resource_type, arn.resource_id, arn.name) == ("", "root", "root")


@pytest.mark.parametrize(
    "text",
    ["", "VeeamRestoreRole", "arn:aws:iam::123456789012", "urn:aws:iam::123456789012:role/x", "role/x"],
)
def test_parse_arn_not_an_arn_is_none(text: str) -> None:
    assert parse_arn(text) is None
