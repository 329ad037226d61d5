"""``crm.plan``, ``crm.push``, ``crm.mass_update``, ``crm.bulk_write``: edits back to Zoho.

:class:`WritingMixin` is one part of :class:`crmframe.facade.crm.CRM`. It uses the other
parts through ``self``: ``client`` (a :class:`~crmframe.http.client.ZohoClient`),
``read_fields`` and ``read_records`` (reading), ``wait`` (jobs).

A push goes: module and field metadata → baseline (given, or read back for the edited ids
and columns) → :func:`~crmframe.core.diff.diff` → validation (all problems at once, before
any call) → conflict check on ``Modified_Time`` → :func:`~crmframe.core.plan.make_plan` →
the steps, in order, through :func:`~crmframe.facade.write.execute.execute` (journaled when asked)
→ :class:`~crmframe.facade.write.result.PushResult`. Whatever is not sent — added rows,
removed rows, unpushable edits, duplicate ids, invalid edits, conflicts — is a row of the
result, never dropped.

The mixin only composes; the work lives in the modules of :mod:`crmframe.facade.write`,
named for the pipeline (see its docstring).

"""

from __future__ import annotations

import contextlib
import os
import weakref
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, Objective, Plan
from crmframe.errors import InputError, JobFailed
from crmframe.facade.write import addremove, bulkwriting, creating, massupdate
from crmframe.facade.write.conflicts import decide_conflicts, fresh_copy
from crmframe.facade.write.prepare import Prepared, prepare_push
from crmframe.facade.write.result import PushResult, concat_results
from crmframe.facade.write.retry import retry_frames, settle_unknown
from crmframe.facade.write.run import client_counts, run_push

__all__ = ["WritingMixin"]


@dataclass(frozen=True)
class _Planned:
    """What ``crm.plan`` made a plan from, so ``crm.push(plan)`` sends exactly that plan.

    Kept beside the plan (the core :class:`~crmframe.core.plan.Plan` does no I/O and knows
    no frames); ``edited`` is the caller's frame, not a copy: only a retry reads it again.
    """

    edited: pd.DataFrame
    prepared: Prepared
    has_original: bool
    options: dict[str, Any] = field(default_factory=dict)


