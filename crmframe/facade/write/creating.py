"""``crm.insert``, ``crm.upsert``, ``crm.delete``: create, create-or-update and delete records.

The functions take the :class:`~crmframe.facade.crm.CRM` (``crm``) first: they are the
methods as they stand (see :class:`~crmframe.facade.write.mixin.WritingMixin`).

Every row is checked against the module's metadata before the first call
(:func:`~crmframe.core.inserts.new_records`: every problem at once, nothing sent); records
then go in ``POST`` batches of 100 (Zoho's maximum), or — for a big insert, when it is
cheaper for the objective — as bulk-write jobs
(:func:`~crmframe.core.inserts.insert_route`). Zoho's per-record
answers become one results row per input row, in row order, whatever the HTTP status
(a mixed 207 is data): the new id, and for ``DUPLICATE_DATA`` the existing record's id
(``duplicate_id``) and the field that matched (``duplicate_field``).

An insert is not idempotent: a batch whose answer is lost (:class:`TransportError` after
the client's retries, or a 5xx other than 503: Zoho may have acted) is settled by reading
back (inserts, deletes) or reported ``unknown`` (upserts) rather than sent again blindly,
so no record is created twice.

"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.inserts import (
    PER_CALL,
    InsertRoute,
    NewRecords,
    check_ids,
    check_upsert_match,
    insert_route,
    new_records,
    post_credits,
    same_answer,
    write_results,
)
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, Costs, Objective
from crmframe.errors import CrmframeError, InputError, TransportError, ZohoAPIError
from crmframe.facade.write.execute import FATAL_ERRORS, error_body
from crmframe.facade.write.frames import by_id, module_of
from crmframe.facade.write.readback import applied_ids, read_back
from crmframe.facade.write.result import PushResult, concat_results
from crmframe.facade.write.rows import status_rows
from crmframe.facade.write.run import client_counts
from crmframe.facade.write.settle import AMBIGUOUS_CODE, is_ambiguous, unknown_message, zoho_now

__all__ = [
    "bulk_insert",
    "counted_result",
    "delete",
    "insert",
    "request_body",
    "send_batches",
    "settle_inserts",
    "upsert",
    "with_ids",
]


def request_body(records: Sequence[Any], trigger: Sequence[str] | None,
                 extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON body of an insert/upsert call."""
    body: dict[str, Any] = {"data": list(records)}
    if trigger is not None:
        body["trigger"] = list(trigger)
    if extra:
        body.update(extra)
    return body


def _error_rows(sent: Sequence[Any], exc: CrmframeError, *, route: str, call: int,
                status: str | None = None) -> pd.DataFrame:
    err = error_body(exc)["error"]
    unknown = is_ambiguous(exc)  # a lost answer, or a 5xx after Zoho may have acted
    return same_answer(sent, code=err["code"], status=status or ("unknown" if unknown else "error"),
                       message=err["message"], details=err["details"], route=route, call=call)


def _not_sent(sent: Sequence[Any], exc: CrmframeError, *, route: str) -> pd.DataFrame:
    return same_answer(sent, code="NOT_SENT", status="not_sent",
                       message=f"not sent: an earlier call failed ({exc})", route=route)


def _progress(wanted: bool | None, total: int, calls: int, desc: str) -> Any:
    from crmframe.facade.write.run import _in_notebook

    if wanted is True or (wanted is None and calls > 1 and _in_notebook()):
        from tqdm.auto import tqdm

        return tqdm(total=total, desc=desc, unit="rec", leave=True)
    return None


