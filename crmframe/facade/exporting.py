"""``crm.export``: a module streamed into a Parquet dataset, resumable after a kill.

Pages or bulk-read result files are typed batch by batch (1,000 records; 5,000 make a
row group) by the same :class:`~crmframe.core.records.RecordsBuilder` as ``read_records`` — lookup
names filled the same way (:mod:`crmframe.facade.lookupnames`) — and appended to the
current part file. Memory holds one row group, never the module; a bulk slice's zip is
downloaded to an unnamed file beside the dataset and decompressed as it is read.

After each complete file the manifest records where the export stands (the bulk job and
slice, or the page token), so a run that was killed continues from its last complete
file: the same job's result is downloaded again when Zoho still has it (results live a
day), otherwise a job is created for the same slice; records already in complete files
are skipped by id.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.core.metadata import fields_to_frame
from crmframe.errors import InputError
from crmframe.http.changes import cursor_from, server_time

if TYPE_CHECKING:
    from crmframe.http.client import ZohoClient

__all__ = ["ExportMixin", "ExportResult", "SyncResult"]

log = logging.getLogger("crmframe.facade")

#: Credits of one bulk-read job beyond the call that creates it (50 in all).
_BULK_EXTRA = 49



@dataclass(frozen=True)
class ExportResult:
    """What ``crm.export`` did.

    ``calls`` counts HTTP calls this run made; ``credits`` prices them by Zoho's table
    (1 a call, 50 a bulk-read job).
    """

    path: str
    module: str
    method: str
    rows: int
    files: int
    calls: int
    credits: int
    resumed: bool

    def __str__(self) -> str:
        again = " (resumed)" if self.resumed else ""
        return (f"{self.module} → {self.path}: {self.rows:,} records in {self.files} "
                f"file(s) by {self.method}{again}; {self.calls} calls, {self.credits} credits")


@dataclass(frozen=True)
class SyncResult:
    """What ``crm.sync`` did: records changed/added/deleted, formula cells refreshed,
    calls and credits. ``exported`` is the first sync's export (``None`` later)."""

    path: str
    module: str
    changed: int
    added: int
    deleted: int
    formula_cells: int | None
    files_rewritten: int
    rows: int
    calls: int
    credits: int
    deletions_checked: bool = True
    exported: ExportResult | None = None

    @property
    def unchanged(self) -> bool:
        """Nothing changed, nothing deleted, no formula value moved."""
        return not (self.changed or self.added or self.deleted or self.formula_cells)

    def __str__(self) -> str:
        if self.exported is not None:
            return f"first sync: {self.exported}"
        formulas = ("" if self.formula_cells is None
                    else f", {self.formula_cells} formula value(s) refreshed")
        return (f"{self.module} → {self.path}: {self.changed} changed, {self.added} new, "
                f"{self.deleted} deleted{formulas}; {self.rows:,} records; "
                f"{self.calls} calls, {self.credits} credits")


