"""Change sets for the planner tests and the benchmark's standard scenario."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmframe.core.diff import ChangeSet

from .leads import LEAD_STATUSES, lead_ids


def change_set(rows: list[tuple[str, str, object]], module: str = "Leads") -> ChangeSet:
    frame = pd.DataFrame(rows, columns=["id", "field", "new"])
    frame.insert(2, "old", None)
    frame["id"] = frame["id"].astype("string")
    frame["field"] = frame["field"].astype("string")
    return ChangeSet(changes=frame, module=module)


def standard_scenario(seed: int = 0) -> ChangeSet:
    """10,000 edited Leads: Lead_Status set to the same value on 6,000; assorted edits of
    several fields on 4,000 (each with an e-mail or an owner change, which mass update
    cannot carry, and otherwise differing values)."""
    rng = np.random.default_rng(seed)
    ids = lead_ids(10_000)
    rows: list[tuple[str, str, object]] = [(rid, "Lead_Status", "Contacted") for rid in ids[:6000]]
    for k, rid in enumerate(ids[6000:]):
        if k % 2:
            rows.append((rid, "Email", f"lead{k}@corp.example"))
        else:
            rows.append((rid, "Owner", str(4150868000000225000 + int(rng.integers(0, 50)))))
        rows.append((rid, "City", f"City {k}"))
        rows.append((rid, "No_of_Employees", int(rng.integers(1, 10_000))))
        if k % 3 == 0:
            rows.append((rid, "Lead_Status", LEAD_STATUSES[1 + k % 8]))
        if k % 5 == 0:
            rows.append((rid, "Annual_Revenue", round(float(rng.random()) * 1e6, 2)))
    return change_set(rows)