def send_batches(
    crm: Any,
    method: str,
    path: str,
    items: Sequence[Any],
    *,
    route: str,
    body_of: Callable[[Sequence[Any]], dict[str, Any] | None],
    params_of: Callable[[Sequence[Any]], dict[str, Any] | None] | None = None,
    progress: bool | None = None,
    settle: Callable[[Sequence[Any], CrmframeError, int], pd.DataFrame] | None = None,
    claimed: set[str] | None = None,
) -> tuple[pd.DataFrame, int]:
    """Send ``items`` in batches of 100; one results row per item, in order, and the calls.

    A whole-request error stops the run when it is fatal (authentication, module, rate
    limit, transport) — the batches after it are ``not_sent`` — and is otherwise the result
    of that batch's items. A batch whose answer is lost is never re-sent by the client;
    ``settle(batch, error, call)`` (when given) finds out by reading back what it did;
    ``claimed`` (when given) collects the ids the answers so far named, for it.
    """
    frames: list[pd.DataFrame] = []
    calls = 0
    stop: CrmframeError | None = None
    batches = [items[i:i + PER_CALL] for i in range(0, len(items), PER_CALL)]
    bar = _progress(progress, len(items), len(batches), route)
    try:
        for number, batch in enumerate(batches):
            if stop is not None:
                frames.append(_not_sent(batch, stop, route=route))
                continue
            calls += 1
            try:
                reply = crm.client.request(
                    method, path, json=body_of(batch),
                    params=params_of(batch) if params_of is not None else None,
                    idempotent=False,  # a lost answer is settled, never replayed blindly
                )
            except (TransportError, ZohoAPIError) as exc:
                # A 5xx other than 503 may come after Zoho acted, like a lost answer.
                if settle is not None and is_ambiguous(exc):
                    try:
                        frames.append(settle(batch, exc, number))
                        _claim(claimed, frames[-1])
                        continue
                    except CrmframeError:
                        pass  # the read-back failed too: reported as before
                frames.append(_error_rows(batch, exc, route=route, call=number))
                if isinstance(exc, FATAL_ERRORS):
                    stop = exc
                continue
            body = reply.body if isinstance(reply.body, dict) else {"data": []}
            frames.append(write_results(body, batch, route=route, call=number))
            _claim(claimed, frames[-1])
            if bar is not None:
                bar.update(len(batch))
    finally:
        if bar is not None:
            bar.close()
    return concat_results(frames), calls


def _claim(claimed: set[str] | None, rows: pd.DataFrame) -> None:
    if claimed is not None and "id" in rows.columns:
        claimed.update(str(i) for i in rows["id"].dropna().tolist())


def _check_trigger(trigger: Sequence[str] | None) -> None:
    if trigger is not None and (isinstance(trigger, str) or not all(
            isinstance(t, str) for t in trigger)):
        raise InputError("trigger must be a list of names such as ['workflow'] (or [] for "
                         f"none), got {trigger!r}")


def counted_result(crm: Any, start: tuple[int, int] | None, results: pd.DataFrame, *,
                   writes: int, write_credits: float, reads: int = 0,
                   jobs: Sequence[Any] = ()) -> PushResult:
    """A :class:`PushResult` whose ``calls`` are every request since ``start`` (the client's
    own counts, when it keeps them), each request beyond the writes costing 1 credit."""
    now = client_counts(crm)
    if start is not None and now is not None:
        calls, writes = now[0] - start[0], now[1] - start[1]
        reads = calls - writes
    else:
        calls = writes + reads
    return PushResult(results, calls=calls, writes=writes, reads=reads,
                      credits=write_credits + reads, jobs=jobs)


