"""Field metadata (``GET /settings/fields``) as typed values and as a DataFrame.

Every function that takes ``fields`` accepts the three forms an analyst may hold: the
whole ``/settings/fields`` envelope, its ``fields`` list, or the frame
:func:`fields_to_frame` returns. :func:`normalise_fields` turns any of them into
``{api_name: FieldInfo}``.

Examples
--------
>>> meta = {"fields": [{"api_name": "No_of_Employees", "data_type": "integer",
...     "json_type": "integer", "mass_update": True}]}
>>> info = normalise_fields(meta)["No_of_Employees"]
>>> info.kind.value, info.mass_updatable, info.read_only
('integer', True, False)
"""

from __future__ import annotations

import reprlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.envelope import load_envelope
from crmframe.core.fieldtypes import (
    TEXT_LENGTH_DEFAULTS,
    Kind,
    is_read_only,
    kind_of_field,
    mass_updatable,
    return_type_of,
)
from crmframe.errors import EnvelopeError

__all__ = ["FIELD_COLUMNS", "FieldInfo", "fields_to_frame", "normalise_fields"]

#: Columns of :func:`fields_to_frame`, in order (index: ``api_name``).
FIELD_COLUMNS: tuple[str, ...] = (
    "field_label",
    "data_type",
    "json_type",
    "kind",
    "read_only",
    "field_read_only",
    "system_mandatory",
    "mandatory",
    "unique",
    "length",
    "decimal_place",
    "mass_update",
    "picklist_values",
    "lookup_module",
    "formula_return_type",
    "writable",
    "id",
)


@dataclass(frozen=True)
class FieldInfo:
    """What crmframe needs to know about one field."""

    api_name: str
    data_type: str
    json_type: str | None
    kind: Kind
    field_label: str | None = None
    read_only: bool = False
    field_read_only: bool = False
    system_mandatory: bool = False
    mandatory: bool = False
    unique: bool = False
    length: int | None = None
    decimal_place: int | None = None
    mass_update: bool = False
    picklist_values: tuple[str, ...] | None = None
    lookup_module: str | None = None
    formula_return_type: str | None = None
    id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def writable(self) -> bool:
        """False for system fields, computed types and fields flagged read-only."""
        return not is_read_only(
            {
                "api_name": self.api_name,
                "data_type": self.data_type,
                "read_only": self.read_only,
                "field_read_only": self.field_read_only,
            }
        )

    @property
    def mass_updatable(self) -> bool:
        """True when Zoho's mass update may set this field."""
        return mass_updatable(
            {
                "api_name": self.api_name,
                "data_type": self.data_type,
                "mass_update": self.mass_update,
                "read_only": self.read_only,
                "field_read_only": self.field_read_only,
            }
        )

    @property
    def max_length(self) -> int | None:
        """The longest text Zoho accepts, for text-like fields (metadata, else Zoho's default)."""
        if self.kind is not Kind.TEXT:
            return None
        return self.length or TEXT_LENGTH_DEFAULTS.get(self.data_type)


def _int_or_none(value: Any) -> int | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        return None
    # fields_to_frame holds lengths in Int64: a value beyond it is no usable length
    return number if -(2**63) <= number < 2**63 else None


def _picklist(raw: Any) -> tuple[str, ...] | None:
    if not isinstance(raw, list):
        return None
    values = []
    for item in raw:
        if isinstance(item, Mapping):
            value = item.get("actual_value", item.get("display_value"))
        else:
            value = item
        if value is None:
            continue
        # A picklist value is text; anything nested (never sent by Zoho) is shown through a
        # depth-limited repr, since str() of a deep nesting recurses without bound.
        values.append(
            str(value) if isinstance(value, (str, int, float, bool)) else reprlib.repr(value)
        )
    return tuple(values)


