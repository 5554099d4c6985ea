"""AWS reads: IAM state as authorization-details pages, or a read failure (``ReadError``)."""

from restorewatch.inventory.accounts import DEFAULT_MEMBER_ROLE, AccountReaders
from restorewatch.inventory.clients import iam_client, make_client
from restorewatch.inventory.iam_reader import IamReader, PrincipalPages, Resolution
from restorewatch.inventory.organizations import AccountScps, OrganizationsReader, OrganizationsScpSource

__all__ = [
    "DEFAULT_MEMBER_ROLE",
    "AccountReaders",
    "AccountScps",
    "IamReader",
    "OrganizationsReader",
    "OrganizationsScpSource",
    "PrincipalPages",
    "Resolution",
    "iam_client",
    "make_client",
]