def insert(
    crm: Any,
    frame: pd.DataFrame,
    *,
    module: str | None = None,
    trigger: Sequence[str] | None = None,
    progress: bool | None = None,
    objective: Objective = "calls",
    bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
    poll_interval: float = 2.0,
    dry_run: bool = False,
) -> PushResult:
    """Create one record per row of ``frame``; the results carry the new ids in row order.

    Parameters
    ----------
    frame : DataFrame
        One new record per row, columns named by API name (``Last_Name``, ``Owner.id``
        or an ``Owner`` column of ids, ``Date_3``...). No ``id`` values: these records do
        not exist yet. Blank cells (also ``""``) are left out of the record.
    module : str, optional
        Default ``frame.attrs["module"]``.
    trigger : list of str, optional
        Zoho's ``trigger`` (``[]`` runs no workflow/approval/blueprint; ``None`` leaves the
        key out, so Zoho runs them all).
    progress : bool, optional
        A ``tqdm`` bar over the records (default: in a notebook, for more than one call).
    objective, bulk_threshold
        From ``bulk_threshold`` rows the insert goes by bulk-write jobs when that is cheaper
        for ``objective`` (see :func:`~crmframe.core.inserts.insert_route`);
        ``bulk_threshold=None`` always POSTs.
        A bulk insert runs no workflow (Zoho's bulk write has no ``trigger``).
    poll_interval : float
        Seconds between status polls of bulk-write jobs.
    dry_run : bool
        Check and plan only: rows ``planned``, nothing sent.

    Returns
    -------
    PushResult
        ``results``: one row per input row, in row order (``results.index`` is the row
        position): ``id`` (the new id; missing when the row failed), ``code``, ``status``,
        ``message``, ``details``, ``api_name``, ``duplicate_id`` and ``duplicate_field``
        (``DUPLICATE_DATA``: the record that already holds the value, and the field),
        ``route`` (``insert`` or ``bulk_insert``). ``result.frame`` is ``frame`` with an
        ``id`` column holding the new ids.

    Raises
    ------
    ValidationError
        Before any call, with every problem (``.problems``: row, field, value, problem):
        mandatory fields missing, wrong types, values not in a picklist, too long, unknown
        or read-only fields, a unique value repeated, rows that already have an id.
    InputError
        No module, an empty frame, a malformed ``trigger``.

    Examples
    --------
    >>> import pandas as pd
    >>> from crmframe.facade.crm import connect
    >>> from crmframe.sandbox import start
    >>> with start(records=20) as server, connect(**server.credentials) as crm:
    ...     new = pd.DataFrame({"Last_Name": ["Ito", "Berg"], "Company": ["A", "B"]})
    ...     result = crm.insert(new, module="Leads", trigger=[])
    ...     stored = crm.read_records("Leads", ["Last_Name"], ids=list(result.results["id"]))
    >>> result.results["status"].tolist(), sorted(stored["Last_Name"])
    (['success', 'success'], ['Berg', 'Ito'])
    """
    _check_trigger(trigger)
    start = client_counts(crm)
    name = module_of(frame, None, module)
    infos = normalise_fields(crm.read_fields(name))
    new = new_records(frame, infos)
    how = insert_route(len(new.records), objective=objective, bulk_threshold=bulk_threshold)
    if dry_run:
        return _planned(new, frame, how, route="insert")
    if how.route == "bulk_write":
        bulk = bulk_insert(crm, frame, name, new, poll_interval=poll_interval)
        out = counted_result(crm, start, bulk.results, writes=bulk.writes,
                             write_credits=bulk.credits - bulk.reads, reads=bulk.reads,
                             jobs=bulk.jobs)
        out.frame = with_ids(frame, out.results["id"])
        return out
    sent_after = zoho_now(crm.client)
    # Records earlier batches created hold rows' values too: a lost batch's identical row
    # must not take one of them for its own (it would be reported inserted, and was not).
    claimed: set[str] = set()

    def settle(batch: Sequence[Any], exc: CrmframeError, call: int) -> pd.DataFrame:
        return settle_inserts(crm, name, infos, list(batch), exc, call, sent_after,
                               lambda left: request_body(left, trigger), claimed=claimed)

    results, calls = send_batches(
        crm, "POST", name, new.records, route="insert",
        body_of=lambda batch: request_body(batch, trigger), progress=progress,
        settle=settle, claimed=claimed,
    )
    out = counted_result(crm, start, results, writes=calls,
                         write_credits=post_credits(len(new.records), calls))
    out.frame = with_ids(frame, out.results["id"])
    return out


