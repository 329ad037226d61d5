"""One ``crm.export`` run: pages or bulk slices typed batch by batch into part files.

Imported when an export starts (it loads pyarrow; ``import crmframe`` does not).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from crmframe.core.arrowtables import frame_to_table, schema_for
from crmframe.core.bulkcsv import iter_csv_batches
from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import normalise_fields
from crmframe.core.records import RecordsBuilder
from crmframe.errors import JobFailed, NotFoundError
from crmframe.facade.dataset import PartWriter, part_name, save_manifest
from crmframe.facade.lookupnames import LookupNames
from crmframe.http.bulk import (
    BulkSlice,
    bulk_query,
    create_bulk_read,
    download_bulk_read_to,
    next_start,
    read_bulk_state,
    wait_bulk_read,
)
from crmframe.http.paging import iter_record_pages

if TYPE_CHECKING:
    from crmframe.facade.exporting import ExportMixin

__all__ = ["GROUP_ROWS", "Bar", "ExportRun", "list_kinds", "now_text"]

log = logging.getLogger("crmframe.facade")

#: Records per Parquet row group.
GROUP_ROWS = 5_000
#: Records typed at a time (then held as Arrow until a row group is complete): a batch of
#: parsed records as Python objects costs ~10 KB each, its Arrow form ~1 KB.
TYPE_ROWS = 1_000
#: Field names per ``GET /{module}`` on v3+.
_PER_CALL = 49


def now_text() -> str:
    """Now, UTC, ISO 8601 without microseconds."""
    return datetime.now(timezone.utc).replace(microsecond=0).isoformat()


def list_kinds(meta: Any) -> dict[str, str]:
    """Columns that hold lists (multi-select picklists), by field metadata."""
    return {name: "list" for name, info in normalise_fields(meta).items()
            if info.kind is Kind.LIST and name != "Tag"}


class Bar:
    """Progress: a tqdm bar (``True``; a notebook by default) or a callback."""

    def __init__(self, progress: Any, total: int | None, desc: str) -> None:
        self._callback = progress if callable(progress) else None
        self._bar: Any = None
        self._done = 0
        self._total = total
        if self._callback is None:
            from crmframe.facade.reading import _Progress

            self._bar = _Progress(progress, total, desc)

    def update(self, rows: int) -> None:
        self._done += rows
        if self._callback is not None:
            self._callback(self._done, self._total)
        else:
            self._bar.update(rows)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


class ExportRun:
    """One export run: the manifest, the writer, the calls made."""

    def __init__(self, crm: ExportMixin, root: Path, manifest: dict[str, Any],
                 meta: pd.DataFrame, rows_per_file: int, bar: Bar) -> None:
        self.crm = crm
        self.root = root
        self.manifest = manifest
        self.meta = meta
        self.names: list[str] = list(manifest["fields"])
        self.module: str = manifest["module"]
        self.rows_per_file = rows_per_file
        # Row groups never straddle files, so a file holds exactly rows_per_file records.
        self.group_rows = min(GROUP_ROWS, rows_per_file)
        self.type_rows = min(TYPE_ROWS, self.group_rows)
        self.bar = bar
        self.lookups = LookupNames(crm.client, self.module, meta, self.names)
        self.kinds = list_kinds(meta)
        self.writer: PartWriter | None = None
        self.pending: dict[str, Any] = dict(manifest.get("resume") or {})
        self.bulk_jobs = 0
        files = manifest.get("files") or []
        self.done_ids: set[str] = set()
        for entry in files:
            table = pq.read_table(root / entry["name"], columns=["id"])
            self.done_ids.update(table.column("id").to_pylist())
        if files:
            self.schema: pa.Schema | None = pq.read_schema(root / files[0]["name"])
        else:
            self.schema = None

    # -- writing -----------------------------------------------------------------------

    def _on_file(self, name: str, rows: int) -> None:
        self.manifest.setdefault("files", []).append({"name": name, "rows": rows})
        self.manifest["resume"] = dict(self.pending)
        save_manifest(self.root, self.manifest)

    def _writer_for(self, frame: pd.DataFrame) -> PartWriter:
        if self.writer is None:
            if self.schema is None:
                self.schema = schema_for(frame, self.kinds)
                self.manifest["dtypes"] = [[str(c), str(t)] for c, t in frame.dtypes.items()]
                save_manifest(self.root, self.manifest)
            self.writer = PartWriter(self.root, self.schema,
                                     first_number=len(self.manifest.get("files") or []),
                                     rows_per_file=self.rows_per_file, on_file=self._on_file)
        return self.writer

    def frame_of(self, records: Iterable[Any], *, from_csv: bool = False) -> pd.DataFrame:
        """Typed frame of pages (or CSV record batches: lookup names filled)."""
        builder = RecordsBuilder(self.meta, columns=self.names, module=self.module)
        for page in records:
            builder.add(page)
        frame = builder.to_frame()
        return self.lookups.fill(frame) if from_csv else frame

    def write(self, frame: pd.DataFrame, resume_after: Mapping[str, Any]) -> None:
        """Write a batch, split where a file fills up; ``resume_after`` is where a killed
        run resumes if a file closes during this batch (a point at or before the batch:
        records already in complete files are skipped by id)."""
        if self.done_ids:
            frame = frame[~frame.index.isin(list(self.done_ids))]
        while len(frame):
            writer = self._writer_for(frame)
            room = self.rows_per_file - writer.rows_in_file
            head, frame = frame.iloc[:room], frame.iloc[room:]
            writer.write(head)
            self.bar.update(len(head))
            if writer.rows_in_file >= self.rows_per_file:
                self.pending = dict(resume_after)
                writer.close_file()
            elif writer.buffered >= self.group_rows:
                writer.flush()

    def close(self, resume_after: Mapping[str, Any]) -> None:
        if self.writer is not None:
            self.pending = dict(resume_after)
            self.writer.close_file()

    def finish_empty(self) -> None:
        """A module with no records still gets one (empty) file with every column typed."""
        if self.manifest.get("files"):
            return
        frame = self.frame_of([])
        self._writer_for(frame)
        assert self.schema is not None
        name = part_name(0)
        tmp = self.root / ".part-00000.tmp"
        pq.write_table(frame_to_table(frame, self.schema), tmp)
        tmp.replace(self.root / name)
        self._on_file(name, 0)

    # -- the two paths ---------------------------------------------------------------

    def bulk(self, criteria: Mapping[str, Any] | None) -> None:
        client = self.crm.client
        from crmframe.facade.reading import subform_fields

        # Zoho's bulk read exports no subform field (rows come from the subform module)
        left_out = set(subform_fields(self.meta, self.names))
        fields = [f for f in self.lookups.export_fields() if f not in left_out]
        state = dict(self.pending) or {"page": 1, "token": None}
        while not state.get("done"):
            job: Mapping[str, Any] | None = None
            job_id = state.get("job_id")
            if job_id:
                try:
                    job = read_bulk_state(client, str(job_id))
                    job = wait_bulk_read(client, str(job_id), sleep=self.crm.bulk_sleep)
                except (NotFoundError, JobFailed):
                    log.info("bulk job %s is gone; creating one for the same slice", job_id)
                    job = None
            if job is None:
                query = bulk_query(self.module, client.version, fields=fields,
                                   criteria=criteria, page=int(state.get("page") or 1),
                                   page_token=state.get("token"))
                job_id = create_bulk_read(client, query)
                self.bulk_jobs += 1
                state["job_id"] = job_id
                self.pending = dict(state)
                self.manifest["resume"] = dict(state)
                save_manifest(self.root, self.manifest)
                job = wait_bulk_read(client, str(job_id), sleep=self.crm.bulk_sleep)
            result = job.get("result")
            # The slice's zip goes to an unnamed file beside the dataset (nothing left
            # behind by a kill), not to memory: 200,000 rows are some 45 MB zipped.
            with tempfile.TemporaryFile(dir=self.root, prefix=".bulk-") as sink:
                download_bulk_read_to(client, job, sink)
                piece = BulkSlice(str(job_id), sink,
                                  result if isinstance(result, Mapping) else {})
                for batch in iter_csv_batches(piece.lines(), self.meta,
                                              renames=self.lookups.renames,
                                              size=self.type_rows):
                    self.write(self.frame_of([batch], from_csv=True), state)
            if piece.more_records:
                page, token = next_start(piece, int(state.get("page") or 1))
                state = {"page": page, "token": token}
            else:
                state = {"done": True}
            self.close(state)
            self.pending = dict(state)

    def pages(self, read_all: bool) -> None:
        client = self.crm.client
        all_in_one = read_all and client.version != "v8"
        chunks = ([list(self.names)] if all_in_one else
                  [self.names[i:i + _PER_CALL] for i in range(0, len(self.names), _PER_CALL)]
                  or [[]])
        token = (self.pending or {}).get("token")
        pages = iter_record_pages(client, self.module,
                                  fields=None if all_in_one else ["id", *chunks[0]],
                                  page_token=token)
        batch: list[dict[str, Any]] = []
        # Where this batch's first page came from: a resume re-reads the batch.
        resume: dict[str, Any] = {"token": token}
        following: dict[str, Any] = resume
        for body in pages:
            batch.append(body)
            info = body.get("info") or {}
            next_token = info.get("next_page_token") if isinstance(info, Mapping) else None
            following = {"token": next_token if isinstance(next_token, str) else None}
            if sum(len(b.get("data") or []) for b in batch) >= self.type_rows:
                self.write(self._joined(batch, chunks[1:]), resume)
                batch, resume = [], following
        if batch:
            self.write(self._joined(batch, chunks[1:]), resume)
        self.close({"done": True})
        self.pending = {"done": True}

    def _joined(self, bodies: list[dict[str, Any]], rest: list[list[str]]) -> pd.DataFrame:
        if not rest:
            return self.frame_of(bodies)
        records: dict[str, dict[str, Any]] = {}
        for body in bodies:
            for record in body.get("data") or []:
                records[str(record.get("id"))] = dict(record)
        ids = list(records)
        for chunk in rest:
            for body in iter_record_pages(self.crm.client, self.module,
                                          fields=["id", *chunk], ids=ids):
                for record in body.get("data") or []:
                    target = records.get(str(record.get("id")))
                    if target is not None:
                        target.update(record)
        return self.frame_of([list(records.values())])