class WritingMixin:
    """``plan``, ``push``, ``mass_update``, ``bulk_write`` for :class:`~crmframe.facade.crm.CRM`.

    Uses ``self.client``, ``self.read_fields``, ``self.read_records`` and ``self.wait``
    from the other parts of :class:`~crmframe.facade.crm.CRM`.
    """

    # Typed loosely on purpose, like the other mixins: the concrete types live on CRM.
    client: Any
    version: str

    # -- plan ----------------------------------------------------------------------------

    def plan(
        self,
        edited: pd.DataFrame,
        original: pd.DataFrame | None = None,
        *,
        module: str | None = None,
        objective: Objective = "calls",
        bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
        costs: Any = None,
    ) -> Any:
        """The cheapest set of calls that would push ``edited``; nothing is sent.

        Nothing is checked for conflicts here: a plan may wait in a notebook for hours, so
        :meth:`push` checks when the plan is pushed. ``plan.calls`` counts those checks
        (``plan.check_calls``: one listing, one more before each mass update and bulk
        write) beside the steps' calls (``plan.write_calls``).

        Parameters
        ----------
        edited : DataFrame
            The analyst's frame (index ``id``, or an ``id`` column).
        original : DataFrame, optional
            The frame as read; when omitted the current values are read back from Zoho for
            the ids and columns of ``edited``.
        module : str, optional
            Default ``edited.attrs["module"]``.
        objective : {"calls", "credits"}
            What the plan minimises.
        bulk_threshold : int, optional
            Records from which a bulk write is considered.
        costs : optional
            Credit costs per route (see :func:`crmframe.core.plan.make_plan`).

        Returns
        -------
        Plan

        Raises
        ------
        ValidationError
            With every problem found (``.problems``), when an edit does not fit the metadata.
        InputError
            When no module can be found.

        Examples
        --------
        >>> plan = crm.plan(edited, original)               # doctest: +SKIP
        >>> plan.summary()                                  # doctest: +SKIP
        >>> crm.push(plan, trigger=[])                      # doctest: +SKIP
        """
        prepared = prepare_push(
            self, edited, original, module=module, push_valid=False, objective=objective,
            bulk_threshold=bulk_threshold, costs=costs,
        )
        self._plans()[prepared.plan] = _Planned(
            edited, prepared, original is not None,
            {"objective": objective, "bulk_threshold": bulk_threshold, "costs": costs},
        )
        return prepared.plan

    def _plans(self) -> weakref.WeakKeyDictionary[Any, _Planned]:
        # Per connection and per plan object; an entry goes when its plan is collected.
        plans: weakref.WeakKeyDictionary[Any, _Planned] = self.__dict__.setdefault(
            "_plan_makings", weakref.WeakKeyDictionary()
        )
        return plans

    # -- push ----------------------------------------------------------------------------

    def push(
        self,
        edited: pd.DataFrame | Plan,
        original: pd.DataFrame | None = None,
        *,
        module: str | None = None,
        dry_run: bool = False,
        trigger: Sequence[str] | None = None,
        journal: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        push_valid: bool = False,
        objective: Objective = "calls",
        bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
        costs: Any = None,
        poll_interval: float = 2.0,
        progress: bool | None = None,
        inserts: bool = False,
        deletes: bool = False,
    ) -> PushResult:
        """Send the edits in ``edited`` to Zoho with the fewest calls; report every record.

        Parameters
        ----------
        edited : DataFrame or Plan
            The analyst's frame (index ``id``, or an ``id`` column); or a plan returned by
            :meth:`plan` on this connection, which is then sent exactly as planned (no new
            baseline read, diff or conflict check; ``original``, ``module``, ``push_valid``,
            ``objective``, ``bulk_threshold`` and ``costs`` come from the plan's making).
        original : DataFrame, optional
            The frame as read (from ``read_records`` or ``read_snapshot``: its
            ``Modified_Time`` and ``attrs["read_at"]`` are the version stamps). When
            omitted, the current values are read back for the ids and columns of
            ``edited``, and ``edited``'s own ``Modified_Time`` (else its read time) is the
            stamp: a record changed since is a conflict, the others are diffed against
            their current values.
        module : str, optional
            Default ``edited.attrs["module"]``.
        dry_run : bool
            Plan and report (status ``planned``) without sending anything.
        trigger : list of str, optional
            Zoho's ``trigger`` for PUT calls: ``[]`` runs no workflow/approval/blueprint;
            ``None`` leaves the key out (Zoho runs them all).
        journal : str or os.PathLike, optional
            A file recording the plan and each confirmed call as they happen. Pushing the
            same edits with the same journal after a crash sends only what was not confirmed.
        overwrite : bool
            Write over records changed in Zoho since they were read. By default (False)
            they are conflicts — status ``skipped``, code ``CONFLICT``, the colleague's
            values, time and name in ``details`` — found (1) before sending, by one
            ``If-Modified-Since`` listing of the module's changes since the read (id reads
            when more changed than the edited records), (2) on every update PUT, by
            ``If-Unmodified-Since`` (Zoho's 412 ``ALREADY_MODIFIED``), (3) right before
            each mass update and bulk write, by the listing again. A frame with neither
            ``Modified_Time`` nor a read time is refused (``InputError``) unless True.
        push_valid : bool
            Push the valid edits and report invalid ones (status ``skipped``, code
            ``VALIDATION``) instead of raising.
        objective, bulk_threshold, costs
            As for :meth:`plan`.
        poll_interval : float
            Seconds between status polls of bulk-write jobs.
        progress : bool, optional
            Show a ``tqdm`` bar over the records. Default: only in a notebook, and only
            when the push takes more than one call.
        inserts : bool
            Insert the added rows (no id, or a label that is not a Zoho id) after the
            updates, checked first like :meth:`insert` (every problem at once), by POST
            batches or — when cheaper — bulk-write jobs; only writable columns are sent.
            Default: reported as ``NOT_PUSHED_INSERT``, not sent.
        deletes : bool
            Delete the records whose rows were removed from ``edited`` (``original`` is
            needed), except those changed in Zoho since they were read (``CONFLICT``,
            unless ``overwrite``). Default: reported as ``NOT_PUSHED_DELETE``, not sent.

        Returns
        -------
        PushResult
            ``results`` (one row per record and route), ``failed``, ``calls`` (every
            request: checks, reads, writes, polls), ``writes``, ``credits``, ``jobs``,
            ``plan``, ``changes``, ``retry()`` (checked for conflicts again). With
            ``inserts``/``deletes``, ``frame`` is ``edited`` with the new ids filled in
            (ready as the next ``original``) and the calls and credits include the
            inserts and deletes.

        Raises
        ------
        ValidationError
            Before any call, with every problem, unless ``push_valid``.
        JournalMismatchError
            When ``journal`` holds another plan.
        InputError
            A plan not made by this connection's :meth:`plan`, or given with ``original``.

        Examples
        --------
        >>> from crmframe.facade.crm import connect
        >>> from crmframe.sandbox import start
        >>> with start(records=300, flag_records=False) as server:
        ...     with connect(**server.credentials) as crm:
        ...         leads = crm.read_records("Leads", ["City", "Lead_Status"])
        ...         edited = leads.copy()
        ...         edited.loc[edited.index[:250], "Lead_Status"] = "Contacted"
        ...         edited.loc[edited.index[0], "City"] = "Pune"
        ...         result = crm.push(edited, leads, trigger=[])
        >>> result.calls, result.writes, list(result.results["route"].unique()), result.failed.empty
        (4, 2, ['mass_update', 'put'], True)
        """
        counted_from = client_counts(self)
        if (inserts or deletes) and (isinstance(edited, Plan) or journal is not None):
            raise InputError(
                "inserts=/deletes= are sent with the frames (crm.push(edited, original, "
                "inserts=True)), not with a plan object or a journal: an insert resumed "
                "from a journal could create a record twice"
            )
        if deletes and original is None:
            raise InputError("deletes=True needs original=...: removed rows are the ids of "
                             "the original missing from edited")
        if isinstance(edited, Plan):
            planned = self._planned(edited, original, module, journal)
            # Checked now, not when planned: the plan may have waited in a notebook for
            # hours. A copy: the same plan can be pushed again.
            prepared = decide_conflicts(
                fresh_copy(planned.prepared), overwrite=overwrite, journal=journal
            )
            return self._run(
                planned.edited, prepared, dry_run=dry_run, trigger=trigger,
                journal=journal, overwrite=overwrite, poll_interval=poll_interval,
                progress=progress, options={**planned.options, "push_valid": push_valid},
                counted_from=counted_from,
            )
        if journal is not None and original is None:
            raise InputError(
                "a journal needs original=...: resuming compares the same baseline, and a "
                "baseline read back after a partial push would already hold some edits"
            )
        prepared = prepare_push(
            self, edited, original, module=module, push_valid=push_valid,
            objective=objective, bulk_threshold=bulk_threshold, costs=costs,
        )
        prepared = decide_conflicts(prepared, overwrite=overwrite, journal=journal)
        rows = None
        if inserts or deletes:
            rows = addremove.prepare_rows(
                self, prepared.module, prepared.infos, edited, original, prepared.changes,
                baseline=prepared.baseline, inserts=inserts, deletes=deletes,
                overwrite=overwrite, objective=objective, bulk_threshold=bulk_threshold,
            )
            dropped = {c for c, on in (("NOT_PUSHED_INSERT", inserts),
                                       ("NOT_PUSHED_DELETE", deletes)) if on}
            prepared.skipped = [f[~f["code"].isin(dropped).fillna(False)]
                                for f in prepared.skipped]
        result = self._run(
            edited, prepared, dry_run=dry_run, trigger=trigger, journal=journal,
            overwrite=overwrite, poll_interval=poll_interval, progress=progress,
            options={"push_valid": push_valid, "objective": objective,
                     "bulk_threshold": bulk_threshold, "costs": costs},
            counted_from=counted_from,
        )
        if rows is None:
            return result
        if dry_run:
            extra = [PushResult(concat_results(addremove.planned(rows)), dry_run=True)]
        else:
            extra = addremove.send_rows(self, prepared.module, rows, trigger=trigger,
                                        poll_interval=poll_interval, progress=progress)
        now = client_counts(self)
        counted = (None if now is None or counted_from is None
                   else (now[0] - counted_from[0], now[1] - counted_from[1]))
        out = addremove.combine(result, extra, rows, counted)
        if rows.new is not None and not dry_run:
            out.frame = creating.with_ids(edited, extra[0].results["id"], rows.insert_positions)
        else:
            out.frame = edited.copy()
        return out

    def _planned(
        self,
        plan: Plan,
        original: pd.DataFrame | None,
        module: str | None,
        journal: str | os.PathLike[str] | None,
    ) -> _Planned:
        """The making of ``plan`` (from :meth:`plan`), checked against the push's arguments."""
        if original is not None or module is not None:
            raise InputError(
                "push(plan) sends the plan as it was made: give original= and module= to "
                "crm.plan(...), not to push"
            )
        planned = self._plans().get(plan)
        if planned is None:
            raise InputError(
                "this plan was not made by this connection's crm.plan(...): push the "
                "frames instead, crm.push(edited, original)"
            )
        if journal is not None and not planned.has_original:
            raise InputError(
                "a journal needs a plan made with original=...: resuming compares the same "
                "baseline, and a baseline read back after a partial push would already hold "
                "some edits"
            )
        return planned

    def _run(
        self,
        edited: pd.DataFrame,
        prepared: Prepared,
        *,
        dry_run: bool,
        trigger: Sequence[str] | None,
        journal: str | os.PathLike[str] | None,
        overwrite: bool,
        poll_interval: float,
        progress: bool | None,
        options: dict[str, Any],
        counted_from: tuple[int, int] | None = None,
    ) -> PushResult:
        """Send a prepared plan; its ``retry()`` pushes what failed as a new diff."""
        again_options: dict[str, Any] = {
            **options, "module": prepared.module, "trigger": trigger,
            "poll_interval": poll_interval, "progress": progress,
        }
        baseline = prepared.baseline
        jobs_of: Any = self  # CRM composes JobsMixin (wait) beside this mixin

        def again(result: PushResult, overwrite_now: bool) -> PushResult:
            # A bulk-write job whose watch broke off (the network, a timeout) may still be
            # writing: until it ends, a record it has not reached looks untouched, and
            # sending it again would write it twice. It is awaited first.
            for job in result.jobs:
                if getattr(job, "kind", None) == "bulk_write" and not job.done:
                    # A failed job wrote nothing crmframe vouches for: the read-back tells.
                    with contextlib.suppress(JobFailed):
                        jobs_of.wait(job, interval=poll_interval)
            part_edited, part_original = retry_frames(
                result, edited, baseline, overwrite=overwrite_now
            )
            part_edited, part_original, settled, reads = settle_unknown(
                self, prepared.module, prepared.infos, result, part_edited, part_original
            )
            retried = self.push(
                part_edited, part_original, overwrite=overwrite_now, **again_options
            )
            return retried.with_rows(settled, reads=reads) if reads else retried

        return run_push(
            self, prepared, dry_run=dry_run, trigger=trigger, journal=journal,
            overwrite=overwrite, retry_with=again, poll_interval=poll_interval,
            progress=progress, counted_from=counted_from,
        )

    # -- mass update and bulk write ------------------------------------------------------
    # The functions take the CRM as their first argument, so they are the methods as they
    # stand (one signature and one docstring, kept next to the code).

    mass_update = massupdate.mass_update
    mass_update_failures = massupdate.mass_update_failures
    bulk_write = bulkwriting.bulk_write
    bulk_write_result = bulkwriting.bulk_write_result
    insert = creating.insert
    upsert = creating.upsert
    delete = creating.delete