def settle_inserts(
    crm: Any,
    module: str,
    infos: Mapping[str, FieldInfo],
    batch: list[dict[str, Any]],
    exc: CrmframeError,
    call: int,
    sent_after: pd.Timestamp | None,
    body_of: Callable[[Sequence[Any]], dict[str, Any] | None],
    *,
    claimed: set[str] | None = None,
) -> pd.DataFrame:
    """An insert whose answer was lost: find the records it created, never insert twice.

    The module's records created since Zoho's clock before the first batch went out are
    read back; a sent record with a created record holding every one of its values (each
    created record matched once) was created by it (``success``, with its id). The others
    were provably not created — unless the call timed out (Zoho may still be creating
    them: ``unknown``) — and are sent once more. A colleague's identical record created in
    that window would be taken for ours: never a duplicate, at worst a row not inserted.
    """
    if sent_after is None:
        raise InputError("no Date header seen yet: the creation time cannot be bounded")
    since = sent_after.floor("s") - pd.Timedelta(seconds=1)
    fields = [*dict.fromkeys(f for record in batch for f in record if f != "id")]
    listed = by_id(crm.read_records(module, fields=[*fields, "Created_Time"],
                                    modified_since=since.to_pydatetime(), progress=False))
    created = pd.to_datetime(listed["Created_Time"], utc=True, errors="coerce") \
        if "Created_Time" in listed.columns else pd.Series(pd.NaT, index=listed.index)
    candidates = [str(i) for i, t in zip(listed.index.tolist(), created.tolist(), strict=True)
                  if not pd.isna(t) and t >= sent_after.floor("s")]
    used: set[str] = set(claimed or ())  # ids earlier batches' answers gave their rows
    answers: list[dict[str, Any] | None] = []
    for record in batch:
        free = [c for c in candidates if c not in used]
        hits = applied_ids(listed.loc[free] if free else listed.iloc[:0],
                           [{**record, "id": c} for c in free], infos)
        if hits:
            used.add(hits[0])
            answers.append({"code": "SUCCESS", "status": "success", "details": {"id": hits[0]},
                            "message": "record added (its answer was lost; a read-back found "
                                       "the record created since the request)"})
        else:
            answers.append(None)
    left = [r for r, a in zip(batch, answers, strict=True) if a is None]
    again: list[Any] = []
    timed_out = bool(getattr(exc, "timed_out", False))
    if left and not timed_out:
        try:
            reply = crm.client.request("POST", module, json=body_of(left), idempotent=False)
            again = list((reply.body or {}).get("data") or []) if isinstance(
                reply.body, Mapping) else []
        except CrmframeError as resent:
            if not is_ambiguous(resent):
                raise
            again = []
    why = unknown_message(exc, "no record created since the request holds its values, but "
                               "Zoho may still be creating it" if timed_out else
                               "sent again, and that answer was lost too")
    fill = iter(again if len(again) == len(left) else [])
    data = [a if a is not None else next(fill, None) or {
        "code": AMBIGUOUS_CODE, "status": "unknown", "message": why, "details": {}}
        for a in answers]
    return write_results({"data": data}, batch, route="insert", call=call)


def _planned(new: NewRecords, frame: pd.DataFrame, how: InsertRoute, *,
             route: str) -> PushResult:
    results = same_answer(new.records, code="DRY_RUN", status="planned",
                          message=f"would be sent by {how.route}",
                          route=route if how.route == "post" else "bulk_insert")
    out = PushResult(results, dry_run=True)
    out.frame = frame.copy()
    return out


def bulk_insert(crm: Any, frame: pd.DataFrame, name: str, new: NewRecords, *,
                poll_interval: float) -> PushResult:
    """Insert checked records by bulk-write jobs; results as for POST inserts."""
    from crmframe.facade.write import bulkrows

    table = frame.reset_index(drop=True)[[new.columns[f] for f in new.fields]]
    table.attrs = {}
    # new_records checked every value already: not a second pass over the rows
    result = bulkrows.run(crm, table, name, "insert", None, formats={}, defaults={},
                          lookups={}, wait=True, poll_interval=poll_interval, on_update=None,
                          checked=True)
    assert isinstance(result, pd.DataFrame)
    return bulk_push_result(result, new.records, route="bulk_insert")


