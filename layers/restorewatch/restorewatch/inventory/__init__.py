"""AWS reads: IAM state as authorization-details pages, or a read failure (``ReadError``)."""

from restorewatch.inventory.accounts import DEFAULT_MEMBER_ROLE, AccountReaders
from restorewatch.inventory.clients import iam_client, make_client
from restorewatch.inventory.iam_reader import IamReader, PrincipalPages, Resolution
from restorewatch.inventory.organizations import (
    AccountRcps,
    AccountScps,
    OrganizationsReader,
    OrganizationsScpSource,
)
from restorewatch.inventory.resource_policies import ResourcePolicyReader

__all__ = [
    "DEFAULT_MEMBER_ROLE",
    "AccountRcps",
    "AccountReaders",
    "AccountScps",
    "IamReader",
    "OrganizationsReader",
    "OrganizationsScpSource",
    "PrincipalPages",
    "Resolution",
    "ResourcePolicyReader",
    "iam_client",
    "make_client",
]
