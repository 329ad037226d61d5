"""What crmframe knows about Zoho field types, with no pandas and no I/O.

This module is the one piece of knowledge the sandbox server shares with the client
(architecture rule 5), so it imports only the standard library.

A Zoho field has a ``data_type`` (``text``, ``bigint``, ``lookup``...) and a ``json_type``
(``string``, ``integer``, ``double``, ``boolean``, ``jsonobject``, ``jsonarray``). Both
reduce to one :class:`Kind`, which decides the pandas dtype, the value codec, what the
sandbox accepts, and what may be mass-updated.

Examples
--------
>>> field_kind("currency")
<Kind.FLOAT: 'float'>
>>> field_kind("text", "jsonarray")      # Tag: text by data_type, an array on the wire
<Kind.LIST: 'list'>
>>> field_kind("formula", formula_return_type="date")
<Kind.DATE: 'date'>
>>> is_system_read_only("Modified_Time")
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import Enum
from typing import Any

__all__ = [
    "DATETIME_RE",
    "DATE_RE",
    "EMAIL_RE",
    "LOOKUP_KINDS",
    "MASS_UPDATE_FORBIDDEN_TYPES",
    "READ_ONLY_DATA_TYPES",
    "SYSTEM_READ_ONLY_FIELDS",
    "TEXT_LENGTH_DEFAULTS",
    "Kind",
    "field_kind",
    "is_read_only",
    "is_system_read_only",
    "kind_of_field",
    "mass_updatable",
    "return_type_of",
]


class Kind(str, Enum):
    """The families of Zoho values, as crmframe types them."""

    TEXT = "text"  # text, email, phone, picklist, website, textarea ... -> "string"
    ID = "id"  # bigint / long / autonumber and every id: exact strings -> "string"
    INTEGER = "integer"  # -> "Int64"
    FLOAT = "float"  # double, currency, percent, decimal -> "Float64"
    BOOLEAN = "boolean"  # -> "boolean"
    DATE = "date"  # "yyyy-MM-dd" -> datetime64 (date only)
    DATETIME = "datetime"  # "yyyy-MM-ddTHH:mm:ss±HH:mm" -> tz-aware datetime64 (UTC)
    LOOKUP = "lookup"  # {"id","name"[,"email"]} -> Field.id, Field.name[, Field.email]
    LIST = "list"  # multi-select picklists and other arrays -> Python lists (object)
    SUBFORM = "subform"  # arrays of row objects -> lists of dicts (object)
    OBJECT = "object"  # any other JSON object -> flattened one level like a lookup


#: Zoho's read format for datetimes: seconds precision and an explicit offset.
DATETIME_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")
#: Zoho's format for dates.
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: A deliberately plain e-mail check (Zoho's own is not published): one @, a dot after it.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

_DATA_TYPE_KIND: dict[str, Kind] = {
    # text-like
    "text": Kind.TEXT,
    "textarea": Kind.TEXT,
    "email": Kind.TEXT,
    "phone": Kind.TEXT,
    "website": Kind.TEXT,
    "mediumtext": Kind.TEXT,
    "picklist": Kind.TEXT,
    "profileimage": Kind.TEXT,
    "event_reminder": Kind.TEXT,
    "ALARM": Kind.TEXT,
    "RRULE": Kind.TEXT,
    # ids and long integers travel as strings
    "bigint": Kind.ID,
    "long": Kind.ID,
    "autonumber": Kind.ID,
    # numbers
    "integer": Kind.INTEGER,
    "double": Kind.FLOAT,
    "decimal": Kind.FLOAT,
    "currency": Kind.FLOAT,
    "percent": Kind.FLOAT,
    "boolean": Kind.BOOLEAN,
    "date": Kind.DATE,
    "datetime": Kind.DATETIME,
    # objects with an id
    "lookup": Kind.LOOKUP,
    "ownerlookup": Kind.LOOKUP,
    "userlookup": Kind.LOOKUP,
    "layout": Kind.LOOKUP,
    "consent_lookup": Kind.LOOKUP,
    "multimodulelookup": Kind.LOOKUP,
    "multi_module_lookup": Kind.LOOKUP,
    "module": Kind.LOOKUP,
    # arrays
    "multiselectpicklist": Kind.LIST,
    "multiselectlookup": Kind.LIST,
    "multiuserlookup": Kind.LIST,
    "territories": Kind.LIST,
    "fileupload": Kind.LIST,
    "imageupload": Kind.LIST,
    "multireminder": Kind.LIST,
    "subform": Kind.SUBFORM,
    "linetax": Kind.SUBFORM,
}

_JSON_TYPE_KIND: dict[str, Kind] = {
    "string": Kind.TEXT,
    "integer": Kind.INTEGER,
    "double": Kind.FLOAT,
    "boolean": Kind.BOOLEAN,
    "jsonobject": Kind.OBJECT,
    "jsonarray": Kind.LIST,
}

# formula/rollup return types, as Zoho names them
_RETURN_TYPE_KIND: dict[str, Kind] = {
    "text": Kind.TEXT,
    "string": Kind.TEXT,
    "decimal": Kind.FLOAT,
    "double": Kind.FLOAT,
    "currency": Kind.FLOAT,
    "percent": Kind.FLOAT,
    "integer": Kind.INTEGER,
    "long": Kind.ID,
    "boolean": Kind.BOOLEAN,
    "date": Kind.DATE,
    "datetime": Kind.DATETIME,
}

#: Fields that are read-only whatever the metadata flags say (zoho-api.md §2: Zoho's own
#: sample marks Created_Time/Modified_Time/Created_By/Modified_By writable, and they are not).
SYSTEM_READ_ONLY_FIELDS: frozenset[str] = frozenset(
    {
        "id",
        "Created_Time",
        "Modified_Time",
        "Created_By",
        "Modified_By",
        "Last_Activity_Time",
        "Full_Name",
        "Unsubscribed_Time",
        "Converted__s",
        "Record_Status__s",
    }
)

#: Data types whose values Zoho computes: never writable.
READ_ONLY_DATA_TYPES: frozenset[str] = frozenset({"formula", "autonumber", "rollup_summary"})

#: Data types Zoho refuses in a mass update (lookups, email, multi-line, line items...).
MASS_UPDATE_FORBIDDEN_TYPES: frozenset[str] = frozenset(
    {
        "lookup",
        "ownerlookup",
        "userlookup",
        "layout",
        "email",
        "textarea",
        "subform",
        "linetax",
        "multiselectlookup",
        "multiuserlookup",
        "fileupload",
        "imageupload",
        "formula",
        "autonumber",
        "rollup_summary",
    }
)

#: Zoho's default maximum lengths when the metadata gives none.
TEXT_LENGTH_DEFAULTS: dict[str, int] = {
    "text": 255,
    "email": 100,
    "phone": 30,
    "website": 255,
    "picklist": 255,
    "textarea": 32000,
}

LOOKUP_KINDS: frozenset[Kind] = frozenset({Kind.LOOKUP, Kind.OBJECT})


def field_kind(
    data_type: str | None,
    json_type: str | None = None,
    *,
    formula_return_type: str | None = None,
) -> Kind:
    """Reduce a field's ``data_type``/``json_type`` to a :class:`Kind`.

    ``json_type`` wins when it says the value is an array or an object (Zoho's ``Tag``
    field is ``data_type: text`` but ``json_type: jsonarray``). Formula and rollup fields
    take the kind of their return type. Unknown types fall back to ``json_type``, then text.
    """
    dt = (data_type or "").strip()
    jt = (json_type or "").strip().lower()
    if dt in ("formula", "rollup_summary"):
        rt = (formula_return_type or "").strip().lower()
        if rt in _RETURN_TYPE_KIND:
            return _RETURN_TYPE_KIND[rt]
        return _JSON_TYPE_KIND.get(jt, Kind.FLOAT if dt == "rollup_summary" else Kind.TEXT)
    kind = _DATA_TYPE_KIND.get(dt) or _DATA_TYPE_KIND.get(dt.lower())
    if jt == "jsonarray" and kind not in (Kind.LIST, Kind.SUBFORM):
        return Kind.LIST
    if jt == "jsonobject" and kind not in LOOKUP_KINDS:
        return Kind.OBJECT
    if kind is not None:
        return kind
    return _JSON_TYPE_KIND.get(jt, Kind.TEXT)


def return_type_of(field: Mapping[str, Any]) -> str | None:
    """The declared return type of a formula or rollup-summary field's metadata, if any."""
    for key in ("formula", "rollup_summary"):
        spec = field.get(key)
        if isinstance(spec, Mapping) and spec.get("return_type"):
            return str(spec["return_type"])
    return None


