"""The notebooks in JupyterLab 4, in headless Chromium: widgets render and update for real.

What nbclient cannot see is checked here from the page's DOM: the JobMonitor's panels reach
COMPLETED with a chart and no horizontal scrollbar, the EditGrid shows rows (fetched a
window at a time), an edit typed into a grid cell appears in the diff panel, a value that
does not fit is flagged while typed, a row added and a row deleted in the grid are
inserted and deleted, and Push shows the results summary. Screenshots go to
``test-output/browser/``.
"""

from __future__ import annotations

import os
import re
from typing import Any

import pytest

from .conftest import SCREENSHOTS, Lab

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.sandbox]

#: Milliseconds a DOM condition may take: generous for a loaded 2-core machine. It bounds
#: a wait for the page, it is not a limit on the test's duration.
WAIT_MS = int(os.environ.get("CRMFRAME_BROWSER_WAIT_MS", "180000"))


def _open(context: Any, lab: Lab, name: str) -> Any:
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto(lab.notebook_url(name))
    # The kernel is up once its connection is and it is idle (commands sent before are
    # dropped). On a slow start JupyterLab may first ask which kernel to use: the
    # notebook's own (python3) is the one it offers. Tabs of earlier tests stay open,
    # hidden: only this notebook's panel counts.
    # The app is exposed once JupyterLab has started: until then, not ready (not an error).
    ready = (f"{{ if (!window.jupyterapp) return false; const p = {_PANEL};"
             " const k = p && p.sessionContext.session?.kernel;"
             " return !!k && k.connectionStatus === 'connected' && k.status === 'idle'"
             " && p.context.path === name && p.content.widgets.length > 0; }")
    page.wait_for_function(
        f"name => document.querySelector('.jp-Dialog') !== null || (() => {ready})()",
        arg=name)
    dialog = page.locator(".jp-Dialog")
    if dialog.count():
        dialog.locator("button", has_text="Select").click()
    page.wait_for_function(f"name => (() => {ready})()", arg=name)
    return page


#: The open notebook's panel and its cells' widget, read through the exposed app.
_PANEL = ("Array.from(window.jupyterapp.shell.widgets('main'))"
          ".find(w => w.content && w.content.widgets && w.sessionContext"
          " && w === window.jupyterapp.shell.currentWidget)")
_NOTEBOOK = f"{_PANEL}.content"


def _count(page: Any) -> int:
    return int(page.evaluate(f"() => {_NOTEBOOK}.widgets.length"))


def _source(page: Any, index: int) -> str:
    source = page.evaluate(f"i => {_NOTEBOOK}.widgets[i].model.toJSON().source", index)
    return "".join(source) if isinstance(source, list) else str(source)


def _run(page: Any, command: str, first: int, last: int, active: int = 0) -> None:
    """Run cells with a JupyterLab notebook command, then wait for first..last to finish.

    ``command``: ``run-all-cells``, ``run-all-above`` or ``run-all-below`` (of the cell at
    ``active``). A cell is finished when it has an execution count; none may have raised.
    """
    page.evaluate(f"i => {{ {_NOTEBOOK}.activeCellIndex = i; }}", active)
    page.evaluate("c => window.jupyterapp.commands.execute('notebook:' + c)", command)
    done = (f"([a, b]) => {_NOTEBOOK}.widgets.slice(a, b + 1).every("
            "c => c.model.type !== 'code' || c.model.executionCount !== null)")
    try:
        page.wait_for_function(done, arg=[first, last])
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"failed_cells_{first}_{last}.png"))
        raise
    errors = page.evaluate(
        f"([a, b]) => {_NOTEBOOK}.widgets.slice(a, b + 1).flatMap(c => c.model.type === 'code'"
        " ? c.model.outputs.toJSON().filter(o => o.output_type === 'error')"
        ".map(o => o.ename + ': ' + o.evalue) : [])", [first, last])
    assert errors == [], errors


def _wait(page: Any, script: str, what: str) -> None:
    """Wait for a DOM condition; on a timeout, a screenshot of the page says why."""
    try:
        page.wait_for_function(script)
    except Exception:
        page.screenshot(path=str(SCREENSHOTS / f"failed_{what}.png"), full_page=True)
        raise


def _no_horizontal_scrollbar(page: Any, selector: str) -> None:
    overflowing = page.eval_on_selector_all(
        selector, "els => els.filter(e => e.scrollWidth > e.clientWidth + 1).length")
    assert overflowing == 0, f"{overflowing} {selector} overflow sideways"


