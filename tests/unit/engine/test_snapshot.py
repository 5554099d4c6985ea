"""Account snapshots: ``get-account-authorization-details`` output into principals.

https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
"""

from __future__ import annotations

import pytest

from restorewatch.engine import AccountSnapshot, LayerKind, PrincipalKind, RequestDecision, decide_request
from restorewatch.errors import SnapshotError, UnknownPrincipalError

from .conftest import (
    allow,
    auth_details,
    deny,
    doc,
    group,
    inline,
    managed_policy,
    role,
    role_arn,
    snapshot,
    user,
    user_arn,
)

API = "https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html"


def test_snapshot_attached_policy_missing_from_policies_raises():
    """An attached managed policy absent from ``Policies`` is a snapshot error naming the ARN.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    ghost = managed_policy("Ghost", doc(allow("*")))
    snap = snapshot(users=[user(managed=[ghost])])
    with pytest.raises(SnapshotError) as info:
        snap.principal(user_arn())
    assert "arn:aws:iam::111122223333:policy/Ghost" in str(info.value)


def test_snapshot_group_missing_raises():
    """A group in ``GroupList`` absent from ``GroupDetailList`` is a snapshot error naming the group.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    snap = snapshot(users=[user(groups=["ghosts"])])
    with pytest.raises(SnapshotError) as info:
        snap.principal(user_arn())
    assert "ghosts" in str(info.value)


def test_snapshot_no_default_version_raises():
    """A managed policy with no default version in ``PolicyVersionList`` is a snapshot error.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_PolicyVersion.html (IsDefaultVersion)
    """
    policy = managed_policy("NoDefault", doc(allow("*")), default_version=False)
    snap = snapshot(roles=[role(managed=[policy])], policies=[policy])
    with pytest.raises(SnapshotError) as info:
        snap.principal(role_arn())
    assert "NoDefault" in str(info.value)
    assert "default" in str(info.value)


def test_snapshot_boundary_missing_from_policies_raises():
    """A permissions boundary ARN absent from ``Policies`` is a snapshot error.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    boundary = managed_policy("Bound", doc(allow("*")))
    snap = snapshot(users=[user(boundary=boundary)])
    with pytest.raises(SnapshotError) as info:
        snap.principal(user_arn())
    assert "Bound" in str(info.value)


def test_snapshot_only_default_version_counts():
    """Only the default version of a managed policy is evaluated.

    https://docs.aws.amazon.com/IAM/latest/UserGuide/access_policies_managed-versioning.html
    """
    policy = managed_policy("V", doc(allow("s3:GetObject")), other_versions=[doc(allow("*")), doc(deny("*"))])
    snap = snapshot(users=[user(managed=[policy])], policies=[policy])
    alice = snap.principal(user_arn())
    [compiled] = alice.identity
    assert len(compiled.statements) == 1
    assert compiled.statements[0].actions.patterns == ("s3:getobject",)


def test_snapshot_default_version_not_first_is_used():
    """The default version is found wherever it sits in ``PolicyVersionList``.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_ManagedPolicyDetail.html
    """
    policy = managed_policy("V", doc(allow("*")))
    policy["PolicyVersionList"] = [
        {"Document": doc(deny("*")), "VersionId": "v1", "IsDefaultVersion": False},
        {"Document": doc(allow("ec2:*")), "VersionId": "v2", "IsDefaultVersion": True},
    ]
    snap = snapshot(users=[user(managed=[policy])], policies=[policy])
    alice = snap.principal(user_arn())
    assert decide_request(alice, "ec2:RunInstances").decision is RequestDecision.ALLOWED
    assert decide_request(alice, "s3:GetObject").decision is RequestDecision.IMPLICIT_DENY


def test_snapshot_user_layers_include_groups():
    """A user's identity policies: inline, attached, and each group's inline and attached policies.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    mine, theirs = managed_policy("Mine", doc(allow("a:b"))), managed_policy("Theirs", doc(allow("c:d")))
    snap = snapshot(
        users=[user(inline_policies=[inline("own", doc(allow("e:f")))], managed=[mine], groups=["g"])],
        groups=[group("g", inline_policies=[inline("grp", doc(allow("g:h")))], managed=[theirs])],
        policies=[mine, theirs],
    )
    alice = snap.principal(user_arn())
    assert alice.kind is PrincipalKind.USER
    names = sorted((p.source.name, p.source.via_group) for p in alice.identity)
    assert names == [("Mine", None), ("Theirs", "g"), ("grp", "g"), ("own", None)]
    assert alice.boundary is None


