"""Where the scheduled sweep writes the status report: an S3 object (template parameter ReportBucket).

The object is overwritten by every sweep, so the bucket always holds a current page to open. It is
served as ``text/html`` with ``no-cache``, so a browser never shows yesterday's page.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Protocol

from restorewatch.errors import RestoreWatchError

from .html import render_report

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime

    from types_boto3_s3 import S3Client

    from restorewatch.compliance import PrincipalCheck

__all__ = ["ReportSink", "ReportWriteError", "S3ReportSink"]

logger = logging.getLogger(__name__)


class ReportWriteError(RestoreWatchError):
    def __init__(self, where: str, code: str, message: str) -> None:
        super().__init__(f"writing the report to {where} failed: {code}: {message}")
        self.code = code


class ReportSink(Protocol):
    def write(self, checks: Sequence[PrincipalCheck], *, generated_at: datetime, account: str | None) -> str:
        """Render and store the report; return where it is. Raise ``ReportWriteError``."""
        ...


class S3ReportSink:
    def __init__(self, bucket: str, *, prefix: str = "restorewatch/", client: S3Client | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self._client = client

    @property
    def client(self) -> S3Client:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def key(self, account: str | None) -> str:
        # one page per account when an organization's accounts are swept one by one
        return f"{self.prefix}report{'-' + account if account else ''}.html"

    def write(self, checks: Sequence[PrincipalCheck], *, generated_at: datetime, account: str | None) -> str:
        from botocore.exceptions import BotoCoreError, ClientError

        key = self.key(account)
        where = f"s3://{self.bucket}/{key}"
        page = render_report(checks, generated_at=generated_at, source="written by the scheduled sweep")
        try:
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=page.encode("utf-8"),
                ContentType="text/html; charset=utf-8",
                CacheControl="no-cache",
            )
        except ClientError as error:
            details = error.response.get("Error", {})
            raise ReportWriteError(where, str(details.get("Code")), str(details.get("Message"))) from error
        except BotoCoreError as error:
            raise ReportWriteError(where, type(error).__name__, str(error)) from error
        logger.info("status report written to %s (%d principals)", where, len(checks))
        return where