def kind_of_field(field: Mapping[str, Any]) -> Kind:
    """The :class:`Kind` of one field-metadata object (an item of ``/settings/fields``)."""
    if isinstance(field.get("api_name"), str) and field.get("api_name") == "id":
        return Kind.ID
    return field_kind(
        field.get("data_type"), field.get("json_type"), formula_return_type=return_type_of(field)
    )


def is_system_read_only(api_name: str, data_type: str | None = None) -> bool:
    """True for fields Zoho never lets you write, whatever the metadata flags say."""
    return (
        api_name in SYSTEM_READ_ONLY_FIELDS
        or api_name.startswith("$")
        or (data_type or "") in READ_ONLY_DATA_TYPES
    )


def is_read_only(field: Mapping[str, Any]) -> bool:
    """True when a field cannot be written: system fields, computed types, or flagged so."""
    api_name = str(field.get("api_name") or "")
    return (
        is_system_read_only(api_name, field.get("data_type"))
        or bool(field.get("read_only"))
        or bool(field.get("field_read_only"))
    )


def mass_updatable(field: Mapping[str, Any]) -> bool:
    """True when Zoho's mass update may set this field (metadata allows, type permits)."""
    return (
        bool(field.get("mass_update"))
        and str(field.get("data_type") or "") not in MASS_UPDATE_FORBIDDEN_TYPES
        and not is_read_only(field)
    )
