"""JobMonitor inside a real Jupyter kernel: it displays, its thread polls, the kernel stays free."""

from __future__ import annotations

import json

import nbformat
import pytest
from nbclient import NotebookClient

SETUP = '''
from crmframe.core.jobs import JobStatus
from crmframe.facade.jobs import Job
from crmframe.widgets import JobMonitor

JOB_ID = "554023000000506003"
SCRIPT = [JobStatus("mass_update", JOB_ID, s, s, total=50, updated=u, failed=0,
                    not_updated=50 - u) for s, u in
          [("SCHEDULED", 0), ("RUNNING", 30), ("COMPLETED", 50)]]

class FakeCRM:
    calls = 0
    def job(self, job_id, kind, *, module=None):
        FakeCRM.calls += 1
        return SCRIPT[min(FakeCRM.calls, len(SCRIPT)) - 1]

monitor = JobMonitor(FakeCRM(), Job(JOB_ID, module="Accounts"), interval=0)
monitor
'''

CHECK = '''
monitor.thread.join(timeout=60)
panel = monitor.panels[JOB_ID]
print(json.dumps({"alive": monitor.thread.is_alive(), "calls": FakeCRM.calls,
                  "style": panel.progress.bar_style, "value": panel.progress.value,
                  "states": [s.state for s in monitor.jobs[0].history]}))
'''


@pytest.mark.notebook
def test_job_monitor_in_a_kernel() -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import json"), nbformat.v4.new_code_cell(SETUP),
                nbformat.v4.new_code_cell(CHECK)]
    NotebookClient(nb, timeout=120, kernel_name="python3").execute()
    shown = nb.cells[1].outputs
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for out in shown)
    printed = "".join(out.get("text", "") for out in nb.cells[2].outputs)
    assert json.loads(printed) == {"alive": False, "calls": 3, "style": "success",
                                   "value": 50,
                                   "states": ["SCHEDULED", "RUNNING", "COMPLETED"]}