def test_snapshot_boundary_is_separate_layer():
    """``PermissionsBoundary.PermissionsBoundaryArn`` names a managed policy used as the boundary layer.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_AttachedPermissionsBoundary.html
    """
    boundary = managed_policy("Bound", doc(allow("*")))
    snap = snapshot(roles=[role(boundary=boundary)], policies=[boundary])
    restore = snap.principal(role_arn())
    assert restore.kind is PrincipalKind.ROLE
    assert restore.boundary is not None
    assert restore.boundary.source.layer is LayerKind.BOUNDARY
    assert restore.identity == ()


def test_snapshot_pages_merged():
    """Several pages of output are merged (``IsTruncated``/``Marker`` pagination).

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    policy = managed_policy("P", doc(allow("ec2:*")))
    pages = [auth_details(users=[user(managed=[policy])]), auth_details(policies=[policy])]
    snap = AccountSnapshot.from_pages(pages)
    assert decide_request(snap.principal(user_arn()), "ec2:RunInstances").decision is RequestDecision.ALLOWED


def test_snapshot_listing_that_says_more_follows_needs_the_page_that_ends_it():
    """``IsTruncated: true`` ("there are more items to return") with no page that ends the listing
    is an incomplete account, refused; the pages may come in any order.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    policy = managed_policy("P", doc(allow("ec2:*")))
    first = {**auth_details(users=[user(managed=[policy])]), "IsTruncated": True, "Marker": "m"}
    last = {**auth_details(policies=[policy]), "IsTruncated": False}
    with pytest.raises(SnapshotError, match=r"incomplete account: more follows page 1 \(IsTruncated: true\)"):
        AccountSnapshot.from_pages([first])
    snap = AccountSnapshot.from_pages([last, first])
    assert decide_request(snap.principal(user_arn()), "ec2:RunInstances").decision is RequestDecision.ALLOWED


def test_snapshot_list_field_of_another_type_is_named_not_iterated():
    """``AttachedManagedPolicies`` is a list of ``AttachedPolicy`` objects; an object in its place
    (as in the AWS CLI reference's example output) is reported as such, not read key by key.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GroupDetail.html
    """
    policy = managed_policy("P", doc(allow("ec2:*")))
    admins = group("admins", managed=[policy])
    admins["AttachedManagedPolicies"] = admins["AttachedManagedPolicies"][0]
    snap = snapshot(users=[user(groups=["admins"])], groups=[admins], policies=[policy])
    with pytest.raises(
        SnapshotError, match=r"group/admins: AttachedManagedPolicies is an object, not a list"
    ):
        snap.principal(user_arn())


def test_snapshot_page_not_authorization_details_raises():
    """A page that is not ``get-account-authorization-details`` output is rejected.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    with pytest.raises(SnapshotError):
        AccountSnapshot.from_pages([{"Users": []}])


def test_snapshot_unknown_principal_raises():
    """Asking for a principal the snapshot lacks is an input error.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html
    """
    with pytest.raises(UnknownPrincipalError):
        snapshot(users=[user()]).principal(user_arn("nobody"))


def test_snapshot_tags_read():
    """Users' and roles' ``Tags`` become principal tags.

    https://docs.aws.amazon.com/IAM/latest/APIReference/API_RoleDetail.html
    """
    snap = snapshot(roles=[role(tags={"restorewatch:profile": "veeam-ec2-restore"})])
    assert snap.tags_of(role_arn()) == {"restorewatch:profile": "veeam-ec2-restore"}
    assert snap.principal(role_arn()).tags == {"restorewatch:profile": "veeam-ec2-restore"}
