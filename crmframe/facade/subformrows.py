"""Subform cells for a bulk read: a subform module's rows, read apart and put back.

Zoho's bulk read exports no subform field (its CSV has no column for an array of rows), so
a bulk-read frame would lack the subform columns a page read has. These are filled from
``GET /crm/{ver}/<subform module>?fields=…`` instead: part 2 §4 of the API notes names that
listing as the rows of a subform, of every parent (UNCONFIRMED against Zoho; the sandbox
emulates it so). Cost per subform field: one field-metadata call for the subform module
(cached per connection) and one call per 200 subform rows of the whole module, whatever
part of the module the bulk read kept (e.g. 100,000 Leads of which a quarter have 2 rows:
50,000 rows, 250 calls; paging the same Leads' 85 fields instead takes 2 passes of 500
pages, 1,000 calls).

When the listing is refused (an error envelope: a Zoho that does not answer it so), the
subform fields are left out as before, named in ``attrs["left_out"]`` with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.errors import ZohoAPIError

if TYPE_CHECKING:
    from crmframe.http.client import ZohoClient

__all__ = ["ROWS_PER_CALL", "cells_by_parent", "fill_subforms", "in_field_order"]

log = logging.getLogger("crmframe.facade")

#: Rows per call of a subform listing (Zoho's page size).
ROWS_PER_CALL = 200


def cells_by_parent(rows: Sequence[Any]) -> dict[str, list[dict[str, Any]]]:
    """Listed subform rows grouped by their parent's id, in listing order.

    >>> cells_by_parent([{"id": "2", "Parent_Id": {"id": "9"}}, {"id": "3"},
    ...                  {"id": "4", "Parent_Id": {"id": "9"}}])
    {'9': [{'id': '2', 'Parent_Id': {'id': '9'}}, {'id': '4', 'Parent_Id': {'id': '9'}}]}
    """
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        parent = row.get("Parent_Id") if isinstance(row, dict) else None
        pid = parent.get("id") if isinstance(parent, dict) else None
        if pid is not None:
            out.setdefault(str(pid), []).append(row)
    return out


def _list_rows(client: ZohoClient, module: str, fields: Sequence[str]) -> tuple[list[Any], int]:
    """Every row of subform module ``module`` (all parents), and the calls it took."""
    rows: list[Any] = []
    page, calls = 1, 0
    while True:
        reply = client.request("GET", module, params={
            "fields": ",".join(fields), "per_page": ROWS_PER_CALL, "page": page})
        calls += 1
        body = reply.body or {}
        data = body.get("data") or []
        rows.extend(data)
        info = body.get("info") or {}
        if not data or not info.get("more_records"):
            return rows, calls
        page += 1


def fill_subforms(
    client: ZohoClient,
    read_fields: Callable[[str], pd.DataFrame],
    frame: pd.DataFrame,
    meta: pd.DataFrame,
    subforms: Sequence[str],
) -> tuple[pd.DataFrame, list[str], int]:
    """``frame`` with a list-of-dict column per subform field, like a page read gives.

    Returns the frame, the fields that could not be filled (left out) and the calls made.
    A parent without rows gets ``[]``, as Zoho lists it.
    """
    left_out: list[str] = []
    calls = 0
    filled: dict[str, list[list[dict[str, Any]]]] = {}
    for name in subforms:
        module = name
        if "lookup_module" in meta.columns and isinstance(meta.at[name, "lookup_module"], str):
            module = str(meta.at[name, "lookup_module"])
        try:
            sub_meta = read_fields(module)
            fields = [f for f in sub_meta.index if f not in ("id", "Parent_Id")][:50]
            rows, used = _list_rows(client, module, fields or ["id"])
        except ZohoAPIError as exc:
            log.warning("%s: the subform rows could not be listed (%s); left out", name,
                        exc)
            left_out.append(name)
            continue
        calls += used
        by_parent = cells_by_parent(rows)
        filled[name] = [by_parent.get(str(pid), []) for pid in frame.index]
    if filled:
        frame = frame.assign(**{name: pd.Series(cells, index=frame.index, dtype=object)
                                for name, cells in filled.items()})
    return frame, left_out, calls


def in_field_order(columns: Sequence[str], names: Sequence[str]) -> list[str]:
    """``columns`` in a page read's order: each field's columns (``X``, ``X.id``,
    ``X.name``...) where the field comes in ``names``; others after, as they were.

    >>> in_field_order(["Owner.id", "Owner.name", "Email", "Rows"], ["Owner", "Rows", "Email"])
    ['Owner.id', 'Owner.name', 'Rows', 'Email']
    """
    by_field: dict[str, list[str]] = {}
    for column in columns:
        by_field.setdefault(column.split(".", 1)[0], []).append(column)
    ordered = [c for name in dict.fromkeys(names) for c in by_field.pop(name, [])]
    return ordered + [c for c in columns if c.split(".", 1)[0] in by_field]
