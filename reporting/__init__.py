"""The executive report: one self-contained HTML page built from the published marts only."""

from pathlib import Path

REPORT_FILE = "platform_kpis_report.html"


def report_path(home: str | Path) -> Path:
    """Where the report is written; here, not in ``render``, so finding it costs no import of
    the chart libraries."""
    return Path(home) / "reports" / REPORT_FILE
