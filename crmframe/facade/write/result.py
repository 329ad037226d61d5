"""``PushResult``: what a push did, one row per record and route, failures as data.

Statuses in ``results``:

=============  ===========================================================================
``success``    Zoho applied the record (or a read-back after an interrupted push found it
               applied: code ``SUCCESS``, message says so)
``error``      Zoho refused the record (``INVALID_DATA``, ``RECORD_LOCKED``...) or the whole
               call (its code on every record of the call), or a bulk-write job failed
               (``JOB_FAILED``)
``skipped``    crmframe did not send it: ``VALIDATION``, ``CONFLICT``, ``NOT_PUSHED_INSERT``,
               ``NOT_PUSHED_DELETE``, ``UNPUSHABLE``, ``DUPLICATE_ID``
``not_sent``   ``NOT_SENT``: an earlier fatal error (authentication, module, rate limit,
               network) stopped the push
``unknown``    sent, outcome unknown: ``TRANSPORT_ERROR`` (no answer after retries),
               ``JOB_TIMEOUT``, ``NO_ANSWER``/``UNREADABLE_ANSWER``; a journal resume or
               :meth:`PushResult.retry` reads the record back before sending it again
``planned``    ``DRY_RUN``: what would be sent
=============  ===========================================================================

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"id": ["1", "2"], "route": ["put", "put"], "call": [0, 0],
...     "fields": [["Phone"], ["Phone"]], "code": ["SUCCESS", "RECORD_LOCKED"],
...     "status": ["success", "error"], "message": ["record updated", "locked"],
...     "details": [{}, {}]})
>>> result = PushResult(frame, calls=1, credits=1.0)
>>> result
<PushResult: 2 records, 1 call, 1 credit — success 1, error 1 (RECORD_LOCKED 1)>
>>> result.failed["id"].tolist(), result.retryable["id"].tolist()
(['2'], [])
>>> result.retryable_mask(locked=True).tolist()   # retry(locked=True) once it is released
[False, True]
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from crmframe.core.results import RESULT_COLUMNS as CORE_RESULT_COLUMNS
from crmframe.errors import InputError

__all__ = [
    "FAILED_STATUSES",
    "LOCKED_CODES",
    "NOT_RETRYABLE_CODES",
    "RESULT_COLUMNS",
    "PushResult",
    "concat_results",
    "empty_results",
    "normalise_results",
    "record_count",
]

#: Columns every results frame has, in this order (more may follow): where the row came
#: from (route, call, fields), then the core's per-record result columns up to
#: ``Modified_Time`` (the lookup parts after it stay optional extras).
RESULT_COLUMNS: tuple[str, ...] = (
    "id",
    "route",
    "call",
    "fields",
    *CORE_RESULT_COLUMNS[1 : CORE_RESULT_COLUMNS.index("Modified_Time") + 1],
)

#: Statuses of rows whose edits did not reach the CRM.
FAILED_STATUSES: frozenset[str] = frozenset({"error", "skipped", "not_sent", "unknown"})

#: Codes that sending the same values again cannot fix: the edit itself must change
#: (``CONFLICT`` is retried only by a retry with ``overwrite=True``).
NOT_RETRYABLE_CODES: frozenset[str] = frozenset(
    {
        "INVALID_DATA",
        "MANDATORY_NOT_FOUND",
        "DUPLICATE_DATA",
        "DEPENDENT_MISMATCH",
        "MULTIPLE_OR_MULTI_ERRORS",
        "VALIDATION",
        "CONFLICT",
        "NOT_PUSHED_INSERT",
        "NOT_PUSHED_DELETE",
        "UNPUSHABLE",
        "DUPLICATE_ID",
        "INVALID_MODULE",
        "INVALID_URL_PATTERN",
        "INVALID_REQUEST_METHOD",
    }
)

#: Codes of records something in the CRM holds (an approval process, a blueprint, a
#: review): the same edit fails the same way until a person releases the record, so
#: :meth:`PushResult.retry` leaves them failed, with the reason, unless ``locked=True``.
#: ``BLOCKED_RECORD`` is the bulk-write result's name for a locked record.
LOCKED_CODES: dict[str, str] = {
    "RECORD_LOCKED": "the record is locked (an approval process, a blueprint or a review "
                     "holds it)",
    "BLOCKED_RECORD": "the record is locked (an approval process, a blueprint or a review "
                      "holds it)",
    "NOT_APPROVED": "the record awaits approval",
}


def empty_results() -> pd.DataFrame:
    """A results frame with no rows and the standard columns and dtypes.

    Examples
    --------
    >>> list(empty_results().columns)[:6]
    ['id', 'route', 'call', 'fields', 'code', 'status']
    """
    return normalise_results(pd.DataFrame({c: [] for c in RESULT_COLUMNS}))


def normalise_results(frame: pd.DataFrame) -> pd.DataFrame:
    """Give a results frame the standard columns (missing ones as NA), order and dtypes."""
    out = frame.copy()
    for column in RESULT_COLUMNS:
        if column not in out.columns:
            out[column] = pd.NA if column != "details" else None
    rest = [c for c in out.columns if c not in RESULT_COLUMNS]
    out = out[[*RESULT_COLUMNS, *rest]]
    for column in ("id", "route", "code", "status", "message", "api_name",
                   "expected_data_type", "json_path"):
        out[column] = out[column].astype("string")
    out["call"] = out["call"].astype("Int64")
    out["fields"] = out["fields"].astype(object)
    out["details"] = out["details"].astype(object)
    if not isinstance(out["Modified_Time"].dtype, pd.DatetimeTZDtype):
        out["Modified_Time"] = pd.to_datetime(
            out["Modified_Time"], utc=True, errors="coerce", format="ISO8601"
        ).astype("datetime64[s, UTC]")
    result: pd.DataFrame = out.reset_index(drop=True)
    result.index.name = "row"
    return result


def concat_results(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Stack results frames (empty ones left out) into one normalised frame.

    Examples
    --------
    >>> len(concat_results([empty_results(), empty_results()]))
    0
    """
    kept = [f for f in frames if len(f)]
    if not kept:
        return empty_results()
    return normalise_results(pd.concat([normalise_results(f) for f in kept], ignore_index=True))


