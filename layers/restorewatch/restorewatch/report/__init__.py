"""The HTML status report: render (pure) and where the sweep writes it (S3)."""

from restorewatch.report.html import render_report
from restorewatch.report.sink import ReportSink, ReportWriteError, S3ReportSink

__all__ = ["ReportSink", "ReportWriteError", "S3ReportSink", "render_report"]