class ExportMixin:
    """``export`` and ``sync`` of :class:`~crmframe.facade.crm.CRM`."""

    client: ZohoClient
    version: str
    bulk_sleep: Callable[[float], None]
    _field_cache: dict[str, pd.DataFrame]

    if TYPE_CHECKING:
        def read_fields(self, module: str, *, refresh: bool = False) -> pd.DataFrame: ...
        def count_records(self, module: str, *, cvid: str | None = None) -> int | None: ...
        def _field_names(self, module: str, fields: Iterable[str] | str | None
                         ) -> list[str]: ...


    def export(
        self,
        module: str,
        path: str | Path,
        *,
        fields: Iterable[str] | str | None = None,
        criteria: Mapping[str, Any] | None = None,
        method: str = "auto",
        progress: Any = None,
        rows_per_file: int = 100_000,
    ) -> ExportResult:
        """Stream ``module`` into a Parquet dataset at ``path`` (a directory).

        The files hold the frame ``read_records`` gives (same columns and dtypes; ids as
        strings; datetimes tz-aware UTC, stored in milliseconds as Parquet wants) plus an
        ``id`` column, so ``pandas.read_parquet(path)``,
        ``duckdb.sql("select ... from read_parquet('path/**/*.parquet')")``,
        ``polars.read_parquet("path/**/*.parquet")`` and Spark read it as it is;
        :func:`crmframe.read_dataset` gives back exactly ``read_records``' dtypes.

        Parameters
        ----------
        module : str
        path : str or Path
            A new or empty directory, or one a killed export left (it resumes).
        fields : list of str, optional
            Default: every field but subform and line-item fields (``Lead_Contacts``,
            ``Quoted_Items``: list-of-dict cells, which Zoho's bulk read does not export;
            read them with ``read_records`` and :func:`crmframe.subform_frame`).
        criteria : dict, optional
            Bulk-read criteria (``{"field": {"api_name": "Lead_Status"}, "comparator":
            "equal", "value": "Contacted"}``); implies the bulk path.
        method : {"auto", "pages", "bulk"}
            ``"auto"``: the cheaper in credits (see ``read_records``; bulk from ~6,000
            records of all fields).
        progress : bool, callable, optional
            A ``tqdm`` bar (default: in a notebook), or ``f(rows_done, total)``.
        rows_per_file : int
            Records per part file (default 100,000; row groups of 5,000).

        Returns
        -------
        ExportResult
            rows, files, calls and credits of this run.

        Raises
        ------
        InputError
            ``path`` holds other files, or a complete dataset (use :meth:`sync`), or a
            killed export of other fields.

        Examples
        --------
        >>> crm.export("Leads", "exports/leads")              # doctest: +SKIP
        >>> duckdb.sql("select Lead_Status, count(*) from "
        ...            "read_parquet('exports/leads/**/*.parquet') group by 1")  # doctest: +SKIP
        """
        from crmframe.facade.dataset import clean_strays, load_manifest, save_manifest
        from crmframe.facade.exportrun import Bar, ExportRun, now_text
        from crmframe.facade.reading import estimate_credits, subform_fields

        if method not in ("auto", "pages", "bulk"):
            raise InputError(f"method must be 'auto', 'pages' or 'bulk', got {method!r}")
        if criteria is not None and method == "pages":
            raise InputError("criteria are bulk-read criteria: use method='bulk' or 'auto'")
        if not isinstance(rows_per_file, int) or rows_per_file < 1:
            raise InputError(f"rows_per_file must be a positive integer, got {rows_per_file!r}")
        root = Path(path)
        names = self._field_names(module, fields)
        calls0 = self.client.request_count
        meta = self.read_fields(module)
        if fields is None:
            # the dataset holds no subform column (see ``fields``)
            left_out = set(subform_fields(meta, names))
            names = [n for n in names if n not in left_out]
        manifest = load_manifest(root) if root.exists() else None
        resumed = False
        if manifest is not None:
            if manifest.get("state") == "complete":
                raise InputError(
                    f"{root} already holds a complete export of {manifest.get('module')}; "
                    "bring it up to date with crm.sync(module, path), or export elsewhere")
            if manifest.get("module") != module or manifest.get("fields") != names or (
                    manifest.get("criteria") != (dict(criteria) if criteria else None)):
                raise InputError(
                    f"{root} holds an unfinished export of {manifest.get('module')} with "
                    "other fields or criteria; resume it with the same arguments or use "
                    "another directory")
            resumed = True
        elif root.exists() and any(root.iterdir()):
            raise InputError(f"{root} is not empty and is no crmframe dataset: export "
                             "into a new or empty directory")
        if manifest is None:
            root.mkdir(parents=True, exist_ok=True)
            total = self.count_records(module) if criteria is None else None
            chosen = method
            if method == "auto":
                if criteria is not None:
                    chosen = "bulk"
                else:
                    cost = estimate_credits(total or 0, len(names), self.version)
                    # a bulk read exports no subform field: page those unless too many
                    cheaper = cost["bulk"] < cost["pages"] and not subform_fields(meta, names)
                    chosen = ("bulk" if total is not None and (
                        cheaper or total > 100_000) else "pages")
            manifest = {
                "module": module, "fields": names, "criteria": dict(criteria) if criteria
                else None, "method": chosen, "state": "exporting", "files": [],
                "resume": {}, "started": now_text(), "total": total, "calls": 0, "credits": 0,
                # The export reads every formula value: the first refresh is due from now.
                "formula_refreshed": now_text(),
            }
            # Deletions before this instant concern no record the export reads: the first
            # sync asks the deletion log only from here (not its whole 60-120 days).
            manifest["cursor"], manifest["deleted_cursor"] = self._newest_change(module)
            save_manifest(root, manifest)
        clean_strays(root, {f["name"] for f in manifest.get("files") or []})
        bar = Bar(progress, manifest.get("total"), f"{module} → {root.name}")
        run = ExportRun(self, root, manifest, meta, rows_per_file, bar)
        bar.update(len(run.done_ids))
        try:
            if manifest["method"] == "bulk":
                run.bulk(manifest.get("criteria"))
            else:
                run.pages(read_all=fields is None)
            run.finish_empty()
        except BaseException:
            if run.writer is not None:
                run.writer.abort()
            raise
        finally:
            bar.close()
        calls = self.client.request_count - calls0
        credits = calls + _BULK_EXTRA * run.bulk_jobs
        files = manifest.get("files") or []
        manifest.update({
            "state": "complete", "resume": {}, "finished": now_text(),
            "rows": sum(int(f["rows"]) for f in files),
            "calls": int(manifest.get("calls") or 0) + calls,
            "credits": int(manifest.get("credits") or 0) + credits,
        })
        manifest.setdefault("history", []).append({
            "at": manifest["finished"], "kind": "export", "rows": manifest["rows"],
            "calls": calls, "credits": credits, "resumed": resumed})
        save_manifest(root, manifest)
        return ExportResult(str(root), module, str(manifest["method"]), int(manifest["rows"]),
                            len(files), calls, credits, resumed)

    def sync(
        self,
        module: str,
        path: str | Path,
        *,
        fields: Iterable[str] | str | None = None,
        formula_every: timedelta | None = timedelta(days=1),
        progress: Any = None,
        rows_per_file: int = 100_000,
    ) -> SyncResult:
        """Keep the Parquet dataset at ``path`` a current copy of ``module``.

        The first call exports (:meth:`export`; a killed export resumes). Later calls
        fetch only what changed since the cursor kept in the dataset's manifest:

        * records modified since (``GET /{module}`` with ``If-Modified-Since``, oldest
          first, page tokens; COQL keyset paging on ``Modified_Time, id`` past 100,000);
        * deletions since the last one seen (``GET /{module}/deleted``, 2 credits a call);
        * formula fields of every record when ``formula_every`` has passed since their
          last refresh (Zoho recomputes them without touching ``Modified_Time``);
          ``None`` never refreshes them.

        ``fields``, ``progress`` and ``rows_per_file`` are those of the first export.

        An unchanged module costs one call per endpoint (field metadata, listing: 304,
        deletions: 204/304). Files are rewritten one at a time and moved into place
        atomically, changed records replaced in the file that held them, so readers see
        each record once at every instant; the cursor is saved last, so a sync killed
        half way is finished by the next one.

        Returns
        -------
        SyncResult
            Counts, calls and credits of this run; the manifest keeps the cursor and a
            history of every run (``crmframe.read_dataset`` reads the data).

        Examples
        --------
        >>> crm.sync("Leads", "exports/leads")                        # doctest: +SKIP
        >>> crm.sync("Leads", "exports/leads", formula_every=timedelta(hours=6))  # doctest: +SKIP
        """
        from crmframe.facade.dataset import clean_strays, load_manifest, save_manifest
        from crmframe.facade.exportrun import now_text
        from crmframe.facade.syncrun import SyncRun, read_formulas

        root = Path(path)
        manifest = load_manifest(root) if root.exists() else None
        if manifest is None or manifest.get("state") != "complete":
            exported = self.export(module, root, fields=fields, progress=progress,
                                   rows_per_file=rows_per_file)
            return SyncResult(str(root), module, 0, exported.rows, 0, None, exported.files,
                              exported.rows, exported.calls, exported.credits,
                              exported=exported)
        if manifest.get("module") != module:
            raise InputError(f"{root} holds {manifest.get('module')}, not {module}")
        if manifest.get("criteria"):
            raise InputError(f"{root} is an export with criteria: a sync would bring in every "
                             "changed record; sync a dataset exported without criteria")
        started = now_text()
        calls0 = self.client.request_count
        clean_strays(root, {f["name"] for f in manifest.get("files") or []})
        # The field metadata, fresh, and the server's clock before anything is read.
        reply = self.client.request("GET", "settings/fields", params={"module": module})
        meta = fields_to_frame(reply.body or {"fields": []})
        self._field_cache[module] = meta
        run = SyncRun(self, root, manifest, meta, server_time(reply.headers))
        run.fetch_changes()
        deleted = run.fetch_deletions()
        formulas = None
        if run.formula_due(formula_every):
            formulas = read_formulas(self, module, run.formula_fields)
        replaced, added, rewritten = run.apply(formulas)
        calls = self.client.request_count - calls0
        # 1 credit a call (the price of /deleted is not published for CRM; see README).
        credits = calls
        if formulas is not None:
            manifest["formula_refreshed"] = started
        gone = manifest.get("rows", 0) + added - sum(int(f["rows"]) for f in manifest["files"])
        manifest.update({
            "cursor": run.cursor, "deleted_cursor": run.deleted_cursor,
            "rows": sum(int(f["rows"]) for f in manifest["files"]),
            "calls": int(manifest.get("calls") or 0) + calls,
            "credits": int(manifest.get("credits") or 0) + credits,
            "synced": started,
        })
        manifest.setdefault("history", []).append({
            "at": started, "kind": "sync", "changed": replaced, "added": added,
            "deleted": max(0, gone), "deletions_asked": deleted,
            "formula_cells": run.formula_cells if formulas is not None else None,
            "files_rewritten": rewritten, "calls": calls, "credits": credits})
        save_manifest(root, manifest)
        return SyncResult(str(root), module, replaced, added, max(0, gone),
                          run.formula_cells if formulas is not None else None, rewritten,
                          int(manifest["rows"]), calls, credits, run.deletions_checked)

    def _newest_change(self, module: str) -> tuple[dict[str, Any] | None, str | None]:
        """The cursor an export starts from: the newest ``Modified_Time`` before it reads,
        and the server's clock then (where the deletions to apply start).

        Anything changed while the export runs is modified at or after it, so the first
        sync (``If-Modified-Since`` is inclusive) sees it.
        """
        reply = self.client.request("GET", module, params={
            "fields": "id,Modified_Time", "sort_by": "Modified_Time", "sort_order": "desc",
            "per_page": 1, "page": 1})
        now = server_time(reply.headers)
        for record in (reply.body or {}).get("data") or []:
            return cursor_from(str(record.get("Modified_Time")), [str(record.get("id"))],
                               now), now
        return None, now