def record_count(ids: pd.Series) -> int:
    """How many records the rows of ``ids`` stand for: one per id, and one per row
    without an id (a new record Zoho refused or that was not sent is a record of its own).

    >>> record_count(pd.Series(["1", "1", None, None], dtype="string"))
    3
    """
    return int(ids.nunique()) + int(ids.isna().sum())


def _plural(n: int | float, word: str) -> str:
    shown = f"{n:g}" if isinstance(n, float) else str(n)
    return f"{shown} {word}" + ("" if n == 1 else "s")


class PushResult:
    """The outcome of :meth:`crmframe.facade.crm.CRM.push` (or a mass update by ids).

    Parameters
    ----------
    results : DataFrame
        One row per record and route (see the module docstring for statuses).
    calls : int
        Every HTTP request the push made: reads (baseline, conflict checks, read-backs,
        the colleague's values of conflicts), writes, job polls, uploads, downloads; the
        client's retries included, token refreshes apart.
    credits : float
        API credits: the writes by the plan's cost model, every other request 1.
    reads : int
        The requests among ``calls`` that were not writes.
    writes : int
        The write requests among ``calls`` (PUT, mass update, upload, bulk-write job).
    jobs : sequence of Job
        Background jobs the push started (bulk writes).
    plan : Plan, optional
        The plan that was executed.
    changes : ChangeSet, optional
        The changes the plan came from.
    retry_with : callable, optional
        ``retry_with(result, overwrite)`` re-pushes the retryable failures; supplied by
        the CRM that made the push.
    dry_run : bool
        True when nothing was sent.

    Examples
    --------
    >>> PushResult(empty_results()).summary().empty
    True
    """

    def __init__(
        self,
        results: pd.DataFrame,
        *,
        calls: int = 0,
        credits: float = 0.0,
        reads: int = 0,
        writes: int | None = None,
        jobs: Sequence[Any] = (),
        plan: Any = None,
        changes: Any = None,
        retry_with: Callable[[PushResult, bool], PushResult] | None = None,
        dry_run: bool = False,
        overwrite: bool = False,
        retry_locked: bool = False,
    ) -> None:
        self.results = normalise_results(results)
        self.calls = int(calls)
        self.credits = float(credits)
        self.reads = int(reads)
        self.writes = int(calls) - int(reads) if writes is None else int(writes)
        self.jobs = list(jobs)
        self.plan = plan
        self.changes = changes
        self.dry_run = dry_run
        self.overwrite = overwrite
        #: Whether :meth:`retryable_mask` counts locked/unapproved records as retryable.
        self.retry_locked = retry_locked
        self._retry_with = retry_with
        #: Inserts: the written frame with the new ids in an ``id`` column (push: the
        #: edited frame with them), ready as the next ``original``; else None.
        self.frame: pd.DataFrame | None = None

    # -- views ---------------------------------------------------------------------------

    def _rows(self, mask: pd.Series) -> pd.DataFrame:
        rows: pd.DataFrame = self.results.loc[mask.to_numpy(dtype=bool)]
        return rows

    @property
    def failed(self) -> pd.DataFrame:
        """Rows whose edits did not reach the CRM (status error/skipped/not_sent/unknown)."""
        mask = self.results["status"].isin(FAILED_STATUSES).fillna(False).astype(bool)
        return self._rows(mask)

    @property
    def succeeded(self) -> pd.DataFrame:
        """Rows Zoho applied."""
        return self._rows((self.results["status"] == "success").fillna(False).astype(bool))

    def retryable_mask(
        self, *, overwrite: bool | None = None, locked: bool | None = None
    ) -> pd.Series:
        """Boolean mask of the failed rows that sending again could fix.

        Locked and unapproved records (:data:`LOCKED_CODES`) count only with
        ``locked=True``; ``CONFLICT`` only with ``overwrite=True``.
        """
        overwrite = self.overwrite if overwrite is None else overwrite
        locked = self.retry_locked if locked is None else locked
        blocked = set(NOT_RETRYABLE_CODES)
        if overwrite:
            blocked.discard("CONFLICT")
        if not locked:
            blocked.update(LOCKED_CODES)
        failed = self.results["status"].isin(FAILED_STATUSES).fillna(False).astype(bool)
        fixable = ~self.results["code"].isin(blocked).fillna(False).astype(bool)
        mask: pd.Series = failed & fixable
        return mask

    @property
    def retryable(self) -> pd.DataFrame:
        """The failed rows :meth:`retry` would send again."""
        return self._rows(self.retryable_mask())

    @property
    def ok(self) -> bool:
        """True when no row failed."""
        return self.failed.empty

    def summary(self) -> pd.DataFrame:
        """Counts by ``status`` and ``code`` (records, not rows: one id per route).

        Examples
        --------
        >>> frame = pd.DataFrame({"id": ["1"], "status": ["success"], "code": ["SUCCESS"]})
        >>> PushResult(frame).summary()["records"].tolist()
        [1]
        """
        if self.results.empty:
            empty: pd.DataFrame = pd.DataFrame(
                {"status": pd.Series([], dtype="string"), "code": pd.Series([], dtype="string"),
                 "records": pd.Series([], dtype="int64")}
            )
            return empty
        counted: pd.DataFrame = (
            self.results.groupby(["status", "code"], dropna=False, sort=True)["id"]
            .agg(record_count)
            .astype("int64")
            .rename("records")
            .reset_index()
        )
        return counted

    def with_rows(self, rows: pd.DataFrame, *, reads: int = 0) -> PushResult:
        """A copy with ``rows`` added in front (e.g. records a read-back found applied)."""
        merged = pd.concat([normalise_results(rows), self.results], ignore_index=True)
        return self._copy(merged, reads=self.reads + reads)

    def _copy(
        self, results: pd.DataFrame, *, reads: int | None = None, retry_locked: bool | None = None
    ) -> PushResult:
        more = 0 if reads is None else reads - self.reads  # read-backs made afterwards
        return PushResult(
            results, calls=self.calls + more, credits=self.credits + more,
            reads=self.reads + more, writes=self.writes,
            jobs=self.jobs, plan=self.plan, changes=self.changes,
            retry_with=self._retry_with, dry_run=self.dry_run, overwrite=self.overwrite,
            retry_locked=self.retry_locked if retry_locked is None else retry_locked,
        )

    # -- retry ---------------------------------------------------------------------------

    def held_back(self, *, locked: bool | None = None) -> pd.DataFrame:
        """Failed rows :meth:`retry` leaves failed because the CRM holds the record.

        Their ``message`` says why and how to send them anyway; :meth:`retry` carries them
        into its result, so every record keeps an outcome.

        Examples
        --------
        >>> frame = pd.DataFrame({"id": ["1"], "route": ["put"], "status": ["error"],
        ...     "code": ["RECORD_LOCKED"], "message": ["locked"]})
        >>> PushResult(frame).held_back()["message"].str.startswith("not retried").tolist()
        [True]
        """
        locked = self.retry_locked if locked is None else locked
        if locked:
            none: pd.DataFrame = self.results.iloc[0:0]
            return none
        failed = self.results["status"].isin(FAILED_STATUSES).fillna(False).astype(bool)
        held = failed & self.results["code"].isin(list(LOCKED_CODES)).fillna(False).astype(bool)
        rows: pd.DataFrame = self._rows(held).copy()
        rows["message"] = [
            message if message.startswith("not retried:") else
            f"not retried: {LOCKED_CODES[str(code)]}, so sending the same edit again fails "
            f"the same way ({code}: {message}); retry(locked=True) once it is released"
            for code, message in zip(rows["code"], rows["message"].fillna(""), strict=True)
        ]
        return rows

    def retry(self, *, overwrite: bool | None = None, locked: bool = False) -> PushResult:
        """Push again only the failed rows that can succeed by being sent again.

        Rows refused for their values (``INVALID_DATA``, ``VALIDATION``...) are not resent;
        ``CONFLICT`` rows are resent only with ``overwrite=True``; records the CRM holds
        (``RECORD_LOCKED``, ``NOT_APPROVED``) only with ``locked=True`` — they come back in
        the new result unchanged, with a message that says why. The answer is a new
        :class:`PushResult`, which can itself be retried.

        Raises
        ------
        InputError
            When this result did not come from a CRM (nothing to retry with).
        """
        if self._retry_with is None:
            raise InputError("this PushResult was not made by a CRM push: nothing to retry with")
        source = self._copy(self.results, retry_locked=True) if locked else self
        held = source.held_back()
        again = self._retry_with(source, self.overwrite if overwrite is None else overwrite)
        return again.with_rows(held) if len(held) else again

    # -- display -------------------------------------------------------------------------

    def _counts_text(self) -> str:
        if self.results.empty:
            return "nothing to push"
        parts = []
        for status, group in self.results.groupby("status", sort=False, dropna=False):
            n = record_count(group["id"])
            text = f"{status} {n}"
            if status != "success" and status != "planned":
                codes = group.groupby("code", dropna=False)["id"].agg(record_count)
                shown = ", ".join(f"{code} {int(k)}" for code, k in codes.items())
                text += f" ({shown})"
            parts.append(text)
        return ", ".join(parts)

    def __repr__(self) -> str:
        n = record_count(self.results["id"]) if not self.results.empty else 0
        head = "<PushResult (dry run)" if self.dry_run else "<PushResult"
        return (
            f"{head}: {_plural(n, 'record')}, {_plural(self.calls, 'call')}, "
            f"{_plural(self.credits, 'credit')} — {self._counts_text()}>"
        )

    def _repr_html_(self) -> str:
        title = html.escape(repr(self).strip("<>"))
        table = self.summary().to_html(index=False, border=0)
        return f"<div><p><b>{title}</b></p>{table}</div>"
