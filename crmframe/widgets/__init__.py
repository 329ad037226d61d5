"""Notebook widgets (ipywidgets): watch jobs live, preview a push, edit a module in a grid.

* :class:`JobMonitor` shows, for each job, its status chart, a progress bar, its state and
  counts, refreshed by a background thread while the notebook stays usable. It only
  consumes :class:`~crmframe.core.jobs.JobStatus` values from ``crm.job(...)``.
* :class:`PushPreview` shows a dry-run plan (routes, calls, credits, per-field counts) with
  a *Push* button; after the push, records by status and code and a :class:`JobMonitor`
  for its jobs.
* :class:`EditGrid` is an editable grid over a frame read with crmframe, with the live
  diff, the validation problems and the plan beside it, and the same Push.

Each shows a job through one :class:`JobPanel`. ipywidgets (and anywidget for the grid)
are optional dependencies (``pip install "crmframe[notebook]"``), imported when a widget is
built, so ``import crmframe`` never needs them.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> monitor = JobMonitor(None, JobStatus("mass_update", "554023000000506003", "COMPLETED",
...     "COMPLETED", total=50, updated=48, failed=2, not_updated=0, module="Leads"),
...     start=False)
>>> monitor.panels["554023000000506003"].progress.bar_style  # 2 records not written
'warning'
"""

from __future__ import annotations

from crmframe.widgets.grid import EditGrid
from crmframe.widgets.jobs import JobMonitor, JobPanel
from crmframe.widgets.push import PushPreview

__all__ = ["EditGrid", "JobMonitor", "JobPanel", "PushPreview"]
