"""Design-review reports: one self-contained HTML file of runs, batches and studies.

* :func:`build_report` — a report of run, batch and study directories (Jinja2
  templates, figures embedded as PNG, a manifest that reproduces every source);
* :func:`notebook_report` — a notebook executed with parameters (papermill) and
  exported to one HTML file (nbconvert).

::

    from wfsim.report import build_report
    build_report(["results/run", "results/batch"], "review.html", title="Placement review")
"""

from __future__ import annotations

from wfsim.report.build import GENERATOR, ReportError, build_report, check_output, source_kind
from wfsim.report.notebook import notebook_report, parse_parameters

__all__ = ["GENERATOR", "ReportError", "build_report", "check_output", "notebook_report", "parse_parameters",
           "source_kind"]
