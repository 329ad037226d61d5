"""A Parquet dataset on disk: part files, their atomic writing, and the manifest.

Layout of ``path/``::

    part-00000.parquet     records, up to ``rows_per_file`` each, row groups of 5,000
    part-00001.parquet
    _crmframe.json         the manifest: module, fields, dtypes, files, cursor, stats

Readers see only complete files: a part is written as ``.part-NNNNN.tmp`` (a name no
reader picks up: hidden, and not ``*.parquet``) and renamed into place once closed; the
manifest is replaced the same way. ``pandas.read_parquet(path)`` and
``pyarrow.dataset`` skip ``_``/``.`` names; DuckDB and Polars read
``path/**/*.parquet``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crmframe.core.arrowtables import frame_to_table, json_columns_of, restore_dtypes
from crmframe.errors import InputError

__all__ = ["MANIFEST", "PartWriter", "load_manifest", "part_name", "read_dataset",
           "save_manifest"]

MANIFEST = "_crmframe.json"
FORMAT = 1


def part_name(number: int) -> str:
    """``part-00042.parquet``."""
    return f"part-{number:05d}.parquet"


def _fsync_dir(root: Path) -> None:
    try:
        fd = os.open(root, os.O_RDONLY)
    except OSError:  # directories cannot be opened on some systems: nothing to sync
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _replace(tmp: Path, final: Path) -> None:
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def load_manifest(root: Path | str) -> dict[str, Any] | None:
    """The manifest of the dataset at ``root``, or None when there is none."""
    path = Path(root) / MANIFEST
    if not path.exists():
        return None
    with open(path, encoding="utf-8") as handle:
        manifest: dict[str, Any] = json.load(handle)
    if manifest.get("format") != FORMAT:
        raise InputError(f"{path}: not a crmframe dataset manifest of format {FORMAT}")
    return manifest


def save_manifest(root: Path | str, manifest: dict[str, Any]) -> None:
    """Write the manifest atomically (a reader sees the old one or the new one)."""
    root = Path(root)
    manifest["format"] = FORMAT
    tmp = root / f".{MANIFEST}.tmp"
    with open(tmp, "w", encoding="utf-8") as handle:
        json.dump(manifest, handle, indent=1, sort_keys=True, default=str)
    _replace(tmp, root / MANIFEST)


class PartWriter:
    """Write frames into part files of at most ``rows_per_file`` rows, one row group each.

    ``on_file(name, rows)`` is called once a file is complete and in place (the caller
    records it in the manifest together with where to resume).
    """

    def __init__(self, root: Path, schema: pa.Schema, *, first_number: int,
                 rows_per_file: int, on_file: Callable[[str, int], None]) -> None:
        self.root = root
        self.schema = schema
        self.number = first_number
        self.rows_per_file = rows_per_file
        self.on_file = on_file
        self._writer: pq.ParquetWriter | None = None
        self._tmp: Path | None = None
        self._rows = 0
        self._buffer: list[pa.Table] = []
        self._buffered = 0

    def write(self, frame: pd.DataFrame) -> int:
        """Add ``frame`` to the row group being gathered (as Arrow: compact); returns
        the rows added. :meth:`flush` writes the row group."""
        if len(frame) == 0:
            return 0
        self._buffer.append(frame_to_table(frame, self.schema))
        self._buffered += len(frame)
        self._rows += len(frame)
        return len(frame)

    @property
    def buffered(self) -> int:
        """Rows gathered for the next row group."""
        return self._buffered

    def flush(self) -> None:
        """Write the gathered rows as one row group of the current file."""
        if not self._buffer:
            return
        if self._writer is None:
            self._tmp = self.root / f".part-{self.number:05d}.tmp"
            self._writer = pq.ParquetWriter(self._tmp, self.schema, compression="zstd")
        self._writer.write_table(pa.concat_tables(self._buffer))
        self._buffer, self._buffered = [], 0

    @property
    def rows_in_file(self) -> int:
        """Rows in the file being written."""
        return self._rows

    def close_file(self) -> None:
        """Finish the current file (if any), move it into place and report it."""
        self.flush()
        if self._writer is None or self._tmp is None:
            return
        self._writer.close()
        name = part_name(self.number)
        _replace(self._tmp, self.root / name)
        rows = self._rows
        self._writer, self._tmp, self._rows = None, None, 0
        self.number += 1
        self.on_file(name, rows)

    def abort(self) -> None:
        """Drop the file being written."""
        if self._writer is not None:
            self._writer.close()
        if self._tmp is not None and self._tmp.exists():
            self._tmp.unlink()
        self._writer, self._tmp, self._rows = None, None, 0
        self._buffer, self._buffered = [], 0


def clean_strays(root: Path, keep: set[str]) -> None:
    """Remove temporary files and parts the manifest does not list (a killed run's)."""
    for entry in root.iterdir():
        name = entry.name
        temporary = name.startswith((".part-", f".{MANIFEST}"))
        unlisted = name.startswith("part-") and name.endswith(".parquet") and name not in keep
        if temporary or unlisted:
            entry.unlink()


def read_dataset(path: Path | str, columns: list[str] | None = None) -> pd.DataFrame:
    """A dataset written by ``crm.export``/``crm.sync`` as the frame ``read_records`` gives.

    ``pandas.read_parquet(path)`` reads it too; this also restores what Parquet cannot
    hold: datetimes in seconds (Parquet stores milliseconds), Python lists (pyarrow gives
    arrays), objects stored as JSON text. Rows come sorted by id, descending (Zoho's
    default order).

    Examples
    --------
    >>> leads = crmframe.read_dataset("exports/leads")    # doctest: +SKIP
    """
    root = Path(path)
    manifest = load_manifest(root)
    if manifest is None:
        raise InputError(f"{root}: no crmframe dataset here (no {MANIFEST}); "
                         "create one with crm.export(module, path)")
    # A list of pairs: the manifest is written with sorted keys, the columns keep their order.
    dtypes: dict[str, str] = {str(c): str(t) for c, t in manifest.get("dtypes") or []}
    names = [f["name"] for f in manifest.get("files") or []]
    wanted = None if columns is None else ["id", *[c for c in columns if c != "id"]]
    tables = [pq.read_table(root / name, columns=wanted) for name in names]
    if not tables:
        empty: pd.DataFrame = pd.DataFrame({c: pd.Series(dtype=d) for c, d in dtypes.items()
                                            if columns is None or c in columns})
        empty.index = pd.Index(pd.array([], dtype="string"), name="id")
        return empty
    table = pa.concat_tables(tables)
    frame = table.to_pandas()
    if "id" in frame.columns:
        frame = frame.set_index("id")
    if columns is not None:
        dtypes = {c: d for c, d in dtypes.items() if c in columns}
    restored: pd.DataFrame = restore_dtypes(frame, dtypes, json_columns_of(tables[0].schema))
    restored = pd.DataFrame(restored.sort_index(ascending=False, kind="stable"))
    restored.attrs["module"] = manifest.get("module")
    restored.attrs["kind"] = "records"
    return restored
