"""Per-record checks of written values against the field metadata, and derived fields.

Every check returns Zoho's ``INVALID_DATA``/``MANDATORY_NOT_FOUND`` item; nothing here
touches storage. Choices where Zoho's docs are silent (also in ``sandbox/README.md``):

* ``$``-keys are ignored on write (they are what a GET returned); other read-only fields
  (``Created_Time``, formulas, autonumbers, ``Full_Name``...) are refused with
  ``INVALID_DATA`` so a client that sends them learns it.
* unknown field API names are refused with ``INVALID_DATA`` (the v8 207 example's message).
* integers must be JSON integers (an integral float such as ``5.0`` is accepted), text
  fields take only strings, datetimes must be ``yyyy-MM-ddTHH:mm:ss±HH:mm`` exactly.
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from crmframe.core.fieldtypes import DATE_RE, DATETIME_RE, EMAIL_RE, Kind
from crmframe.sandbox.schema import LAYOUTS, USERS, Module

__all__ = ["Problem", "Resolver", "as_id", "check_value", "invalid", "mandatory", "recompute"]

INT_MIN, INT_MAX = -(2**31), 2**31 - 1

#: Finds the display name of a record in another module (``None`` when it does not exist).
Resolver = Callable[[str, str], "str | None"]

_USERS_BY_ID = {u["id"]: u for u in USERS}


@dataclass(frozen=True)
class Problem:
    """A per-record error: Zoho ``code``, ``message`` and ``details``."""

    code: str
    message: str
    details: dict[str, Any]

    def to_json(self) -> dict[str, Any]:
        """The ``data[]`` item."""
        return {"code": self.code, "details": self.details, "message": self.message,
                "status": "error"}


def _where(api_name: str, json_path: str | None) -> dict[str, Any]:
    d: dict[str, Any] = {"api_name": api_name}
    if json_path is not None:
        d["json_path"] = json_path
    return d


def invalid(api_name: str, json_path: str | None, expected: str | None,
            message: str = "invalid data", **more: Any) -> Problem:
    """An ``INVALID_DATA`` problem about one field."""
    details: dict[str, Any] = {}
    if expected is not None:
        details["expected_data_type"] = expected
    details.update(_where(api_name, json_path))
    details.update(more)
    return Problem("INVALID_DATA", message, details)


def mandatory(api_name: str, json_path: str | None) -> Problem:
    """A ``MANDATORY_NOT_FOUND`` problem."""
    return Problem("MANDATORY_NOT_FOUND", "required field not found", _where(api_name, json_path))


def _valid_date(text: str) -> bool:
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _valid_datetime(text: str) -> bool:
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def as_id(value: Any) -> str | None:
    """A record id as given: a string, or a JSON number (Zoho's SDKs send ids as numbers,
    ``Record.set_id`` takes an int, so Zoho accepts both); anything else is no id.

    >>> as_id(4876876000000012345), as_id("4876876000000012345"), as_id(True)
    ('4876876000000012345', '4876876000000012345', None)
    """
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return str(value)
    return None


def _lookup_id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        return as_id(value.get("id"))
    return as_id(value)


def check_value(
    module: Module,
    api_name: str,
    value: Any,
    json_path: str | None,
    resolve: Resolver,
) -> Any:
    """Check one written value; return the value to store, or a :class:`Problem`.

    ``json_path`` is ``None`` on v2/v2.1, whose error details carry no paths.
    """
    meta = module.by_name.get(api_name)
    if meta is None:
        return invalid(api_name, json_path, None, "the field api name given seems to be invalid")
    if api_name in module.read_only:
        return invalid(api_name, json_path, None, "the field is read only")
    dt = str(meta["data_type"])
    kind = module.kinds[api_name]
    if value is None:
        if api_name in module.mandatory:
            return mandatory(api_name, json_path)
        return [] if kind is Kind.LIST else None
    expected = "jsonarray" if api_name == "Tag" else dt
    if kind is Kind.TEXT:
        if not isinstance(value, str):
            return invalid(api_name, json_path, expected)
        if value == "" and api_name in module.mandatory:
            return mandatory(api_name, json_path)
        limit = module.lengths.get(api_name)
        if limit is not None and len(value) > limit:
            return invalid(api_name, json_path, None, maximum_length=limit)
        if dt == "email" and value and not EMAIL_RE.match(value):
            return invalid(api_name, json_path, expected)
        if dt == "picklist":
            if value == "-None-" or value == "":
                return None
            if value not in module.picklists.get(api_name, frozenset()):
                return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.INTEGER:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            return invalid(api_name, json_path, expected)
        if not INT_MIN <= value <= INT_MAX:
            return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return invalid(api_name, json_path, expected)
        if not math.isfinite(value):
            return invalid(api_name, json_path, expected)
        places = meta.get("decimal_place")
        return round(float(value), int(places)) if places else float(value)
    if kind is Kind.BOOLEAN:
        if not isinstance(value, bool):
            return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.DATE:
        if not isinstance(value, str) or not DATE_RE.match(value) or not _valid_date(value):
            return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.DATETIME:
        if (not isinstance(value, str) or not DATETIME_RE.match(value)
                or not _valid_datetime(value)):
            return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.ID:
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.lstrip("-").isdigit() or len(value) > 19:
            return invalid(api_name, json_path, expected)
        return value
    if kind is Kind.LOOKUP:
        rid = _lookup_id(value)
        if rid is None:
            return invalid(api_name, json_path, expected)
        if dt == "ownerlookup":
            user = _USERS_BY_ID.get(rid)
            if user is None:
                return invalid(api_name, json_path, expected, id=rid)
            return dict(user)
        if dt == "layout":
            layout = LAYOUTS[module.api_name]
            if rid != layout["id"]:
                return invalid(api_name, json_path, expected, id=rid)
            return dict(layout)
        target = module.lookups.get(api_name)
        name = resolve(target, rid) if target else None
        if name is None:
            return invalid(api_name, json_path, expected, id=rid)
        return {"name": name, "id": rid}
    if kind is Kind.LIST:
        if not isinstance(value, list):
            return invalid(api_name, json_path, expected)
        if api_name == "Tag":
            tags = []
            for item in value:
                # tag objects only (v8 record.json Record.Tag; the SDK's Record.set_tag)
                name = item.get("name") if isinstance(item, Mapping) else None
                if not isinstance(name, str) or not name:
                    return invalid(api_name, json_path, expected)
                tag_id = f"48768760000{zlib.crc32(name.encode()) % 10**8:08d}"
                tags.append({"name": name, "id": tag_id})
            return tags
        allowed = module.picklists.get(api_name, frozenset())
        for item in value:
            if not isinstance(item, str) or (allowed and item not in allowed):
                return invalid(api_name, json_path, expected)
        return list(dict.fromkeys(value))
    return value


def recompute(module: str, values: dict[str, Any]) -> None:
    """Refresh the computed fields (``Full_Name``, formulas) of ``values`` in place."""
    if module in ("Leads", "Contacts"):
        first, last = values.get("First_Name"), values.get("Last_Name")
        values["Full_Name"] = " ".join(p for p in (first, last) if p) or None
    if module == "Leads":
        rev, emp = values.get("Annual_Revenue"), values.get("No_of_Employees")
        values["Revenue_per_Employee"] = round(rev / emp, 2) if rev is not None and emp else None
    if module == "Deals":
        amount, prob = values.get("Amount"), values.get("Probability")
        values["Expected_Revenue"] = (
            round(amount * prob / 100, 2) if amount is not None and prob is not None else None
        )
    if module == "Quotes":
        _quote_totals(values)


def _line_total(row: Mapping[str, Any]) -> float | None:
    quantity, price = row.get("Quantity"), row.get("List_Price")
    if quantity is None or price is None:
        return None
    return round(float(quantity) * float(price) - float(row.get("Discount") or 0.0), 2)


def _quote_totals(values: dict[str, Any]) -> None:
    """Line items' ``Total`` (quantity × list price − discount) and the quote's sums.

    Rows are replaced, not mutated (stored rows may be shared between records' versions).
    """
    rows = values.get("Quoted_Items")
    if not isinstance(rows, list):
        rows = []
    items = [{**row, "Total": _line_total(row)} for row in rows if isinstance(row, Mapping)]
    values["Quoted_Items"] = items
    total = round(sum(row["Total"] or 0.0 for row in items), 2)
    values["Sub_Total"] = total
    values["Grand_Total"] = total
