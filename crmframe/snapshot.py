"""Snapshots: a frame saved as Parquet so that it comes back exactly as it was read.

``to_csv``/``read_csv`` between notebook sessions loses what a push needs: dtypes (phone
numbers turn into integers, datetimes into text), list cells, the frame's ``attrs``
(module, read time). A snapshot keeps the index, every dtype, list and dict cells and
``attrs``, so ``read_snapshot(path)`` next week is a valid ``original`` for
``crm.push(edited, original)``: it diffs to zero changes against the frame saved, and its
``Modified_Time`` and read time still let the push find what colleagues changed since.

The conversions are pure (:mod:`crmframe.core.storable`); this module only reads and
writes the file, through pyarrow.

Examples
--------
>>> import os, tempfile
>>> frame = pd.DataFrame({"City": pd.array(["Pune", None], dtype="string"),
...                       "Tags": [["a"], []]},
...                      index=pd.Index(["1", "2"], dtype="string", name="id"))
>>> frame.attrs["module"] = "Leads"
>>> path = to_snapshot(frame, os.path.join(tempfile.mkdtemp(), "leads.parquet"))
>>> back = read_snapshot(path)
>>> back.equals(frame), back.attrs["module"], back["Tags"].tolist()
(True, 'Leads', [['a'], []])
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from crmframe.core.storable import from_storable, to_storable
from crmframe.errors import InputError

__all__ = ["read_snapshot", "to_snapshot"]

#: The Parquet schema-metadata key holding the frame's description.
_KEY = b"crmframe"


def to_snapshot(frame: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Save ``frame`` to ``path`` as a Parquet snapshot; return the path.

    Parameters
    ----------
    frame : DataFrame
        Usually a frame from ``crm.read_records`` (or an edited copy).
    path : str or os.PathLike
        The file to write (``.parquet`` by convention); replaced if it exists.

    Raises
    ------
    InputError
        When ``frame`` is not a DataFrame or has duplicate or non-string column names.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"to_snapshot takes a DataFrame, got {type(frame).__name__}")
    stored, meta = to_storable(frame)
    table = pa.Table.from_pandas(stored, preserve_index=False)
    schema_meta = dict(table.schema.metadata or {})
    schema_meta[_KEY] = json.dumps(meta).encode("utf-8")
    target = Path(path)
    pq.write_table(table.replace_schema_metadata(schema_meta), target)
    return target


def read_snapshot(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The frame saved by :func:`to_snapshot`: same index, dtypes, cells and ``attrs``.

    Raises
    ------
    InputError
        When the file is not a crmframe snapshot (not even a Parquet file), or ``path`` is
        a folder.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = Path(path)
    if source.is_dir():
        # pyarrow would read every file in it as one dataset
        raise InputError(f"{os.fspath(path)!r} is a folder: give the snapshot's file "
                         "(written by crmframe.to_snapshot)")
    try:
        table = pq.read_table(source)
    except pa.ArrowInvalid as exc:
        raise InputError(f"{os.fspath(path)!r} is not a crmframe snapshot: not a Parquet "
                         f"file ({exc}); read a CSV with pandas.read_csv and "
                         "crmframe.retype") from None
    raw = (table.schema.metadata or {}).get(_KEY)
    if raw is None:
        raise InputError(f"{os.fspath(path)!r} is not a crmframe snapshot (written by "
                         "crmframe.to_snapshot)")
    stored = table.to_pandas(types_mapper=_extension_types)
    return from_storable(stored, json.loads(raw.decode("utf-8")))


def _extension_types(arrow_type: object) -> object:
    """Arrow types read as pandas' nullable dtypes (strings stay ``string``, not ``str``)."""
    import pyarrow as pa

    mapping = {
        pa.string(): pd.StringDtype(), pa.large_string(): pd.StringDtype(),
        pa.int64(): pd.Int64Dtype(), pa.float64(): pd.Float64Dtype(),
        pa.bool_(): pd.BooleanDtype(),
    }
    return mapping.get(arrow_type)  # type: ignore[call-overload]