def bulk_push_result(result: pd.DataFrame, sent: Sequence[Any], *, route: str) -> PushResult:
    """A :class:`PushResult` from a frame-aligned bulk-write result (one row per row)."""
    data = []
    # rows of a job that may have run unseen: unknown (never re-sent), with how to find it
    lost = {row: job["message"] for job in result.attrs.get("unknown_jobs") or []
            for row in job["rows"]}
    # rows of files not sent after a job failed: no job was made of them
    stopped = {row: entry["message"] for entry in result.attrs.get("not_sent") or []
               for row in entry["rows"]}
    for label, status, rid, errors in zip(result.index, result["STATUS"].tolist(),
                                          result["RECORD_ID"].tolist(),
                                          result["ERRORS"].tolist(), strict=True):
        applied = status in ("added", "updated")
        first = errors[0] if errors else (str(status).upper(), None)
        unknown = status == "unknown" and label in lost
        unsent = status == "not_sent" and label in stopped
        data.append({
            "code": "SUCCESS" if applied else first[0],
            "status": "success" if applied else "unknown" if unknown else (
                "not_sent" if unsent else "error"),
            "message": f"record {status}" if applied else lost[label] if unknown else (
                stopped[label]) if unsent else "; ".join(
                f"{c}-{col}" if col else str(c) for c, col in errors) or f"record {status}",
            "details": {"id": None if pd.isna(rid) else str(rid),
                        **({"api_name": first[1]} if not applied and first[1] else {}),
                        "bulk_status": status},
        })
    results = write_results({"data": data}, sent, route=route, call=0)
    jobs = list(result.attrs.get("jobs") or [])
    writes = int(result.attrs.get("calls", 0))  # uploads and job creations
    reads = int(result.attrs.get("reads", 0))   # the org id, result downloads
    # a job costs what the plan's cost model says, its upload 1 (as the update path counts)
    per_job = Costs().bulk_write_job_credits + 1
    out = PushResult(results, calls=writes + reads, writes=writes, reads=reads,
                     credits=float(per_job * len(jobs) + reads), jobs=jobs)
    return out


def with_ids(frame: pd.DataFrame, ids: pd.Series,
             positions: Sequence[int] | None = None) -> pd.DataFrame:
    """``frame`` with ``ids`` (one per position, in order) as the ids of its rows.

    ``positions`` default to every row (an insert's frame); a push gives those of its
    added rows. The ids go where the frame keeps its ids: its ``id`` column, else its
    index (named ``id``) — except that an insert's frame with neither keeps its index and
    gets an ``id`` column first.

    Examples
    --------
    >>> new = pd.DataFrame({"Last_Name": ["Ito", "Berg"]})
    >>> out = with_ids(new, pd.Series(["11", None]))
    >>> list(out.columns), out["id"].iloc[0], out["id"].isna().tolist()
    (['id', 'Last_Name'], '11', [False, True])
    >>> edited = pd.DataFrame({"City": ["Gent", "Oslo"]}, index=pd.Index(["7", None], name="id"))
    >>> with_ids(edited, pd.Series(["12"]), [1]).index.tolist()
    ['7', '12']
    """
    out: pd.DataFrame = frame.copy()
    new = [None if pd.isna(v) else str(v) for v in ids.tolist()]
    where = range(len(out)) if positions is None else positions
    if out.index.name != "id" and "id" in out.columns:
        column: list[str | None] = [None if pd.isna(v) else str(v) for v in out["id"].tolist()]
        for p, rid in zip(where, new, strict=True):
            column[p] = rid
        out["id"] = pd.array(column, dtype="string")
        return out
    if positions is None and out.index.name != "id":
        out.insert(0, "id", pd.Series(pd.array(new, dtype="string"), index=out.index))
        return out
    labels = [None if v is None or pd.isna(v) else str(v) for v in out.index.tolist()]
    for p, rid in zip(where, new, strict=True):
        labels[p] = rid
    out.index = pd.Index(pd.array(labels, dtype="string"), name="id")
    return out


