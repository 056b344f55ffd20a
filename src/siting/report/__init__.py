"""Reports planners read: report.html and report.md for a run, comparisons, budget sweeps.

Everything here works from result folders (the files ``siting run`` writes), never from a
solver's internals, so that any folder, written by this process, another machine or a batch
runner, gives the same report:

- :func:`write_report` adds ``report.html``, ``report.md`` and ``charts/*.png`` to a folder;
- :func:`siting.report.compare.write_comparison` sets result folders side by side;
- :mod:`siting.report.sweep` solves a scenario over budgets and walk thresholds and draws the
  coverage-versus-budget curve.
"""

from __future__ import annotations

from pathlib import Path

from siting.report.content import RunReport, run_report
from siting.report.data import ResultData, load_result
from siting.report.figures import ReportSettings
from siting.report.html import render_html
from siting.report.markdown import CHARTS, render_markdown

__all__ = [
    "ReportSettings",
    "ResultData",
    "RunReport",
    "load_result",
    "render_html",
    "render_markdown",
    "run_report",
    "write_report",
]


def write_report(folder: str | Path, *, language: str | None = None) -> list[Path]:
    """Write ``report.html``, ``report.md`` and ``charts/*.png`` into a result folder.

    Parameters
    ----------
    folder
        A folder written by ``siting run`` (``summary.json`` and the CSV files).
    language
        ``"zh"`` or ``"en"``; default: the scenario's ``[report] language``.

    Returns
    -------
    list of Path
        The files written.
    """
    folder = Path(folder)
    data = load_result(folder)
    report = run_report(data, ReportSettings.from_data(data, language=language))
    written = []
    charts = folder / CHARTS
    charts.mkdir(exist_ok=True)
    for chart in report.charts:
        path = charts / f"{chart.name}.png"
        path.write_bytes(chart.png)
        written.append(path)
    for name, body in (
        ("report.html", render_html(report)),
        ("report.md", render_markdown(report)),
    ):
        path = folder / name
        path.write_text(body, encoding="utf-8")
        written.append(path)
    return written
