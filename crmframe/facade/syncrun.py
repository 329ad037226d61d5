"""One ``crm.sync`` run: changes since the cursor applied to a Parquet dataset.

1. Records modified since the cursor (:func:`~crmframe.http.changes.iter_changed_pages`:
   ``If-Modified-Since`` listing, COQL keyset past 100,000), typed like ``read_records``;
2. deletions since the last one seen (``GET /{module}/deleted``);
3. when due, the formula fields of every record (they change without ``Modified_Time``).

Applying: every part file holding a changed or deleted id is rewritten row group by row
group — deleted rows dropped, changed rows replaced **in the same file** — and moved into
place atomically; records no file held go to a new file. So at every instant, a reader
sees each record exactly once (its old or its new version), and the manifest (cursor,
stats) is replaced last: a sync killed half way leaves a readable dataset, and the next
sync fetches the same changes again (cursor unchanged) and finishes applying them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from crmframe.core.arrowtables import frame_to_table
from crmframe.core.metadata import normalise_fields
from crmframe.core.records import RecordsBuilder
from crmframe.errors import InvalidURLError, NotFoundError
from crmframe.facade.dataset import _replace, part_name
from crmframe.facade.exportrun import GROUP_ROWS
from crmframe.http.changes import cursor_from, iter_changed_pages, iter_deleted, since_of
from crmframe.http.paging import iter_record_pages

if TYPE_CHECKING:
    from crmframe.facade.exporting import ExportMixin

__all__ = ["SyncRun", "parse_time"]

log = logging.getLogger("crmframe.facade")

_PER_CALL = 49


def parse_time(text: str) -> datetime:
    """A Zoho datetime (``2024-05-01T10:00:00+05:30`` or ``...Z``) as an aware datetime."""
    value = datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


class SyncRun:
    """Fetch and apply the changes of one dataset (see the module docstring)."""

    def __init__(self, crm: ExportMixin, root: Path, manifest: dict[str, Any],
                 meta: pd.DataFrame, started: str | None = None) -> None:
        self.crm = crm
        self.started = started
        self.root = root
        self.manifest = manifest
        self.meta = meta
        self.module: str = manifest["module"]
        infos = normalise_fields(meta)
        # Fields that vanished from Zoho stay in the dataset (null from now on).
        self.names = [n for n in manifest["fields"] if n in infos]
        self.formula_fields = [n for n in self.names
                               if infos[n].data_type in ("formula", "rollup_summary")]
        files = manifest.get("files") or []
        self.schema: pa.Schema = pq.read_schema(root / files[0]["name"])
        self.changed: list[pa.Table] = []
        self.cursor: dict[str, Any] | None = manifest.get("cursor")
        self.deleted_cursor: str | None = manifest.get("deleted_cursor")
        self.deleted_ids: set[str] = set()
        #: When each deleted id was deleted, and when each fetched record was modified:
        #: a record deleted after the listing read it is dropped, not written back.
        self.deleted_at: dict[str, datetime] = {}
        self.modified_at: dict[str, datetime] = {}
        self.recheck: set[str] = set()
        self.deletions_checked = True
        self.deleted_calls = 0
        self.formula_cells = 0

    # -- fetching --------------------------------------------------------------------

    def fetch_changes(self) -> int:
        """Changed records, typed and kept as Arrow tables; returns how many."""
        client = self.crm.client
        chunks = [self.names[i:i + _PER_CALL] for i in range(0, len(self.names), _PER_CALL)]
        cursor = self.cursor or {}
        since = cursor.get("time")
        seen = set(cursor.get("ids") or [])
        newest: tuple[datetime, str, list[str]] | None = None
        if since:
            newest = (parse_time(str(since)), str(since), list(seen))
        batch: list[dict[str, Any]] = []
        count = 0
        for body in iter_changed_pages(client, self.module, fields=chunks[0] if chunks else [],
                                       since=since_of(cursor)):
            for record in body.get("data") or []:
                stamp = record.get("Modified_Time")
                rid = str(record.get("id"))
                if since and stamp == since and rid in seen:
                    # Stored at the cursor's second, and read again (the cursor is
                    # inclusive): a second edit within that second keeps the same
                    # Modified_Time, so it is applied and counted only if it differs.
                    self.recheck.add(rid)
                if stamp:
                    when = parse_time(str(stamp))
                    self.modified_at[rid] = when
                    if newest is None or when > newest[0]:
                        newest = (when, str(stamp), [rid])
                    elif when == newest[0] and rid not in newest[2]:
                        newest[2].append(rid)
                batch.append(record)
            if len(batch) >= GROUP_ROWS:
                count += self._keep(batch, chunks[1:])
                batch = []
        if batch:
            count += self._keep(batch, chunks[1:])
        if newest is not None:
            # Re-settled against this run's start: an inclusive re-read saw its whole second.
            self.cursor = cursor_from(newest[1], newest[2], self.started)
        return count

    def _keep(self, records: list[dict[str, Any]], rest: list[list[str]]) -> int:
        by_id = {str(r.get("id")): dict(r) for r in records}
        for chunk in rest:
            for body in iter_record_pages(self.crm.client, self.module, fields=["id", *chunk],
                                          ids=list(by_id)):
                for record in body.get("data") or []:
                    target = by_id.get(str(record.get("id")))
                    if target is not None:
                        target.update(record)
        builder = RecordsBuilder(self.meta, columns=self.names, module=self.module)
        builder.add(list(by_id.values()))
        self.changed.append(frame_to_table(builder.to_frame(), self.schema))
        return len(by_id)

    def fetch_deletions(self) -> int:
        """Ids deleted since the last sync (Zoho keeps them 60–120 days)."""
        newest = self.deleted_cursor
        calls0 = self.crm.client.request_count
        try:
            for entry in iter_deleted(self.crm.client, self.module, since=self.deleted_cursor):
                self.deleted_ids.add(str(entry["id"]))
                stamp = entry.get("deleted_time")
                if stamp:
                    self.deleted_at[str(entry["id"])] = parse_time(str(stamp))
                if stamp and (newest is None or parse_time(str(stamp)) > parse_time(newest)):
                    newest = str(stamp)
        except (InvalidURLError, NotFoundError) as exc:
            log.warning("%s: no deleted-records endpoint (%s); deletions not applied",
                        self.module, exc)
            self.deletions_checked = False
        self.deleted_cursor = newest
        self.deleted_calls = self.crm.client.request_count - calls0
        return len(self.deleted_ids)

    def formula_due(self, every: timedelta | None) -> bool:
        if every is None or not self.formula_fields:
            return False
        last = self.manifest.get("formula_refreshed")
        return last is None or parse_time(str(last)) + every <= datetime.now(timezone.utc)

    # -- applying --------------------------------------------------------------------

    def apply(self, formulas: pd.DataFrame | None) -> tuple[int, int, int]:
        """Rewrite the files: returns (records replaced, records added, files rewritten)."""
        changed = (pa.concat_tables(self.changed) if self.changed
                   else self.schema.empty_table())
        if changed.num_rows:
            # The newest version of an id wins if a record came twice (moved while paging).
            ids_list = changed.column("id").to_pylist()
            last = {rid: n for n, rid in enumerate(ids_list)}
            if len(last) < len(ids_list):
                changed = changed.take(sorted(last.values()))
        changed = self._without_unchanged(self._without_deleted(changed))
        changed_ids = changed.column("id")
        touched = pa.concat_arrays([changed_ids.combine_chunks() if changed.num_rows
                                    else pa.array([], pa.string()),
                                    pa.array(sorted(self.deleted_ids), pa.string())])
        replaced = rewritten = 0
        placed = pa.array([], pa.string())
        for entry in self.manifest.get("files") or []:
            path = self.root / entry["name"]
            ids = pq.read_table(path, columns=["id"]).column("id")
            hit = bool(len(touched)) and pc.any(pc.is_in(ids, value_set=touched)).as_py()
            if not hit and formulas is None:
                continue
            mine = changed.filter(pc.is_in(changed_ids, value_set=ids.combine_chunks())) \
                if changed.num_rows else changed
            dirty = self._rewrite(path, touched if hit else None, mine, formulas)
            if dirty:
                rewritten += 1
            replaced += mine.num_rows
            if mine.num_rows:
                placed = pa.concat_arrays([placed, mine.column("id").combine_chunks()])
        added = changed.filter(pc.invert(pc.is_in(changed_ids, value_set=placed))) \
            if changed.num_rows else changed
        if added.num_rows:
            number = 1 + max(int(f["name"][5:10]) for f in self.manifest["files"])
            name = part_name(number)
            tmp = self.root / f".part-{number:05d}.tmp"
            pq.write_table(added, tmp, compression="zstd")
            _replace(tmp, self.root / name)
            self.manifest["files"].append({"name": name, "rows": added.num_rows})
        for entry in self.manifest["files"]:
            entry["rows"] = pq.read_metadata(self.root / entry["name"]).num_rows
        return replaced, added.num_rows, rewritten

    def _without_deleted(self, changed: pa.Table) -> pa.Table:
        """``changed`` less the records deleted after the listing read them (the deletion
        log has them too): written back, they would outlive their deletion, as the next
        sync asks only for later deletions. A record modified after its deletion
        (restored from the recycle bin) stays."""
        if not changed.num_rows or not self.deleted_ids:
            return changed
        never = datetime.min.replace(tzinfo=timezone.utc)
        gone = [rid for rid in set(changed.column("id").to_pylist()) & self.deleted_ids
                if self.modified_at.get(rid, never) <= self.deleted_at.get(rid, never)
                or rid not in self.deleted_at]
        if not gone:
            return changed
        return changed.filter(pc.invert(pc.is_in(changed.column("id"),
                                                 value_set=pa.array(gone, pa.string()))))

    def _without_unchanged(self, changed: pa.Table) -> pa.Table:
        """``changed`` less the records re-read at the cursor's second that equal their
        stored version (only the row groups that may hold them are read)."""
        if not changed.num_rows or not self.recheck:
            return changed
        wanted = pa.array(sorted(self.recheck), pa.string())
        fresh = {row["id"]: row for row in changed.filter(
            pc.is_in(changed.column("id"), value_set=wanted)).to_pylist()}
        if not fresh:
            return changed
        same: list[str] = []
        for entry in self.manifest.get("files") or []:
            stored = pq.read_table(self.root / entry["name"],
                                   filters=[("id", "in", list(fresh))])
            for row in stored.cast(self.schema).to_pylist():
                if fresh.get(row["id"]) == row:
                    same.append(row["id"])
        if not same:
            return changed
        return changed.filter(pc.invert(pc.is_in(changed.column("id"),
                                                 value_set=pa.array(same, pa.string()))))

    def _rewrite(self, path: Path, touched: pa.Array | None, mine: pa.Table,
                 formulas: pd.DataFrame | None) -> bool:
        source = pq.ParquetFile(path)
        tmp = path.parent / f".{path.stem}.tmp"
        dirty = touched is not None
        writer = pq.ParquetWriter(tmp, self.schema, compression="zstd")
        try:
            for group in range(source.num_row_groups):
                table = source.read_row_group(group)
                if touched is not None:
                    table = table.filter(pc.invert(pc.is_in(table.column("id"),
                                                            value_set=touched)))
                if formulas is not None and table.num_rows:
                    table, cells = self._refresh(table, formulas)
                    self.formula_cells += cells
                    dirty = dirty or cells > 0
                if table.num_rows:
                    writer.write_table(table.cast(self.schema))
            if mine.num_rows:
                writer.write_table(mine)
        finally:
            writer.close()
            source.close()
        if not dirty:
            tmp.unlink()
            return False
        _replace(tmp, path)
        return True

    def _refresh(self, table: pa.Table, formulas: pd.DataFrame) -> tuple[pa.Table, int]:
        ids = table.column("id").to_pylist()
        cells = 0
        for name in formulas.columns:
            if name not in table.column_names:
                continue
            position = table.schema.get_field_index(name)
            old = table.column(name).to_pylist()
            fresh = formulas[name]
            known = {k: (None if pd.isna(v) else v) for k, v in fresh.items()}
            values = [known.get(i, o) if i in known else o for i, o in zip(ids, old, strict=True)]
            column = pa.array(values, type=table.schema.field(name).type, from_pandas=True)
            differ = sum(1 for a, b in zip(old, column.to_pylist(), strict=True) if a != b)
            if differ:
                cells += differ
                table = table.set_column(position, table.schema.field(name), column)
        return table, cells


def read_formulas(crm: ExportMixin, module: str, names: Iterable[str]) -> pd.DataFrame:
    """Every record's formula fields (cheapest path by count), indexed by id."""
    reader: Any = crm  # a CRM: ExportMixin comes with ReadingMixin
    frame: pd.DataFrame = reader.read_records(module, list(names), progress=False)
    return frame
