"""The notebooks in ``notebooks/`` run top to bottom in a real kernel, offline.

01–03 and 05 start an embedded sandbox; 04 replays its committed cassette with no server at all.
Each notebook's printed results are checked, not only the absence of errors. Committed
notebooks carry no outputs, and neither outputs nor cassettes carry a token.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import pytest
from nbclient import NotebookClient

from crmframe.sandbox.server import CREDENTIALS_SEED_ENV

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
CASSETTE = ROOT / "cassettes" / "notebooks" / "04_report.yaml"
#: Notebook 04's second cassette: the data fix it pushes through PushPreview.
FIX_CASSETTE = ROOT / "cassettes" / "notebooks" / "04_fix.yaml"
NAMES = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
#: Fixes the (otherwise random) credentials of the sandboxes the notebooks start.
CREDENTIALS_SEED = 4242
# Taken at import, before any notebook runs, whatever order the tests run in.
COMMITTED_CASSETTE = hashlib.sha256(CASSETTE.read_bytes()).hexdigest()
COMMITTED_FIX_CASSETTE = hashlib.sha256(FIX_CASSETTE.read_bytes()).hexdigest()
# What the sandbox mints: access/refresh tokens and client ids ("1000." + hex/upper-case).
TOKEN_RE = re.compile(r"1000\.[0-9A-Za-z]{6,}")

# Appended to each executed copy: proves the kernel is this test run's Python, reports the
# kernel's pid (checked gone afterwards) and any sandbox thread the notebook left running.
KERNEL_PROBE = """import os, sys, threading
print('kernel prefix:', sys.prefix)
print('kernel pid:', os.getpid())
print('sandbox threads left:', sorted(t.name for t in threading.enumerate()
                                      if t.name.startswith('crmframe-sandbox')))"""


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@dataclass
class Run:
    """One notebook executed in a fresh kernel, and what was around it."""

    nb: nbformat.NotebookNode | None
    error: BaseException | None
    cassette_before: str
    cassette_after: str
    kernel_cleaned: bool


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - a pid reused by another user's process
        return True
    return True


def _execute(name: str) -> Run:
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_PROBE))
    # timeout=None: no limit on a cell's duration (the suite sets no wall-clock limits);
    # any cell error raises CellExecutionError and fails the test. The client owns its
    # kernel and shuts it down (and with it any sandbox the notebook started) even when a
    # cell fails.
    client = NotebookClient(nb, timeout=None, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOKS)}})
    before = _sha(CASSETTE)
    error: BaseException | None = None
    # Sandboxes have random credentials; the kernel's are fixed by this seed so the output
    # scan below knows the live values to look for.
    os.environ[CREDENTIALS_SEED_ENV] = str(CREDENTIALS_SEED)
    try:
        client.execute()
    except Exception as exc:  # reported by every test of this notebook, not only the first
        error = exc
    finally:
        del os.environ[CREDENTIALS_SEED_ENV]
    return Run(nb if error is None else None, error, before, _sha(CASSETTE),
               client.km is None and client.kc is None)


@pytest.fixture(scope="module")
def executed() -> Callable[[str], Run]:
    """Run a notebook once per test module, whichever test asks first; later calls (in any
    order) get the same run, with the cassette's hash taken around that execution."""
    cache: dict[str, Run] = {}

    def get(name: str) -> Run:
        if name not in cache:
            cache[name] = _execute(name)
        run = cache[name]
        if run.error is not None:
            raise AssertionError(f"{name} did not run: {run.error}") from run.error
        return run

    return get


def each_executed_notebook(test: Callable[..., None]) -> Callable[..., None]:
    """Marks of a test that runs once per notebook on its executed copy (slow, sandbox)."""
    for mark in (pytest.mark.parametrize("name", NAMES), pytest.mark.slow,
                 pytest.mark.sandbox, pytest.mark.notebook):
        test = mark(test)
    return test


def _outputs(nb: nbformat.NotebookNode) -> list[dict[str, Any]]:
    return [out for cell in nb.cells if cell.cell_type == "code" for out in cell.outputs]


def _text(nb: nbformat.NotebookNode) -> str:
    """Everything the notebook printed or displayed as text."""
    parts = []
    for out in _outputs(nb):
        if out.get("output_type") == "stream":
            parts.append(out.get("text", ""))
        data = out.get("data", {})
        parts.append(str(data.get("text/plain", "")))
        parts.append(str(data.get("text/html", "")))
    return "\n".join(parts)


def _number(pattern: str, text: str) -> int:
    found = re.search(pattern, text)
    assert found, pattern
    return int(found.group(1).replace(",", ""))


def check_01(nb: nbformat.NotebookNode, text: str) -> None:
    assert _number(r"rows: (\d+)", text) > 2000  # beyond Zoho's 2,000-row page limit
    assert "datetime64[s, UTC]" in text
    assert re.search(r"No_of_Employees\s+Int64", text)
    assert re.search(r"Date_3\s+datetime64\[s\]", text)
    assert re.search(r"index: id string e\.g\. \d{19}\b", text)
    assert _number(r"leads in the Paris view: (\d+)", text) > 0


