"""crm.push(plan): a plan from crm.plan(...) is sent exactly as planned (and PushPreview's
Push button does that with a real connection)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmframe.core.plan import make_plan
from crmframe.errors import InputError
from crmframe.facade.write.result import PushResult
from crmframe.widgets import PushPreview

from .helpers import api_calls, writable_leads, write_calls

pytestmark = pytest.mark.sandbox

COLUMNS = ["City", "Lead_Status", "Phone"]


def _edits(crm: Any, server: Any, rows: slice, tag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    original = writable_leads(crm, server)[[*COLUMNS, "Modified_Time"]].iloc[rows]
    edited = original.copy()
    ix = edited.index
    edited.loc[ix[:-10], "Lead_Status"] = "Contacted"  # one value on many: a mass update
    edited.loc[ix[-10:], "City"] = [f"{tag} {n}" for n in range(10)]  # PUT
    return edited, original


def _pairs(frame: pd.DataFrame) -> set[tuple[str, str]]:
    return set(zip(frame["id"], frame["route"], strict=True))


def test_push_of_a_plan_sends_exactly_that_plan(crm: Any, server: Any) -> None:
    edited, original = _edits(crm, server, slice(0, 200), "planned")
    plan = crm.plan(edited, original)
    planned = _pairs(pd.DataFrame({
        "id": [i for ids in plan.steps["ids"] for i in ids],
        "route": [r for r, ids in zip(plan.steps["route"], plan.steps["ids"], strict=True)
                  for _ in ids],
    }))
    server.clear_requests()
    result = crm.push(plan, trigger=[])
    assert isinstance(result, PushResult)
    assert result.failed.empty
    assert result.calls == plan.calls == len(api_calls(server))  # 1 conflict check + writes
    assert result.writes == plan.write_calls == len(write_calls(server))
    # The baseline was given when planning: the only read is the conflict check (a 304).
    assert result.reads == 1
    assert _pairs(result.succeeded) == planned
    assert result.plan is plan
    back = crm.read_records("Leads", COLUMNS, ids=list(edited.index), progress=False)
    pd.testing.assert_frame_equal(back.loc[edited.index, COLUMNS], edited[COLUMNS])


def test_push_of_a_plan_dry_run_sends_nothing(crm: Any, server: Any) -> None:
    edited, original = _edits(crm, server, slice(200, 400), "dry")
    plan = crm.plan(edited, original)
    server.clear_requests()
    result = crm.push(plan, dry_run=True)
    assert result.dry_run
    assert write_calls(server) == []
    assert set(result.results["status"]) == {"planned"}


def test_push_of_a_plan_checks_its_arguments(crm: Any, server: Any, tmp_path: Path) -> None:
    edited, original = _edits(crm, server, slice(400, 500), "args")
    plan = crm.plan(edited, original)
    with pytest.raises(InputError, match="as it was made"):
        crm.push(plan, original)
    with pytest.raises(InputError, match="as it was made"):
        crm.push(plan, module="Leads")
    foreign = make_plan(plan.changes, crm.read_fields("Leads"), "Leads")
    with pytest.raises(InputError, match="not made by this connection"):
        crm.push(foreign)
    read_back_plan = crm.plan(edited.drop(columns=["Modified_Time"]))
    with pytest.raises(InputError, match="journal needs a plan made with original"):
        crm.push(read_back_plan, journal=tmp_path / "push.journal")
    assert not (tmp_path / "push.journal").exists()


def test_push_preview_button_pushes_the_plan_with_a_real_crm(crm: Any, server: Any) -> None:
    edited, original = _edits(crm, server, slice(500, 700), "preview")
    plan = crm.plan(edited, original)
    assert not callable(getattr(plan, "push", None))  # so the preview goes through crm.push
    preview = PushPreview(plan, crm=crm, monitor_options={"start": False})
    server.clear_requests()
    preview.button.click()
    result = preview.result
    assert isinstance(result, PushResult)
    assert result.failed.empty
    assert preview.button.disabled
    assert f"0 failed · {result.calls} calls" in preview.message.value
    assert len(write_calls(server)) == plan.write_calls
    back = crm.read_records("Leads", COLUMNS, ids=list(edited.index), progress=False)
    pd.testing.assert_frame_equal(back.loc[edited.index, COLUMNS], edited[COLUMNS])
    preview.button.click()  # disabled: nothing pushed twice
    assert len(write_calls(server)) == plan.write_calls
