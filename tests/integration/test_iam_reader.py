"""inventory.IamReader against moto's IAM (``mock_aws``): page shape, content, call counts, failures.

AWS references: GetAccountAuthorizationDetails
(https://docs.aws.amazon.com/IAM/latest/APIReference/API_GetAccountAuthorizationDetails.html),
ListEntitiesForPolicy (https://docs.aws.amazon.com/IAM/latest/APIReference/API_ListEntitiesForPolicy.html).
Errors are injected with botocore's event system on the moto-backed client (``before-call``).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import ClientError
from moto import mock_aws

from restorewatch.domain import Target, TargetKind
from restorewatch.errors import ReadError
from restorewatch.inventory import IamReader, iam_client
from restorewatch.inventory.clients import make_client, resolve_endpoint_url
from restorewatch.inventory.iam_reader import split_arn

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from types_boto3_iam.type_defs import TagTypeDef

TAG_KEY = "restorewatch:profile"
TAG: list[TagTypeDef] = [{"Key": TAG_KEY, "Value": "veeam-restore"}]


def document(action: str, effect: str = "Allow") -> str:
    return json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": effect, "Action": action, "Resource": "*"}]}
    )


TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


class Account:
    """A small account like the demo's: a tagged restore user and role, a group, policies."""

    def __init__(self, client: Any) -> None:
        self.client = client
        create = client.create_policy
        self.policy = create(PolicyName="VeeamRestorePolicy", PolicyDocument=document("ec2:RunInstances"))[
            "Policy"
        ]["Arn"]
        client.create_policy_version(
            PolicyArn=self.policy, PolicyDocument=document("ebs:*"), SetAsDefault=True
        )
        client.create_policy_version(
            PolicyArn=self.policy, PolicyDocument=document("s3:*"), SetAsDefault=False
        )
        self.boundary = create(PolicyName="RestoreBoundary", PolicyDocument=document("*"))["Policy"]["Arn"]
        self.group_policy = create(PolicyName="OperatorsPolicy", PolicyDocument=document("kms:Decrypt"))[
            "Policy"
        ]["Arn"]
        self.user = client.create_user(UserName="veeam-restore", Tags=TAG)["User"]["Arn"]
        self.other = client.create_user(UserName="ops-alice")["User"]["Arn"]
        self.plain = client.create_user(UserName="plain")["User"]["Arn"]
        self.role = client.create_role(
            RoleName="VeeamRestoreRole",
            AssumeRolePolicyDocument=TRUST,
            Tags=TAG,
            PermissionsBoundary=self.boundary,
        )["Role"]["Arn"]
        client.create_group(GroupName="backup-operators")
        client.add_user_to_group(GroupName="backup-operators", UserName="veeam-restore")
        client.add_user_to_group(GroupName="backup-operators", UserName="ops-alice")
        client.put_group_policy(
            GroupName="backup-operators", PolicyName="DenySnapshots", PolicyDocument=document("ebs:*", "Deny")
        )
        client.attach_group_policy(GroupName="backup-operators", PolicyArn=self.group_policy)
        client.put_user_policy(
            UserName="veeam-restore", PolicyName="inline", PolicyDocument=document("s3:GetObject")
        )
        client.attach_user_policy(UserName="veeam-restore", PolicyArn=self.policy)
        client.attach_role_policy(RoleName="VeeamRestoreRole", PolicyArn=self.policy)
        client.put_role_policy(
            RoleName="VeeamRestoreRole", PolicyName="inline", PolicyDocument=document("kms:*")
        )


@pytest.fixture
def client() -> Iterator[Any]:
    with mock_aws():
        yield iam_client()


@pytest.fixture
def account(client: Any) -> Account:
    return Account(client)


def raiser(code: str, message: str) -> Callable[..., None]:
    def handler(model: Any, **_: Any) -> None:
        raise ClientError({"Error": {"Code": code, "Message": message}}, model.name)

    return handler


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    (version,) = policy["PolicyVersionList"]
    assert version["IsDefaultVersion"] is True
    result: list[dict[str, Any]] = version["Document"]["Statement"]
    return result


# --- clients ------------------------------------------------------------------------------------------