def check_02(nb: nbformat.NotebookNode, text: str) -> None:
    planned = _number(r"Plan for Leads \(fewest calls\): (\d+) calls", text)
    # The naive ways are priced without a conflict check, so compare the plan's writes with them.
    writes = _number(r"\((\d+) for the steps, (?:\d+) to check for conflicts\)", text)
    naive = _number(r"vs one PUT per record: ([\d,]+) calls", text)
    batches = _number(r"vs PUT batches of 100: ([\d,]+) calls", text)
    assert writes < planned
    assert writes < batches <= naive
    assert "mass_update" in text  # the segment's status went by mass update
    assert "not in the picklist" in text
    assert "not an integer" in text
    # The lead locked during the push (plus any the sandbox seeds locked or unapproved)...
    refused = _number(r"— skipped 2 \(VALIDATION 2\), success \d+, error (\d+) \(", text)
    assert refused >= 1
    assert "RECORD_LOCKED" in text
    # ...go through on retry; the slips are not retried.
    assert f"after retry: 0 failed, {refused} succeeded" in text
    assert "phones as edited: True; statuses as edited: True" in text
    assert "the slip was not sent: True" in text
    # The plan shown as a PushPreview widget, with its cost.
    assert re.search(r"<b>Push plan</b>: \d+ calls, \d+ credits", text)


def check_03(nb: nbformat.NotebookNode, text: str) -> None:
    outputs = _outputs(nb)
    assert any("application/vnd.jupyter.widget-view+json" in out.get("data", {})
               for out in outputs)
    assert sum("image/png" in out.get("data", {}) for out in outputs) >= 2
    # The Paris lead locked before the job (and any the sandbox seeds) is not updated.
    assert _number(r"<Job mass_update \d+ \(Leads\): COMPLETED, Updated \d+, Failed (\d+)",
                   text) >= 1
    assert re.search(r"<Job bulk_write \d+ \(Leads\): COMPLETED", text)
    assert "NOT_UPDATED" in text
    updated = _number(r"bulk write: (\d+) updated", text)
    skipped = _number(r"updated, (\d+) skipped of 2000", text)
    assert updated + skipped == 2000
    assert skipped > 0
    # The result file, row by row, agrees with the job's counts.
    per_row = re.search(r"per row: (\{.*\})", text)
    assert per_row
    assert per_row.group(1) == repr({"updated": updated, "skipped": skipped})


def check_04(nb: nbformat.NotebookNode, text: str) -> None:
    assert "replaying 04_report.yaml" in text
    found = re.search(r"interactions in the cassette: (\d+), replayed: (\d+)", text)
    assert found
    assert int(found.group(1)) == int(found.group(2)) > 0
    # The recorded answer, exactly: the report is reproducible.
    assert "report total: 600 leads, annual revenue 522,285,508.57" in text
    assert any("image/png" in out.get("data", {}) for out in _outputs(nb))
    # The progress bar of the read and the fix's PushPreview, as widgets.
    assert "Leads: " in text
    state = json.dumps(nb.metadata.get("widgets", {}))
    assert "600/600" in state  # the bar reached the end (its last state, kept by nbclient)
    assert re.search(r"<b>Push plan</b>: \d+ calls, \d+ credits", text)
    assert "records by status and code" in state  # the preview after preview.run()
    assert "leads with no source: 44" in text
    assert "fix pushed: 44 written, 0 failed, 2 calls, 6 credits" in text
    fixed = re.search(r"fix interactions in its cassette: (\d+), replayed: (\d+)", text)
    assert fixed
    assert int(fixed.group(1)) == int(fixed.group(2)) > 0
    assert _sha(FIX_CASSETTE) == COMMITTED_FIX_CASSETTE


def check_05(nb: nbformat.NotebookNode, text: str) -> None:
    assert "leads in the sandbox: 8000" in text
    assert "exported: 8000 records by bulk" in text  # cheaper than 80 pages x 2 passes
    assert "duckdb rows: 8000" in text
    synced = re.search(r"sync: (\d+) changed, (\d+) new, (\d+) deleted in (\d+) calls", text)
    assert synced
    changed, new, deleted, calls = map(int, synced.groups())
    assert changed == 50
    assert new == 5
    assert 1 <= deleted <= 8  # the sandbox seeds a few locked leads, which refuse deletion
    assert calls <= 6
    assert "mirror equals a fresh read: True" in text
    # 4 when the previous sync's cursor was within its own second: its records are re-read
    quiet = re.search(r"unchanged sync: (\d+) calls, unchanged=True", text)
    assert quiet
    assert int(quiet.group(1)) in (3, 4)
    assert any("image/png" in out.get("data", {}) for out in _outputs(nb))


