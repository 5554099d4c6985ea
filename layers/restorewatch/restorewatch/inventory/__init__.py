"""AWS reads: IAM state as authorization-details pages, or a read failure (``ReadError``)."""

from restorewatch.inventory.clients import iam_client, make_client
from restorewatch.inventory.iam_reader import IamReader, PrincipalPages, Resolution

__all__ = ["IamReader", "PrincipalPages", "Resolution", "iam_client", "make_client"]