def _lookup_module(raw: Mapping[str, Any]) -> str | None:
    for key in ("lookup", "multiselectlookup", "subform"):
        spec = raw.get(key)
        if isinstance(spec, Mapping):
            module = spec.get("module")
            if isinstance(module, Mapping):
                module = module.get("api_name")
            if module:
                return str(module)
    return None


def _unique(raw: Any) -> bool:
    # Zoho gives a boolean, or an object: {} for "not unique", {"case_sensitive": ...} for unique.
    return bool(raw)


def _info_from_raw(raw: Mapping[str, Any], position: int) -> FieldInfo:
    api_name = raw.get("api_name")
    if not isinstance(api_name, str) or not api_name:
        raise EnvelopeError(f"field metadata item {position} has no 'api_name' string")
    data_type = raw.get("data_type")
    json_type = raw.get("json_type")
    if data_type is not None and not isinstance(data_type, str):
        raise EnvelopeError(f"field {api_name!r}: data_type is {type(data_type).__name__}")
    if json_type is not None and not isinstance(json_type, str):
        raise EnvelopeError(f"field {api_name!r}: json_type is {type(json_type).__name__}")
    label = raw.get("field_label", raw.get("display_label"))
    return FieldInfo(
        api_name=api_name,
        data_type=data_type or "",
        json_type=json_type,
        kind=kind_of_field(raw),
        field_label=None if label is None else str(label),
        read_only=bool(raw.get("read_only")),
        field_read_only=bool(raw.get("field_read_only")),
        system_mandatory=bool(raw.get("system_mandatory")),
        mandatory=bool(raw.get("mandatory") or raw.get("system_mandatory")),
        unique=_unique(raw.get("unique")),
        length=_int_or_none(raw.get("length")),
        decimal_place=_int_or_none(raw.get("decimal_place")),
        mass_update=bool(raw.get("mass_update")),
        picklist_values=_picklist(raw.get("pick_list_values"))
        if data_type in ("picklist", "multiselectpicklist")
        else None,
        lookup_module=_lookup_module(raw),
        formula_return_type=return_type_of(raw),
        id=None if raw.get("id") is None else str(raw.get("id")),
        raw=raw,
    )


def _info_from_row(api_name: str, row: Mapping[str, Any]) -> FieldInfo:
    def get(key: str) -> Any:
        value = row.get(key)
        # pd.read_parquet gives list cells back as NumPy arrays
        if value is None or (not isinstance(value, (list, tuple, np.ndarray))
                             and pd.isna(value)):
            return None
        return value

    picklist = get("picklist_values")
    return FieldInfo(
        api_name=api_name,
        data_type=str(get("data_type") or ""),
        json_type=get("json_type"),
        kind=Kind(get("kind")) if get("kind") else kind_of_field(
            {"api_name": api_name, "data_type": get("data_type"), "json_type": get("json_type"),
             "formula": {"return_type": get("formula_return_type")}}
        ),
        field_label=get("field_label"),
        read_only=bool(get("read_only")),
        field_read_only=bool(get("field_read_only")),
        system_mandatory=bool(get("system_mandatory")),
        mandatory=bool(get("mandatory")),
        unique=bool(get("unique")),
        length=_int_or_none(get("length")),
        decimal_place=_int_or_none(get("decimal_place")),
        mass_update=bool(get("mass_update")),
        picklist_values=tuple(map(str, picklist)) if picklist is not None else None,
        lookup_module=get("lookup_module"),
        formula_return_type=get("formula_return_type"),
        id=get("id"),
    )