def check_06(nb: nbformat.NotebookNode, text: str) -> None:
    outputs = _outputs(nb)
    widgets = [out for out in outputs
               if "application/vnd.jupyter.widget-view+json" in out.get("data", {})]
    assert len(widgets) >= 3  # two progress bars (two batches of fields), the grid
    assert ("<EditGrid Leads 2,000 rows x 12 columns: 3 cells changed, 1 added, 1 deleted, "
            "1 problem>") in text
    assert "edited: 2000 rows; the new one: new-1" in text  # one added, one deleted
    assert "malformed email" in text
    assert re.search(r"skipped\s+CONFLICT\s+1", text)
    assert re.search(r"skipped\s+VALIDATION\s+1", text)
    assert re.search(r"success\s+SUCCESS\s+3", text)  # the update, the insert, the delete
    assert "the colleague's change kept: True" in text
    assert "our valid edit in Zoho: True" in text
    assert "the new lead in Zoho: True" in text
    assert "the deleted lead gone: True" in text


CHECKS: dict[str, Callable[[nbformat.NotebookNode, str], None]] = {
    "01_read_records.ipynb": check_01,
    "02_edit_and_push.ipynb": check_02,
    "03_monitor_jobs.ipynb": check_03,
    "04_reproducible_report.ipynb": check_04,
    "05_big_modules.ipynb": check_05,
    "06_edit_in_a_grid.ipynb": check_06,
}


def test_the_four_notebooks_are_there() -> None:
    assert set(CHECKS) <= set(NAMES)


@each_executed_notebook
def test_notebook_runs_top_to_bottom(name: str, executed: Callable[[str], Run]) -> None:
    run = executed(name)
    assert run.nb is not None
    nb = run.nb
    text = _text(nb)
    assert f"kernel prefix: {sys.prefix}" in text
    assert not [out for out in _outputs(nb) if out.get("output_type") == "error"]
    assert name in CHECKS, f"add a check of {name}'s results to CHECKS"
    CHECKS[name](nb, text)
    # Replaying never rewrites the committed cassette.
    assert run.cassette_after == run.cassette_before == COMMITTED_CASSETTE


@each_executed_notebook
def test_notebook_cleans_up(name: str, executed: Callable[[str], Run]) -> None:
    run = executed(name)
    assert run.nb is not None
    text = _text(run.nb)
    # The notebook stops the sandbox it started...
    assert "sandbox threads left: []" in text
    # ...and the kernel is shut down once it has run.
    assert run.kernel_cleaned
    assert not _alive(_number(r"kernel pid: (\d+)", text))


@pytest.fixture(scope="module")
def sandbox_secrets() -> list[str]:
    """The client id, secret and refresh token the notebooks' sandboxes use (their kernels
    run with the credentials seed set)."""
    from crmframe.sandbox import start

    with start(records=10, credentials_seed=CREDENTIALS_SEED) as server:
        creds = server.credentials
        return [creds["client_id"], creds["client_secret"], creds["refresh_token"]]


@each_executed_notebook
def test_notebook_outputs_hold_no_secret(
    name: str, executed: Callable[[str], Run], sandbox_secrets: list[str]
) -> None:
    run = executed(name)
    assert run.nb is not None
    outputs = json.dumps(_outputs(run.nb))
    assert not TOKEN_RE.search(outputs)
    for secret in sandbox_secrets:
        assert secret not in outputs


@pytest.mark.sandbox
@pytest.mark.parametrize("cassette", [CASSETTE, FIX_CASSETTE], ids=lambda p: p.name)
def test_cassette_holds_no_secret(sandbox_secrets: list[str], cassette: Path) -> None:
    text = cassette.read_text(encoding="utf-8")
    if cassette == CASSETTE:
        assert "/oauth/v2/token" in text  # the token exchange was recorded...
        assert "client_secret=scrubbed" in text  # ...scrubbed
    assert not TOKEN_RE.search(text)
    assert "Zoho-oauthtoken" not in text
    for secret in sandbox_secrets:
        assert secret not in text


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_stripped(name: str) -> None:
    nb = json.loads((NOTEBOOKS / name).read_text(encoding="utf-8"))
    code = [cell for cell in nb["cells"] if cell["cell_type"] == "code"]
    assert code
    assert all(cell["outputs"] == [] for cell in code)
    assert all(cell["execution_count"] is None for cell in code)
    assert "widgets" not in nb["metadata"]
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_strip_tool_finds_nothing_to_strip() -> None:
    done = subprocess.run([sys.executable, str(ROOT / "tools" / "strip_notebooks.py"), "--check"],
                          capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout == ""


def test_strip_tool_strips(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("print(1)")
    cell.outputs = [nbformat.v4.new_output("stream", text="1\n")]
    cell.execution_count = 3
    nb.cells = [cell]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    path = tmp_path / "x.ipynb"
    nbformat.write(nb, path)
    tool = [sys.executable, str(ROOT / "tools" / "strip_notebooks.py")]
    check = subprocess.run([*tool, "--check", str(path)], capture_output=True, text=True,
                           check=False)
    assert check.returncode == 1
    subprocess.run([*tool, str(path)], capture_output=True, check=True)
    stripped = json.loads(path.read_text(encoding="utf-8"))
    assert stripped["cells"][0]["outputs"] == []
    assert stripped["cells"][0]["execution_count"] is None
    assert "widgets" not in stripped["metadata"]