def upsert(
    crm: Any,
    frame: pd.DataFrame,
    *,
    duplicate_check_fields: Sequence[str] | None = None,
    module: str | None = None,
    trigger: Sequence[str] | None = None,
    progress: bool | None = None,
) -> PushResult:
    """Update the record each row matches, or create it (``POST /{module}/upsert``).

    Parameters
    ----------
    frame : DataFrame
        One record per row. A row with an ``id`` updates that record; otherwise Zoho
        matches by ``duplicate_check_fields``.
    duplicate_check_fields : list of str, optional
        Fields matching rows to records, in order (unique fields or the module's system
        duplicate-check field, e.g. ``["Email"]`` for Leads). Default: Zoho's (the system
        field, then the unique fields). Each must be a column of ``frame``.
    module, trigger, progress
        As for :func:`insert`.

    Returns
    -------
    PushResult
        As for :func:`insert`, plus ``action`` (``insert``/``update``) per row;
        ``duplicate_field`` is the field that matched an existing record (``id`` when
        the row named it) and ``duplicate_id`` that record.

    Raises
    ------
    ValidationError
        Before any call, with every problem.
    InputError
        No module, an empty frame, bad ``duplicate_check_fields`` (a field Zoho cannot
        match by), or rows without an id and no column to match them by (they would all
        be inserted: :func:`~crmframe.core.inserts.check_upsert_match`).

    Examples
    --------
    >>> result = crm.upsert(contacts, duplicate_check_fields=["Email"])  # doctest: +SKIP
    >>> result.results["action"].value_counts()                          # doctest: +SKIP
    """
    _check_trigger(trigger)
    if duplicate_check_fields is not None and (
            isinstance(duplicate_check_fields, str)
            or not all(isinstance(f, str) for f in duplicate_check_fields)):
        raise InputError("duplicate_check_fields must be a list of API names, e.g. ['Email']")
    start = client_counts(crm)
    name = module_of(frame, None, module)
    infos = normalise_fields(crm.read_fields(name))
    new = new_records(frame, infos, upsert=True, duplicate_check_fields=duplicate_check_fields)
    check_upsert_match(name, infos, new, duplicate_check_fields)
    extra = ({"duplicate_check_fields": list(duplicate_check_fields)}
             if duplicate_check_fields is not None else None)
    results, calls = send_batches(
        crm, "POST", f"{name}/upsert", new.records, route="upsert",
        body_of=lambda batch: request_body(batch, trigger, extra), progress=progress,
    )
    # A row that named its id matched by id (Zoho leaves duplicate_field null then).
    named = pd.Series(["id" in r for r in new.records], index=results.index)
    by_id = named & results["action"].eq("update").fillna(False) & results[
        "duplicate_field"].isna()
    results.loc[by_id, "duplicate_field"] = "id"
    out = counted_result(crm, start, results, writes=calls,
                         write_credits=post_credits(len(new.records), calls))
    out.frame = with_ids(frame, out.results["id"])
    return out