def normalise_fields(fields: Any) -> dict[str, FieldInfo]:
    """Any form of field metadata → ``{api_name: FieldInfo}`` (order kept).

    Parameters
    ----------
    fields : dict, str, bytes, response, list of dicts, or DataFrame
        The ``/settings/fields`` envelope, its ``fields`` list, or a frame from
        :func:`fields_to_frame`. A ready ``{api_name: FieldInfo}`` mapping is taken as it
        is (copied), so callers that pass one on (diff → plan) do not normalise it again.
    """
    if isinstance(fields, Mapping) and fields and all(
        isinstance(v, FieldInfo) for v in fields.values()
    ):
        return dict(fields)
    if isinstance(fields, pd.DataFrame):
        if fields.index.name != "api_name":
            if "api_name" in fields.columns:
                fields = fields.set_index("api_name")
            else:
                raise EnvelopeError("a fields frame needs an 'api_name' index or column")
        return {
            str(name): _info_from_row(str(name), row)
            for name, row in zip(fields.index, fields.to_dict("records"), strict=True)
        }
    if isinstance(fields, (Mapping, str, bytes, bytearray)) or hasattr(fields, "status_code"):
        body = load_envelope(fields).body
        if body is None:
            return {}
        items = body.get("fields")
        if not isinstance(items, list):
            raise EnvelopeError("field metadata envelope has no 'fields' list")
    elif isinstance(fields, Iterable):
        items = list(fields)
    else:
        raise EnvelopeError(
            f"fields must be a /settings/fields envelope, its list or a frame, "
            f"got {type(fields).__name__}"
        )
    out: dict[str, FieldInfo] = {}
    for position, raw in enumerate(items):
        if not isinstance(raw, Mapping):
            raise EnvelopeError(f"field metadata item {position} is {type(raw).__name__}")
        try:
            info = _info_from_raw(raw, position)
        except ValueError:  # str() of an integer too long to spell out
            raise EnvelopeError(
                f"field metadata item {position}: a value is an integer too long to read"
            ) from None
        out[info.api_name] = info
    return out


def fields_to_frame(envelope: Any) -> pd.DataFrame:
    """Field metadata as a DataFrame, one row per field, indexed by ``api_name``.

    Columns: see :data:`FIELD_COLUMNS` (``picklist_values`` holds a list of the
    picklist's actual values; ``kind`` is crmframe's type family; ``writable`` is False
    for system and computed fields whatever the flags say).

    Examples
    --------
    >>> df = fields_to_frame({"fields": [{"api_name": "Lead_Status", "data_type": "picklist",
    ...     "json_type": "string", "pick_list_values": [{"actual_value": "Contacted"}]}]})
    >>> df.loc["Lead_Status", "picklist_values"]
    ['Contacted']
    """
    infos = normalise_fields(envelope)
    rows = []
    for info in infos.values():
        rows.append(
            {
                "field_label": info.field_label,
                "data_type": info.data_type,
                "json_type": info.json_type,
                "kind": info.kind.value,
                "read_only": info.read_only,
                "field_read_only": info.field_read_only,
                "system_mandatory": info.system_mandatory,
                "mandatory": info.mandatory,
                "unique": info.unique,
                "length": info.length,
                "decimal_place": info.decimal_place,
                "mass_update": info.mass_update,
                "picklist_values": list(info.picklist_values)
                if info.picklist_values is not None
                else None,
                "lookup_module": info.lookup_module,
                "formula_return_type": info.formula_return_type,
                "writable": info.writable,
                "id": info.id,
            }
        )
    frame: pd.DataFrame = pd.DataFrame(rows, columns=list(FIELD_COLUMNS))
    frame.index = pd.Index([info.api_name for info in infos.values()], dtype="string",
                           name="api_name")
    for col in ("field_label", "data_type", "json_type", "kind", "lookup_module",
                "formula_return_type", "id"):
        frame[col] = frame[col].astype("string")
    for col in ("read_only", "field_read_only", "system_mandatory", "mandatory", "unique",
                "mass_update", "writable"):
        frame[col] = frame[col].astype("boolean")
    for col in ("length", "decimal_place"):
        frame[col] = frame[col].astype("Int64")
    frame["picklist_values"] = frame["picklist_values"].astype(object)
    frame.attrs["kind"] = "fields"
    return frame
