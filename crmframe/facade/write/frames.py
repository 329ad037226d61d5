"""The analyst's frames as the write path sees them: module, ids, and the fields behind
columns.

Examples
--------
>>> frame = pd.DataFrame({"City": ["Pune"]})
>>> frame.attrs["module"] = "Leads"
>>> module_of(frame, None, None)
'Leads'
>>> base_fields(["id", "Owner.id", "Owner.name", "Phone", "Modified_Time"])
['Owner', 'Phone', 'Modified_Time']
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from crmframe.errors import InputError

__all__ = ["base_fields", "by_id", "frame_ids", "is_blank", "module_of"]

_LOOKUP_PARTS = ("id", "name", "email")


def module_of(edited: pd.DataFrame, original: pd.DataFrame | None, module: str | None) -> str:
    """The module to write to: the argument, else ``edited.attrs["module"]``, else the original's.

    Raises
    ------
    InputError
        When none of them names a module.
    """
    found = module or edited.attrs.get("module")
    if not found and original is not None:
        found = original.attrs.get("module")
    if not found or not isinstance(found, str):
        raise InputError(
            "which module? pass module='Leads' (or read the frame with crm.read_records, "
            "which sets df.attrs['module'])"
        )
    return found


def base_fields(columns: Sequence[Any]) -> list[str]:
    """API names behind frame columns (``Owner.id``/``Owner.name`` → ``Owner``), no ``id``."""
    out: list[str] = []
    for column in columns:
        name = str(column)
        head, _, tail = name.rpartition(".")
        if head and tail in _LOOKUP_PARTS:
            name = head
        if name != "id" and name not in out:
            out.append(name)
    return out


def frame_ids(frame: pd.DataFrame) -> list[str]:
    """The non-missing ids of a frame (``id`` index or column), as strings, in order."""
    if frame.index.name != "id" and "id" in frame.columns:
        values = frame["id"].tolist()
    else:
        values = frame.index.tolist()
    return list(
        dict.fromkeys(str(v) for v in values if v is not None and not pd.isna(v) and str(v))
    )


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by a string ``id`` index (moved from a column when needed)."""
    if frame.index.name != "id" and "id" in frame.columns:
        frame = frame.set_index("id")
    if frame.index.dtype != "string":
        frame = frame.copy()
        frame.index = pd.Index(
            [None if v is None or pd.isna(v) else str(v) for v in frame.index],
            dtype="string", name="id",
        )
    return frame


def is_blank(value: Any) -> bool:
    if isinstance(value, (list, tuple, dict)):
        return False
    return bool(pd.isna(value))