def delete(
    crm: Any,
    ids: Any,
    *,
    module: str,
    trigger: Sequence[str] | None = None,
    dry_run: bool = False,
    progress: bool | None = None,
) -> PushResult:
    """Delete records by id, 100 per call; one results row per id, in the given order.

    Zoho asks for no confirmation, so the ids are checked first — an empty list or any
    malformed id (not a digit string) raises before any call — and ``dry_run=True``
    shows what would go. Deleted records go to Zoho's recycle bin
    (``GET /{module}/deleted`` lists them).

    Parameters
    ----------
    ids : list of str, Index, Series or DataFrame
        The ids (a frame: its ``id`` index or column). An id given twice is deleted once
        (the repeat: ``skipped``, code ``DUPLICATE_ID``).
    module : str
        The module.
    trigger : list of str, optional
        ``[]`` runs no workflow (Zoho's ``wf_trigger=false``); ``None`` leaves Zoho's
        default (workflows run).
    dry_run : bool
        Report the ids as ``planned`` without deleting anything.

    Returns
    -------
    PushResult
        ``results``: ``id``, ``status`` (``success`` = deleted), ``code``, ``message``
        (``INVALID_DATA`` for an id already gone or unknown, ``RECORD_LOCKED``...).

    Raises
    ------
    InputError
        No ids, malformed ids, no module.

    Examples
    --------
    >>> result = crm.delete(["3652397000009851001"], module="Leads", dry_run=True)  # doctest: +SKIP
    """
    if not isinstance(module, str) or not module:
        raise InputError("which module? pass module='Leads'")
    _check_trigger(trigger)
    given = check_ids(ids)
    unique = list(dict.fromkeys(given))
    route = "delete"
    if dry_run:
        results = same_answer(unique, code="DRY_RUN", status="planned",
                              message="would be deleted", route=route)
        return PushResult(_with_repeats(results, given, route), dry_run=True)
    params: dict[str, Any] = {}
    if trigger is not None:
        params["wf_trigger"] = "true" if "workflow" in trigger else "false"
    start = client_counts(crm)

    def settle(batch: Sequence[Any], exc: CrmframeError, call: int) -> pd.DataFrame:
        return _settle_deletes(crm, module, [str(i) for i in batch], exc, call, params)

    results, calls = send_batches(
        crm, "DELETE", module, unique, route=route, body_of=lambda batch: None,
        params_of=lambda batch: {"ids": ",".join(batch), **params}, progress=progress,
        settle=settle,
    )
    return counted_result(crm, start, _with_repeats(results, given, route), writes=calls,
                          write_credits=float(calls))


def _settle_deletes(crm: Any, module: str, batch: list[str], exc: CrmframeError, call: int,
                    params: dict[str, Any]) -> pd.DataFrame:
    """A delete whose answer was lost: the ids a read-back no longer finds were deleted;
    the others did not go, and are deleted once more (unless the call timed out: Zoho may
    still be at it, so they are reported ``unknown``)."""
    present = set(by_id(read_back(crm, module, ["Modified_Time"], batch)).index.tolist())
    gone = [i for i in batch if i not in present]
    still = [i for i in batch if i in present]
    frames = [status_rows(gone, status="success", code="SUCCESS", route="delete", call=call,
                          message="deleted (its answer was lost; a read-back no longer "
                                  "finds the record)")]
    if still and not getattr(exc, "timed_out", False):
        try:
            reply = crm.client.request("DELETE", module, params={"ids": ",".join(still),
                                                                  **params}, idempotent=False)
        except CrmframeError as resent:
            if not is_ambiguous(resent):
                raise
        else:
            body = reply.body if isinstance(reply.body, dict) else {"data": []}
            frames.append(write_results(body, still, route="delete", call=call))
            still = []
    if still:
        frames.append(status_rows(still, status="unknown", code=AMBIGUOUS_CODE,
                                  route="delete", call=call,
                                  message=unknown_message(exc, "the record is still there, "
                                                          "but Zoho may still be deleting it")))
    out = concat_results(frames)
    order = {rid: n for n, rid in enumerate(batch)}
    ordered: pd.DataFrame = out.sort_values(
        "id", key=lambda ids: ids.map(order)).reset_index(drop=True)
    return ordered


def _with_repeats(results: pd.DataFrame, given: list[str], route: str) -> pd.DataFrame:
    """Results in the order ids were given; a repeated id is ``skipped`` ``DUPLICATE_ID``."""
    if len(given) == len(results):
        return results
    first: dict[str, int] = {}
    rows: list[dict[Any, Any]] = []
    for rid in given:
        if rid in first:
            rows.append({"id": rid, "route": route, "call": pd.NA, "fields": [],
                         "code": "DUPLICATE_ID", "status": "skipped",
                         "message": "id given more than once: deleted once", "details": {}})
            continue
        first[rid] = len(first)
        rows.append(results.iloc[first[rid]].to_dict())
    out: pd.DataFrame = pd.DataFrame(rows)
    return out
