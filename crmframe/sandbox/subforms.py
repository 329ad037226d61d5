"""Subform and line-item rows: Zoho's update semantics on a parent record's array.

A subform field's value is the array of its rows; each row carries its own ``id``, the
parent as ``Parent_Id`` ``{"name", "id"}`` and the subform module's fields (part 2 §4).
Writing the array (insert, ``PUT``) follows Zoho:

* a row with an ``id`` keeps that row, its given fields updated (an unknown id, or one
  given twice, is ``INVALID_DATA``);
* a row without ``id`` is added, with a new id (the subform's mandatory fields apply);
* ``{"id": "...", "_delete": null}`` removes that row;
* a stored row the array leaves out is deleted: the array is the full list (``[]`` clears
  it), which is why a client must read, merge, and send every row id back.

``Parent_Id``, ``$``-keys and the subform's computed fields (``Total``) are ignored in a
written row, so a row re-sent as it was read is accepted. A line item's ``Discount`` may
be text, as Zoho's SDK sends it: an amount (``"5.90"``) or a percentage (``"10%"`` of
quantity × list price); it is stored as the amount. A row is checked with the same
:func:`~crmframe.sandbox.validation.check_value` as a record's field; at most 100 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.schema import Module
from crmframe.sandbox.validation import Problem, Resolver, as_id, check_value, invalid, mandatory

__all__ = ["INVENTORY", "MAX_ROWS", "check_rows", "display_name", "with_parent"]

#: Zoho's limit of rows per subform per record.
MAX_ROWS = 100

#: The fields a record's display name comes from, in order (lookups show it as ``name``).
_NAME_FIELDS = ("Account_Name", "Deal_Name", "Subject", "Product_Name", "Name", "Full_Name",
                "Last_Name")


def display_name(values: Mapping[str, Any], rid: str) -> str:
    """How a record is named in lookups to it (``Parent_Id``, ``Account``...).

    >>> display_name({"Subject": "Q-1", "Owner": None}, "1")
    'Q-1'
    >>> display_name({}, "4876876000000100001")
    '4876876000000100001'
    """
    for key in _NAME_FIELDS:
        if isinstance(values.get(key), str):
            return str(values[key])
    return rid


#: Modules whose line items take a text ``Discount`` ("5.90" or "10%").
INVENTORY = frozenset({"Quotes", "Sales_Orders", "Purchase_Orders", "Invoices"})


def _discount(text: str) -> tuple[float, float | None] | None:
    """A line item's text discount: ``(amount, None)`` or ``(0.0, percent)``.

    >>> _discount("5.90"), _discount("10%"), _discount("ten")
    ((5.9, None), (0.0, 10.0), None)
    """
    raw = text.strip()
    try:
        if raw.endswith("%"):
            return 0.0, float(raw[:-1])
        return float(raw), None
    except ValueError:
        return None


def _sub(path: str | None, suffix: str) -> str | None:
    return None if path is None else f"{path}{suffix}"


def check_rows(
    sub: Module,
    api_name: str,
    value: Any,
    old_rows: Any,
    json_path: str | None,
    resolve: Resolver,
    new_id: Callable[[], str],
) -> list[dict[str, Any]] | Problem:
    """The rows to store for a written subform array, or the first :class:`Problem`.

    ``old_rows`` is the stored array (``None`` for a new record); ``new_id`` gives ids to
    added rows. ``Parent_Id`` is set later (:func:`with_parent`), once the parent's id and
    name are known.
    """
    if not isinstance(value, list):
        return invalid(api_name, json_path, "jsonarray")
    if len(value) > MAX_ROWS:
        return invalid(api_name, json_path, None, "maximum rows exceeded",
                       maximum_length=MAX_ROWS)
    stored = {str(r.get("id")): r for r in (old_rows or []) if isinstance(r, Mapping)}
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, row in enumerate(value):
        path = _sub(json_path, f"[{index}]")
        if not isinstance(row, Mapping):
            return invalid(api_name, path, "jsonobject")
        given = row.get("id")
        rid = as_id(given) if given is not None else None
        if given is not None and (rid is None or rid not in stored or rid in seen):
            return Problem("INVALID_DATA", "the id given seems to be invalid",
                           {"api_name": api_name, "id": str(given),
                            **({"json_path": f"{path}.id"} if path else {})})
        if rid is not None:
            seen.add(rid)
            if "_delete" in row:
                continue
            base = dict(stored[rid])
        elif "_delete" in row:
            return mandatory("id", _sub(path, ".id"))
        else:
            base = {name: ([] if sub.kinds[name] is Kind.LIST else None) for name in sub.names}
            base["id"] = new_id()
        percent: float | None = None
        for key, item in row.items():
            if key in ("id", "_delete", "Parent_Id") or key.startswith("$") \
                    or (key in sub.read_only and key in sub.by_name):
                continue
            if key == "Discount" and isinstance(item, str) and sub.parent in INVENTORY:
                # Zoho's SDK types a line item's Discount as text: an amount or "n%"
                parsed = _discount(item)
                if parsed is None:
                    return invalid(key, _sub(path, f".{key}"), "double")
                item, percent = parsed
            checked = check_value(sub, key, item, _sub(path, f".{key}"), resolve)
            if isinstance(checked, Problem):
                return checked
            base[key] = checked
        if percent is not None:
            gross = float(base.get("Quantity") or 0) * float(base.get("List_Price") or 0)
            base["Discount"] = round(gross * percent / 100, 2)
        for name in sub.mandatory:
            if base.get(name) in (None, ""):
                return mandatory(name, _sub(path, f".{name}"))
        out.append(base)
    return out


def with_parent(mod: Module, rid: str, values: dict[str, Any]) -> None:
    """Point every row of ``values``' subform fields at its parent (``Parent_Id``), in place.

    Rows are replaced, never mutated: a stored record's rows may be shared.
    """
    parent: dict[str, str] | None = None
    for name in mod.subforms:
        rows = values.get(name)
        if not rows or not isinstance(rows, list):
            continue  # most records have no rows: no name to work out
        if parent is None:
            parent = {"name": display_name(values, rid), "id": rid}
        # An update that touches neither the rows nor the name keeps them as stored.
        if not all(
                isinstance(row, Mapping) and row.get("Parent_Id") == parent for row in rows):
            values[name] = [{**row, "Parent_Id": dict(parent)} for row in rows
                            if isinstance(row, Mapping)]
