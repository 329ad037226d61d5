"""Reading records back from Zoho (baselines, conflict checks) and comparing them with
what a step sent (interrupted pushes).

Examples
--------
>>> import pandas as pd
>>> idx = pd.Index(["1"], dtype="string", name="id")
>>> now = pd.DataFrame({"Score": pd.array([2.0], dtype="Float64")}, index=idx)
>>> applied_ids(now, [{"id": "1", "Score": 2.0000000001}], {})
['1']
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo
from crmframe.errors import CrmframeError
from crmframe.facade.write.frames import by_id

__all__ = ["READ_IDS_PER_CALL", "applied_ids", "read_back"]

#: Zoho's documented maximum of ids per read (``GET /{module}?ids=``) used for read-backs.
READ_IDS_PER_CALL = 100


def read_back(crm: Any, module: str, fields: Sequence[str], ids: Sequence[str]) -> pd.DataFrame:
    """The current values of ``fields`` for ``ids`` (any number of ids), indexed by id."""
    parts = []
    for start in range(0, len(ids), READ_IDS_PER_CALL):
        chunk = [str(i) for i in ids[start : start + READ_IDS_PER_CALL]]
        frame = crm.read_records(
            module, fields=list(fields), ids=chunk, progress=False
        )
        parts.append(by_id(frame))
    if not parts:
        empty: pd.DataFrame = pd.DataFrame(index=pd.Index([], dtype="string", name="id"))
        return empty
    out: pd.DataFrame = pd.concat(parts) if len(parts) > 1 else parts[0]
    return out


def _same_value(current: Any, sent: Any, kind: Kind) -> bool:
    if current is None or sent is None:
        return current is None and sent is None
    if kind is Kind.FLOAT and isinstance(current, (int, float)) and isinstance(sent, (int, float)):
        return math.isclose(float(current), float(sent), rel_tol=1e-9, abs_tol=1e-9)
    if kind is Kind.LIST and isinstance(current, list) and isinstance(sent, list):
        # Zoho may return a multi-select's values in its own order.
        return sorted(map(str, current)) == sorted(map(str, sent))
    if kind is Kind.SUBFORM and isinstance(current, list) and isinstance(sent, list):
        return _same_rows(current, sent)
    return bool(current == sent)


def _same_rows(current: list[Any], sent: list[Any]) -> bool:
    """Whether subform rows read back are the rows sent: as many, in order, each with the
    sent id (a row sent without one got a new id) and the sent values (the rows read back
    also carry keys Zoho computes: ``Parent_Id``, totals...)."""
    if len(current) != len(sent):
        return False
    for now, want in zip(current, sent, strict=True):
        if not isinstance(now, Mapping) or not isinstance(want, Mapping):
            return False
        for key, value in want.items():
            have = now.get(key)
            if isinstance(value, Mapping) and isinstance(have, Mapping):
                if str(have.get("id")) != str(value.get("id")):
                    return False
            elif isinstance(value, float) and isinstance(have, (int, float)):
                if not math.isclose(float(have), value, rel_tol=1e-9, abs_tol=1e-9):
                    return False
            elif have != value:
                return False
    return True


def applied_ids(
    frame: pd.DataFrame,
    records: Sequence[Mapping[str, Any]],
    infos: Mapping[str, FieldInfo],
) -> list[str]:
    """Ids of ``records`` whose values in ``frame`` (read back, indexed by id) equal them.

    Values are compared in their JSON form (both sides through the same codec), so a
    datetime read back in another offset still matches the instant that was sent.

    Examples
    --------
    >>> idx = pd.Index(["1", "2"], dtype="string", name="id")
    >>> now = pd.DataFrame({"Phone": pd.array(["5", "7"], dtype="string")}, index=idx)
    >>> applied_ids(now, [{"id": "1", "Phone": "5"}, {"id": "2", "Phone": "6"}], {})
    ['1']
    """
    out: list[str] = []
    # First row of each id, found once (not one scan of the index per record).
    first: dict[str, int] = {}
    for position, value in enumerate(frame.index.tolist()):
        if not is_missing(value):
            first.setdefault(str(value), position)
    for record in records:
        rid = str(record["id"])
        if rid not in first:
            continue
        row = frame.iloc[first[rid]]
        if all(_field_matches(row, str(f), v, infos) for f, v in record.items() if f != "id"):
            out.append(rid)
    return out


def _field_matches(row: pd.Series, field: str, sent: Any, infos: Mapping[str, FieldInfo]) -> bool:
    info = infos.get(field)
    lookup = (info is not None and info.kind in LOOKUP_KINDS) or isinstance(sent, Mapping)
    if lookup and f"{field}.id" in row.index:
        current = row[f"{field}.id"]
        want = sent.get("id") if isinstance(sent, Mapping) else sent
        if is_missing(current) or want is None:
            return is_missing(current) and want is None
        return str(current) == str(want)
    if field not in row.index:
        return False
    kind = info.kind if info is not None else _kind_of_sent(sent)
    try:
        current = encode_value(row[field], kind)
    except CrmframeError:
        return False
    return _same_value(current, sent, kind)


def _kind_of_sent(sent: Any) -> Kind:
    if isinstance(sent, bool):
        return Kind.BOOLEAN
    if isinstance(sent, int):
        return Kind.INTEGER
    if isinstance(sent, float):
        return Kind.FLOAT
    if isinstance(sent, list):
        return Kind.LIST
    return Kind.TEXT