def test_iam_client_uses_adaptive_retries_and_endpoint_url(monkeypatch: pytest.MonkeyPatch) -> None:
    client = make_client("iam", endpoint_url="http://127.0.0.1:5999")
    assert client.meta.endpoint_url == "http://127.0.0.1:5999"
    # botocore keeps max_attempts (retries) as total_max_attempts (first try + retries)
    retries = client.meta.config.retries  # type: ignore[attr-defined]  # set by botocore, not in the stubs
    assert retries == {"mode": "adaptive", "total_max_attempts": 11}
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5998")
    assert iam_client().meta.endpoint_url == "http://127.0.0.1:5998"
    monkeypatch.setenv("AWS_ENDPOINT_URL_IAM", "http://127.0.0.1:5997")
    assert resolve_endpoint_url("iam") == "http://127.0.0.1:5997"
    assert resolve_endpoint_url("iam", "http://x") == "http://x"


# --- the whole account --------------------------------------------------------------------------------


def test_account_pages_cli_shape(client: Any, account: Account) -> None:
    reader = IamReader(client)
    pages = list(reader.account_pages())
    assert reader.calls == {"GetAccountAuthorizationDetails": len(pages)}
    page = pages[0]
    assert set(page) == {"UserDetailList", "GroupDetailList", "RoleDetailList", "Policies"}
    json.dumps(pages)  # plain JSON values: datetimes are ISO strings
    users = {u["UserName"]: u for p in pages for u in p["UserDetailList"]}
    assert users["veeam-restore"]["Tags"] == TAG
    assert users["veeam-restore"]["GroupList"] == ["backup-operators"]
    roles = {r["RoleName"]: r for p in pages for r in p["RoleDetailList"]}
    assert roles["VeeamRestoreRole"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == account.boundary
    assert isinstance(roles["VeeamRestoreRole"]["CreateDate"], str)


def test_account_pages_throttled_raises_read_error(client: Any, account: Account) -> None:
    client.meta.events.register(
        "before-call.iam.GetAccountAuthorizationDetails", raiser("Throttling", "Rate exceeded")
    )
    with pytest.raises(ReadError) as raised:
        list(IamReader(client).account_pages())
    assert (raised.value.operation, raised.value.code) == ("GetAccountAuthorizationDetails", "Throttling")


# --- a few principals ---------------------------------------------------------------------------------


def test_principal_pages_user_reads_every_layer_with_counted_calls(client: Any, account: Account) -> None:
    reader = IamReader(client)
    read = reader.principal_pages([account.user])
    assert read.deleted == ()
    assert dict(read.errors) == {}
    page = read.page
    json.dumps(page)
    (user,) = page["UserDetailList"]
    assert user["Arn"] == account.user
    assert user["Tags"] == TAG
    assert user["GroupList"] == ["backup-operators"]
    assert user["UserPolicyList"] == [
        {"PolicyName": "inline", "PolicyDocument": json.loads(document("s3:GetObject"))}
    ]
    assert user["AttachedManagedPolicies"] == [
        {"PolicyName": "VeeamRestorePolicy", "PolicyArn": account.policy}
    ]
    (group,) = page["GroupDetailList"]
    assert group["GroupName"] == "backup-operators"
    assert group["GroupPolicyList"][0]["PolicyName"] == "DenySnapshots"
    assert group["AttachedManagedPolicies"] == [
        {"PolicyName": "OperatorsPolicy", "PolicyArn": account.group_policy}
    ]
    policies = {p["Arn"]: p for p in page["Policies"]}
    assert set(policies) == {account.policy, account.group_policy}
    assert policies[account.policy]["DefaultVersionId"] == "v2"
    assert statements(policies[account.policy])[0]["Action"] == "ebs:*"  # the default, not v1 or v3
    assert page["RoleDetailList"] == []
    assert reader.calls == {
        "GetUser": 1,
        "ListUserPolicies": 1,
        "GetUserPolicy": 1,
        "ListAttachedUserPolicies": 1,
        "ListGroupsForUser": 1,
        "ListGroupPolicies": 1,
        "GetGroupPolicy": 1,
        "ListAttachedGroupPolicies": 1,
        "GetPolicy": 2,
        "GetPolicyVersion": 2,
    }
    assert read.read_arns == (account.user,)


def test_principal_pages_role_with_boundary(client: Any, account: Account) -> None:
    reader = IamReader(client)
    page = reader.principal_pages([account.role]).page
    (role,) = page["RoleDetailList"]
    assert role["PermissionsBoundary"]["PermissionsBoundaryArn"] == account.boundary
    assert role["RolePolicyList"][0]["PolicyName"] == "inline"
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    assert {p["Arn"] for p in page["Policies"]} == {account.policy, account.boundary}
    assert reader.calls["GetRole"] == 1
    assert reader.total_calls == 1 + 1 + 1 + 1 + 2 * 2  # GetRole, List/Get inline, ListAttached, 2 policies


def test_principal_pages_user_boundary_included(client: Any, account: Account) -> None:
    """moto gap: CreateUser ignores PermissionsBoundary and PutUserPermissionsBoundary is missing, so
    the boundary is added to moto's GetUser response with botocore's ``after-call`` event."""

    def add_boundary(parsed: dict[str, Any], **_: Any) -> None:
        parsed["User"]["PermissionsBoundary"] = {
            "PermissionsBoundaryType": "Policy",
            "PermissionsBoundaryArn": account.boundary,
        }

    client.meta.events.register("after-call.iam.GetUser", add_boundary)
    page = IamReader(client).principal_pages([account.user]).page
    assert page["UserDetailList"][0]["PermissionsBoundary"]["PermissionsBoundaryArn"] == account.boundary
    assert account.boundary in {p["Arn"] for p in page["Policies"]}


def test_principal_pages_shared_policy_read_once(client: Any, account: Account) -> None:
    reader = IamReader(client)
    page = reader.principal_pages([account.user, account.role, account.user]).page
    assert len(page["UserDetailList"]) == len(page["RoleDetailList"]) == 1
    assert reader.calls["GetPolicy"] == 3  # VeeamRestorePolicy, OperatorsPolicy, RestoreBoundary
    assert reader.calls["GetPolicyVersion"] == 3


@pytest.mark.slow  # moto loads the AWS managed policies (seconds)
def test_principal_pages_aws_managed_policy(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto gap: AWS managed policies exist only with MOTO_IAM_LOAD_MANAGED_POLICIES=true."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        client = iam_client()
        arn = client.create_role(RoleName="VeeamRestoreRole", AssumeRolePolicyDocument=TRUST, Tags=TAG)[
            "Role"
        ]["Arn"]
        power = "arn:aws:iam::aws:policy/PowerUserAccess"
        client.attach_role_policy(RoleName="VeeamRestoreRole", PolicyArn=power)
        page = IamReader(client).principal_pages([arn]).page
    (policy,) = page["Policies"]
    assert policy["Arn"] == power
    assert statements(policy)[0]["NotAction"]


def test_principal_pages_deleted_principal_is_a_result(client: Any, account: Account) -> None:
    client.delete_role_policy(RoleName="VeeamRestoreRole", PolicyName="inline")
    client.detach_role_policy(RoleName="VeeamRestoreRole", PolicyArn=account.policy)
    client.delete_role_permissions_boundary(RoleName="VeeamRestoreRole")
    client.delete_role(RoleName="VeeamRestoreRole")
    gone_user = account.user.replace("veeam-restore", "never-existed")
    read = IamReader(client).principal_pages([account.role, gone_user, account.other])
    assert read.deleted == (account.role, gone_user)
    assert dict(read.errors) == {}
    assert [u["Arn"] for u in read.page["UserDetailList"]] == [account.other]


def test_principal_pages_same_name_other_path_is_deleted(client: Any, account: Account) -> None:
    moved = account.user.replace(":user/", ":user/backup/")
    assert IamReader(client).principal_pages([moved]).deleted == (moved,)


@pytest.mark.parametrize(
    ("operation", "code"),
    [("GetRole", "AccessDenied"), ("ListRolePolicies", "Throttling"), ("GetPolicyVersion", "ServiceFailure")],
)
def test_principal_pages_read_failure_is_per_principal(
    client: Any, account: Account, operation: str, code: str
) -> None:
    client.meta.events.register(f"before-call.iam.{operation}", raiser(code, "injected"))
    reader = IamReader(client)
    read = reader.principal_pages([account.role, account.plain])
    assert list(read.errors) == [account.role]
    error = read.errors[account.role]
    assert (error.operation, error.code, error.message) == (operation, code, "injected")
    assert error.target in (account.role, account.policy, account.boundary)
    assert [u["Arn"] for u in read.page["UserDetailList"]] == [account.plain]
    assert read.page["RoleDetailList"] == []
    assert reader.calls[operation] == 1


def test_principal_pages_not_a_principal_arn_raises(client: Any) -> None:
    with pytest.raises(Exception, match="not an IAM user or role ARN"):
        IamReader(client).principal_pages(["arn:aws:iam::123456789012:group/backup-operators"])


def test_split_arn_any_path() -> None:
    assert split_arn("arn:aws:iam::123456789012:role/service-role/x/VeeamRestoreRole") == (
        "role",
        "VeeamRestoreRole",
    )


# --- targets ------------------------------------------------------------------------------------------


def target(kind: TargetKind, name: str) -> Target:
    return Target(kind, name, "123456789012")


def test_resolve_targets_user_watched_unwatched_missing(client: Any, account: Account) -> None:
    reader = IamReader(client)
    assert reader.resolve_targets(target(TargetKind.USER, "veeam-restore"), tag_key=TAG_KEY) == [account.user]
    assert reader.resolve_targets(target(TargetKind.USER, "ops-alice"), tag_key=TAG_KEY) == []
    resolution = reader.resolve(target(TargetKind.ROLE, "NoSuchRole"), tag_key=TAG_KEY)
    assert resolution.missing
    assert resolution.watched == resolution.unwatched == ()
    assert reader.calls == {"GetUser": 2, "GetRole": 1}
    reader.principal_pages([account.user])
    assert reader.calls["GetUser"] == 2  # the tag read is reused


def test_resolve_targets_gone_reads_nothing(client: Any, account: Account) -> None:
    reader = IamReader(client)
    assert reader.resolve_targets(target(TargetKind.USER_GONE, "veeam-restore"), tag_key=TAG_KEY) == []
    assert reader.total_calls == 0


def test_resolve_targets_group_members_tagged_only(client: Any, account: Account) -> None:
    reader = IamReader(client)
    assert reader.resolve_targets(target(TargetKind.GROUP_MEMBERS, "backup-operators"), tag_key=TAG_KEY) == [
        account.user
    ]
    resolution = reader.resolve(target(TargetKind.GROUP_MEMBERS, "backup-operators"), tag_key=TAG_KEY)
    assert resolution.unwatched == (account.other,)
    assert reader.resolve(target(TargetKind.GROUP_MEMBERS, "gone"), tag_key=TAG_KEY).missing
    assert reader.calls["GetUser"] == 2


def test_resolve_targets_policy_entities(client: Any, account: Account) -> None:
    reader = IamReader(client)
    watched = reader.resolve_targets(target(TargetKind.POLICY_ENTITIES, account.policy), tag_key=TAG_KEY)
    assert sorted(watched) == sorted([account.user, account.role])
    assert reader.calls["ListEntitiesForPolicy"] == 2  # PermissionsPolicy and PermissionsBoundary
    via_group = reader.resolve(target(TargetKind.POLICY_ENTITIES, account.group_policy), tag_key=TAG_KEY)
    assert via_group.watched == (account.user,)
    assert via_group.unwatched == (account.other,)


def test_resolve_targets_policy_gone_is_missing(client: Any, account: Account) -> None:
    """moto gap: ListEntitiesForPolicy on an unknown policy answers with empty lists (AWS says
    NoSuchEntity), so NoSuchEntity is injected with botocore's ``before-call`` event."""
    client.meta.events.register("before-call.iam.ListEntitiesForPolicy", raiser("NoSuchEntity", "gone"))
    reader = IamReader(client)
    resolution = reader.resolve(target(TargetKind.POLICY_ENTITIES, account.policy), tag_key=TAG_KEY)
    assert resolution.missing
    assert resolution.watched == resolution.unwatched == ()


def test_resolve_targets_policy_used_as_boundary(client: Any, account: Account) -> None:
    """moto gap: ListEntitiesForPolicy ignores PolicyUsageFilter and never lists boundary usage, so
    the PermissionsBoundary answer is given through botocore's ``before-call`` event."""

    def boundary_usage(params: dict[str, Any], **_: Any) -> tuple[AWSResponse, dict[str, Any]] | None:
        if params["body"].get("PolicyUsageFilter") != "PermissionsBoundary":
            return None
        roles = [{"RoleName": "VeeamRestoreRole", "RoleId": "AROAEXAMPLE"}]
        parsed = {"PolicyGroups": [], "PolicyUsers": [], "PolicyRoles": roles, "IsTruncated": False}
        return AWSResponse("https://iam.amazonaws.com/", 200, HTTPHeaders(), None), parsed

    client.meta.events.register("before-call.iam.ListEntitiesForPolicy", boundary_usage)
    reader = IamReader(client)
    assert reader.resolve_targets(target(TargetKind.POLICY_ENTITIES, account.boundary), tag_key=TAG_KEY) == [
        account.role
    ]


def test_resolve_targets_member_read_failure(client: Any, account: Account) -> None:
    client.meta.events.register("before-call.iam.GetUser", raiser("AccessDenied", "no iam:GetUser"))
    reader = IamReader(client)
    resolution = reader.resolve(target(TargetKind.GROUP_MEMBERS, "backup-operators"), tag_key=TAG_KEY)
    assert [e.code for e in resolution.errors] == ["AccessDenied", "AccessDenied"]
    assert {e.target for e in resolution.errors} == {account.user, account.other}
    with pytest.raises(ReadError, match=r"GetUser on .* failed: AccessDenied"):
        IamReader(client).resolve_targets(
            target(TargetKind.GROUP_MEMBERS, "backup-operators"), tag_key=TAG_KEY
        )


def test_resolve_targets_target_read_failure_raises(client: Any, account: Account) -> None:
    client.meta.events.register(
        "before-call.iam.ListEntitiesForPolicy", raiser("Throttling", "Rate exceeded")
    )
    with pytest.raises(ReadError) as raised:
        IamReader(client).resolve(target(TargetKind.POLICY_ENTITIES, account.policy), tag_key=TAG_KEY)
    assert (raised.value.operation, raised.value.target) == ("ListEntitiesForPolicy", account.policy)


def test_resolve_wide_group_or_policy_reads_no_principal(client: Any, account: Account) -> None:
    """Over ``wide_over`` principals, ``resolve`` stops after listing them (the watcher sweeps
    instead): no GetUser/GetRole per principal. At or under it, each is read as before."""
    group = target(TargetKind.GROUP_MEMBERS, "backup-operators")  # 2 members
    policy = target(TargetKind.POLICY_ENTITIES, account.group_policy)  # the group's 2 members
    reader = IamReader(client)
    assert reader.resolve(group, tag_key=TAG_KEY, wide_over=1).wide
    assert reader.resolve(policy, tag_key=TAG_KEY, wide_over=1).wide
    assert reader.calls == {"GetGroup": 2, "ListEntitiesForPolicy": 2}
    narrow = reader.resolve(group, tag_key=TAG_KEY, wide_over=2)
    assert not narrow.wide
    assert narrow.watched == (account.user,)
    assert reader.calls["GetUser"] == 2
    single = IamReader(client).resolve(target(TargetKind.USER, "veeam-restore"), tag_key=TAG_KEY, wide_over=0)
    assert (single.wide, single.watched) == (False, (account.user,))  # one principal is never wide


# --- the contract with the engine ---------------------------------------------------------------------


def test_pages_read_by_account_snapshot(client: Any, account: Account) -> None:
    """Both page kinds are what ``AccountSnapshot.from_pages`` reads, with the same principal."""
    from restorewatch.engine import AccountSnapshot, LayerKind

    reader = IamReader(client)
    few = AccountSnapshot.from_pages(reader.principal_pages([account.user, account.role]).pages)
    whole = AccountSnapshot.from_pages(reader.account_pages())
    for snapshot in (few, whole):
        user = snapshot.principal(account.user)
        names = sorted(p.source.name for p in user.identity)
        assert names == ["DenySnapshots", "OperatorsPolicy", "VeeamRestorePolicy", "inline"]
        assert snapshot.tags_of(account.user) == {"restorewatch:profile": "veeam-restore"}
        role = snapshot.principal(account.role)
        assert role.boundary is not None
        assert role.boundary.source.layer is LayerKind.BOUNDARY
        assert role.boundary.source.arn == account.boundary
    assert few.principal_arns() == [account.user, account.role]
