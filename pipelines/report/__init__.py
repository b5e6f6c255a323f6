"""Round reports: one offline HTML file per round, plots as inline SVG."""

from pipelines.report.render import render_report, write_report

__all__ = ["render_report", "write_report"]