def test_job_monitor_reaches_completed(browser_context: Any, lab: Lab) -> None:
    page = _open(browser_context, lab, "03_monitor_jobs.ipynb")
    _run(page, "run-all-cells", 0, _count(page) - 1)
    states = page.locator(".crmframe-job-state")
    _wait(page, "() => [...document.querySelectorAll('.crmframe-job-state')]"
                ".filter(e => e.dataset.state === 'COMPLETED').length === 2", "monitor")
    assert states.count() == 2
    # Each panel drew its chart (no broken image) and its progress bar is full.
    charts = page.eval_on_selector_all(
        ".crmframe-job-panel img",
        "imgs => imgs.map(i => [getComputedStyle(i).display, i.naturalWidth])")
    assert len(charts) == 2
    assert all(display != "none" and width > 0 for display, width in charts)
    _no_horizontal_scrollbar(page, ".crmframe-job-panel")
    _no_horizontal_scrollbar(page, ".crmframe-job-monitor")
    # tqdm's widget bars were drawn for the read.
    assert page.locator(".jp-OutputArea .widget-hprogress").count() >= 1
    page.locator(".crmframe-job-monitor").first.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "03_job_monitor.png"), full_page=False)
    page.close()


def test_edit_grid_edit_add_delete_push(browser_context: Any, lab: Lab) -> None:
    page = _open(browser_context, lab, "06_edit_in_a_grid.ipynb")
    push_cell = next(i for i in range(_count(page)) if "grid.push(" in _source(page, i))
    # Up to the colleague's edit; Push is ours to click.
    _run(page, "run-all-above", 0, push_cell - 1, active=push_cell)

    grid = page.locator(".crmframe-edit-grid").first
    rows = grid.locator(".cfg-row")
    # The rows in view arrive from the kernel a window at a time: wait for their values.
    _wait(page, "() => document.querySelectorAll('.crmframe-grid .cfg-row').length > 10 && "
                "document.querySelectorAll('.crmframe-grid .cfg-row .cfg-loading').length"
                " === 0", "grid_rows")
    assert rows.count() < 200  # virtual: only the rows in view are in the DOM
    assert "2,000 rows + 1 new · 1 marked for deletion" in grid.locator(
        ".cfg-status").inner_text()
    diff = grid.locator(".crmframe-grid-diff")
    # The edits, the new row and the deletion made from code.
    assert diff.get_attribute("data-changes") == "3"
    assert diff.get_attribute("data-added") == "1"
    assert diff.get_attribute("data-deleted") == "1"
    assert grid.locator(".cfg-cell.cfg-edited").count() >= 2
    assert grid.locator(".cfg-cell.cfg-invalid").count() >= 1  # the malformed e-mail
    assert grid.locator(".cfg-row.cfg-deleted").count() == 1  # row 9, in view

    header = [c.strip() for c in grid.locator(".cfg-header .cfg-cell").all_inner_texts()]
    last_name = header.index("Last_Name") - 1  # the first header cell is the id
    phone = header.index("Phone") - 1
    employees = header.index("No_of_Employees") - 1
    status = header.index("Lead_Status") - 1

    def cell(row: int, col: int) -> Any:
        return grid.locator(f".cfg-row[data-row='{row}'] .cfg-cell[data-col='{col}']")

    # A text edit: typed, Enter, then in the diff panel.
    cell(5, phone).click()
    editor = grid.locator("input.cfg-editor")
    editor.fill("+1 555 0199")
    editor.press("Enter")
    _wait(page, "() => document.querySelector('.crmframe-grid-diff').dataset.changes === '4'",
          "typed_edit")
    assert "+1 555 0199" in diff.inner_text()
    assert "cfg-edited" in (cell(5, phone).get_attribute("class") or "")

    # A value that does not fit is flagged while typed and not taken.
    cell(6, employees).click()
    editor = grid.locator("input.cfg-editor")
    editor.type("about fifty")
    assert "cfg-bad" in (editor.get_attribute("class") or "")
    assert "not a whole number" in grid.locator(".cfg-status").inner_text()
    editor.press("Enter")
    assert grid.locator("input.cfg-editor").count() == 0
    assert diff.get_attribute("data-changes") == "4"

    # A picklist edits through its allowed values.
    cell(7, status).click()
    select = grid.locator("select.cfg-editor")
    options = select.locator("option").all_inner_texts()
    assert "Junk Lead" in options
    assert "-None-" not in options
    select.select_option("Junk Lead")
    _wait(page, "() => document.querySelector('.crmframe-grid-diff').dataset.changes === '5'",
          "picklist_edit")

    # Delete a row: its ✕, then the row is struck through and listed in the panel.
    grid.locator(".cfg-row[data-row='8'] .cfg-del").click()
    _wait(page, "() => document.querySelector('.crmframe-grid-diff').dataset.deleted === '2'",
          "delete_row")
    assert "cfg-deleted" in (grid.locator(".cfg-row[data-row='8']").get_attribute("class")
                             or "")
    assert "2 records to delete in Zoho" in diff.inner_text()

    # Add a row: at the bottom, its mandatory Last_Name missing until typed.
    grid.locator("button.cfg-add").click()
    _wait(page, "() => document.querySelector('.crmframe-grid-diff').dataset.added === '2'",
          "add_row")
    new_row = 2001  # after the 2,000 read and the one added from code
    _wait(page, f"() => document.querySelector(\".cfg-row[data-row='{new_row}']\") !== null",
          "new_row_drawn")
    assert grid.locator(f".cfg-row[data-row='{new_row}'] .cfg-label").inner_text() == "new-2"
    _wait(page, "() => document.querySelector('.crmframe-grid-problems').dataset.problems"
                " === '2'", "new_row_problem")
    assert "mandatory field missing" in grid.locator(".crmframe-grid-problems").inner_text()
    push = grid.locator("button", has_text="Push")
    assert push.is_disabled()  # a new row with a problem is not pushed
    cell(new_row, last_name).click()
    editor = grid.locator("input.cfg-editor")
    editor.fill("Okafor")
    editor.press("Enter")
    _wait(page, "() => document.querySelector('.crmframe-grid-problems').dataset.problems"
                " === '1'", "new_row_fixed")
    assert "2 new records to insert" in diff.inner_text()
    # The panel's parts arrive one by one: the plan follows the problems.
    _wait(page, "() => document.querySelector('.crmframe-grid-plan').innerText"
                ".includes('insert')", "plan_with_inserts")
    plan = grid.locator(".crmframe-grid-plan")
    assert re.search(r"Plan: \d+ calls?, \d+ credits?", plan.inner_text())
    assert re.search(r"insert\s+1\s+2\s", plan.inner_text())  # one POST, two records
    assert re.search(r"delete\s+1\s+2\s", plan.inner_text())

    # Deletions are confirmed before Push.
    assert push.is_disabled()
    grid.locator(".crmframe-grid-panel input[type='checkbox']").check()
    _wait(page, "() => ![...document.querySelectorAll('.crmframe-grid-panel button')]"
                ".find(b => b.textContent.includes('Push')).disabled", "confirmed")
    grid.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "06_edit_grid.png"), full_page=False)
    _no_horizontal_scrollbar(page, ".crmframe-grid-panel")

    # Push: through crm.push, the colleague's record a conflict, the slip a VALIDATION row,
    # the new rows inserted and the marked rows deleted.
    push.click()
    summary = grid.locator(".crmframe-grid-results .crmframe-push-summary")
    summary.wait_for()
    text = summary.inner_text()
    assert "CONFLICT" in text
    assert "VALIDATION" in text
    # Three updates (one from code, two typed), two inserts, two deletes.
    assert re.search(r"success\s+SUCCESS\s+7", text)
    assert push.is_disabled()
    # The new rows show the ids Zoho gave them; the grid takes no more edits.
    _wait(page, f"() => /^\\d{{18,19}}$/.test(document.querySelector("
                f"\".cfg-row[data-row='{new_row}'] .cfg-label\").textContent)", "new_ids")
    assert grid.locator("button.cfg-add").is_disabled()
    grid.locator(".crmframe-grid-results").scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "06_edit_grid_pushed.png"), full_page=False)

    # The notebook's own push cell finds the grid pushed; the read-back agrees.
    _run(page, "run-all-below", push_cell, _count(page) - 1, active=push_cell)
    printed = page.locator(".jp-OutputArea-output").all_inner_texts()
    for line in ("the colleague's change kept: True", "our valid edit in Zoho: True",
                 "the new lead in Zoho: True", "the deleted lead gone: True"):
        assert any(line in t for t in printed), line
    page.close()


def test_demo_report_renders(browser_context: Any, tmp_path: Any) -> None:
    import contextlib
    import io

    import crmframe.demo as demo

    out = tmp_path / "demo"
    with contextlib.redirect_stdout(io.StringIO()):
        assert demo.main(["--records", "1000", "--out", str(out), "--quiet"]) in (0, 1)
    page = browser_context.new_page()
    page.set_default_timeout(WAIT_MS)
    page.goto((out / "report.html").as_uri())
    page.wait_for_selector(".figures .figure")
    assert page.locator(".figure[data-label='cells edited']").count() == 1
    charts = page.eval_on_selector_all("img.chart", "imgs => imgs.map(i => i.naturalWidth)")
    assert len(charts) >= 3
    assert all(width > 0 for width in charts)  # every chart found and drawn
    assert page.locator("table.crmframe-table caption").count() >= 5
    page.screenshot(path=str(SCREENSHOTS / "demo_report.png"), full_page=True)
    page.close()
