"""``crmframe demo``: the main job, end to end, against an embedded sandbox.

No account and no network: a Zoho-compatible sandbox starts on loopback with a few thousand
Leads, and the demo does what an analyst would do with crmframe:

1. read the Leads into a typed frame;
2. edit a copy with pandas: clean the phone numbers of the US leads, set every SMB lead to
   *Contact in Future*, and (by mistake) type three values that do not fit the fields;
3. validate: every problem comes back at once, before anything is sent;
4. plan the push of the valid part (calls and credits against the naive ways) and push it;
5. run a mass update over a custom view and a bulk write, watched to the end;
6. read everything back to check that Zoho holds what was meant;
7. write a report folder: ``report.html``, the charts as PNG, the frames as CSV.

It prints a summary (records read, cells edited, calls and credits against one PUT per
record and plain batches of 100, failures by code) and exits 1 when something it expected
did not happen.

Examples
--------
>>> main(["--help"])  # doctest: +SKIP
"""

from __future__ import annotations

import argparse
import dataclasses
import html
import json
import math
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import numpy as np
import pandas as pd

import crmframe
from crmframe import CrmframeError, JobStatus, ValidationError
from crmframe.plots import job_chart_png, job_progress_png
from crmframe.reports import Report

__all__ = ["DEFAULT_OUT", "DEFAULT_RECORDS", "STEPS", "Check", "DemoState", "Stage", "main", "run"]

#: Leads the sandbox is seeded with unless ``--records`` says otherwise.
DEFAULT_RECORDS = 3000
#: Fewest leads the demo runs with.
MIN_RECORDS = 1000
#: The report folder unless ``--out`` says otherwise.
DEFAULT_OUT = "crmframe-demo"

MODULE = "Leads"
#: The segment whose phone numbers are cleaned (to E.164: ``+15554655933``).
PHONE_CITIES = ("New York", "San Francisco", "Austin")
#: The segment whose status is set in one go (it becomes a mass update by ids).
STATUS_SEGMENT = "SMB"
STATUS_VALUE = "Contact in Future"
#: The custom view the mass update runs over, and what it sets.
VIEW_NAME = "Leads in Paris"
VIEW_VALUES: dict[str, Any] = {"Priority": "High"}
#: The field the bulk write rewrites for every lead.
SCORE_FIELD = "Probability_Score"
#: Seconds between job status polls (the sandbox runs jobs in about a second).
POLL_INTERVAL = 0.25

_READ_BACK_FIELDS = ["Phone", "Lead_Status", "Designation", "No_of_Employees", "Priority",
                     SCORE_FIELD]


# ---------------------------------------------------------------------------------------------
# small records of what happened


@dataclass
class Stage:
    """The API traffic of one step, as counted by the sandbox, and the naive alternatives.

    ``calls`` counts every API request (reads and job polls included), ``writes`` the ones
    that change data or start a job (POST/PUT). ``naive_*`` is one PUT per record;
    ``batch_*`` plain PUT batches of 100 (Zoho: 1 credit per 10 records of a PUT). Steps that
    only read have no naive alternative (``None``).
    """

    name: str
    records: int
    calls: int
    writes: int
    credits: int
    naive_calls: int | None = None
    naive_credits: int | None = None
    batch_calls: int | None = None
    batch_credits: int | None = None

    @staticmethod
    def naive_for(records: int) -> tuple[int, int, int, int]:
        """``(naive_calls, naive_credits, batch_calls, batch_credits)`` for ``records`` PUTs."""
        batches = math.ceil(records / 100)
        batch_credits = sum(
            math.ceil(min(100, records - start) / 10) for start in range(0, records, 100)
        )
        return records, records, batches, batch_credits


@dataclass
class Check:
    """One expectation of the demo and whether it held."""

    name: str
    ok: bool
    detail: str = ""


@dataclass
class Outcome:
    """Everything the report and the summary are made of."""

    out: Path
    records: int = 0
    edited_cells: int = 0
    stages: list[Stage] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)
    problems: pd.DataFrame | None = None
    plan_text: str = ""
    plan_steps: pd.DataFrame | None = None
    push_summary: pd.DataFrame | None = None
    push_results: pd.DataFrame | None = None
    failures: pd.DataFrame | None = None
    edits_by_field: pd.DataFrame | None = None
    sandbox_calls: int = 0
    sandbox_writes: int = 0
    push_writes: int = 0
    push_credits: float = 0.0
    dtype_counts: pd.DataFrame | None = None
    jobs: dict[str, list[JobStatus]] = field(default_factory=dict)
    mass_failures: pd.DataFrame | None = None
    bulk_results: pd.DataFrame | None = None
    files: list[Path] = field(default_factory=list)
    charts: list[Path] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when every check held."""
        return bool(self.checks) and all(c.ok for c in self.checks)

    def check(self, name: str, ok: bool, detail: str = "") -> bool:
        """Record an expectation; returns ``ok``."""
        self.checks.append(Check(name, bool(ok), detail))
        return bool(ok)


class Printer:
    """Step headings and lines on a stream; ``quiet`` keeps only the summary."""

    def __init__(self, stream: TextIO, quiet: bool) -> None:
        self.stream = stream
        self.quiet = quiet

    def heading(self, text: str) -> None:
        """A step heading."""
        self.line(f"\n== {text}")

    def line(self, text: str = "") -> None:
        """A line, unless quiet."""
        if not self.quiet:
            print(text, file=self.stream, flush=True)

    def always(self, text: str = "") -> None:
        """A line even when quiet (the summary, failed checks)."""
        print(text, file=self.stream, flush=True)


class ProgressLine:
    """``on_update`` for ``crm.wait``: one text progress line per status.

    On a terminal the line is redrawn in place; elsewhere (logs, CI) each new status is a
    line of its own.
    """

    def __init__(self, printer: Printer, label: str, width: int = 30) -> None:
        self.printer = printer
        self.label = label
        self.width = width
        self.tty = bool(getattr(printer.stream, "isatty", lambda: False)())
        self.seen: list[JobStatus] = []

    def text(self, status: JobStatus) -> str:
        """The progress line for ``status``."""
        counts = [n for _, n in status.segments() if n is not None]
        done = sum(counts) if counts else 0
        if status.kind == "mass_update" and status.not_updated is not None:
            done -= status.not_updated  # "not updated" is what is still to do while running
        total = status.total
        if total:
            filled = round(self.width * min(done, total) / total)
            bar = "#" * filled + "." * (self.width - filled)
            share = f"{done:>6,}/{total:,} ({100 * done / total:3.0f}%)"
        else:
            bar, share = "?" * self.width, "counts not known yet"
        return f"  {self.label:<12} [{bar}] {status.state:<9} {share}"

    def __call__(self, status: JobStatus) -> None:
        self.seen.append(status)
        if self.printer.quiet:
            return
        line = self.text(status)
        if self.tty:
            end = "\n" if status.done else ""
            print("\r" + line, end=end, file=self.printer.stream, flush=True)
        else:
            print(line, file=self.printer.stream, flush=True)


# ---------------------------------------------------------------------------------------------
# the façade, as an analyst gets it


class Traffic:
    """Counts the sandbox's API requests, writes and credits between two points.

    The sandbox logs every request; OAuth token calls are not API calls and are left out.
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self.last = self.first = self._now()

    def _now(self) -> tuple[int, int, int]:
        api = [method for method, path, _ in self.server.requests if path.startswith("/crm/")]
        writes = sum(1 for method in api if method in ("POST", "PUT"))
        return len(api), writes, int(self.server.credits_used)

    def total(self) -> tuple[int, int, int]:
        """``(calls, writes, credits)`` since this counter was made: the sandbox's own log."""
        now = self._now()
        calls, writes, credits = (a - b for a, b in zip(now, self.first, strict=True))
        return calls, writes, credits

    def take(self) -> tuple[int, int, int]:
        """``(calls, writes, credits)`` since the last ``take`` (or since the start)."""
        now = self._now()
        calls, writes, credits = (a - b for a, b in zip(now, self.last, strict=True))
        self.last = now
        return calls, writes, credits


# ---------------------------------------------------------------------------------------------
# the steps


def e164(phone: pd.Series) -> pd.Series:
    """Phone numbers with every separator removed (``+1-555-4655933`` → ``+15554655933``).

    Examples
    --------
    >>> e164(pd.Series(["+1-555-4655933", "(555) 465 5933", None], dtype="string")).tolist()
    ['+15554655933', '5554655933', <NA>]
    """
    cleaned: pd.Series = phone.str.replace(r"[^\d+]", "", regex=True)
    return cleaned


def make_edits(
    leads: pd.DataFrame, seed: int
) -> tuple[pd.DataFrame, dict[str, list[str]], list[tuple[str, str, Any]]]:
    """The analyst's edits on a copy of ``leads``.

    Returns
    -------
    edited : DataFrame
    segments : dict
        ``{"phone": ids, "status": ids}``: the records each edit touches (changed cells).
    invalid : list of (id, field, value)
        The three values that do not fit their field.
    """
    edited = leads.copy()
    us = edited["City"].isin(PHONE_CITIES).fillna(False).to_numpy(dtype=bool)
    new_phone = e164(edited.loc[us, "Phone"])
    edited.loc[us, "Phone"] = new_phone
    phone_ids = [str(i) for i, old, new in zip(
        leads.index[us], leads.loc[us, "Phone"], new_phone, strict=True)
        if not pd.isna(old) and old != new]

    segment = (edited["Segment"] == STATUS_SEGMENT).fillna(False).to_numpy(dtype=bool)
    status_ids = [str(i) for i, old in zip(leads.index[segment],
                                           leads.loc[segment, "Lead_Status"], strict=True)
                  if pd.isna(old) or old != STATUS_VALUE]
    edited.loc[segment, "Lead_Status"] = STATUS_VALUE

    # Three slips an analyst makes, on leads the other edits do not touch.
    others = edited.index[~(us | segment)]
    rng = np.random.default_rng(seed)
    picks = [str(others[int(i)]) for i in rng.choice(len(others), size=3, replace=False)]
    invalid: list[tuple[str, str, Any]] = [
        (picks[0], "Lead_Status", "Hot prospect"),           # not in the picklist
        (picks[1], "Designation", "Head of " + "Strategic " * 12 + "Partnerships"),  # > 100
        (picks[2], "No_of_Employees", "about fifty"),         # text into an integer field
    ]
    # An Int64 column cannot hold text: the analyst's frame went object, as it would in
    # pandas after pasting a value in.
    edited["No_of_Employees"] = edited["No_of_Employees"].astype(object)
    for rid, name, value in invalid:
        edited.loc[rid, name] = value
    return edited, {"phone": phone_ids, "status": status_ids}, invalid


def _plain(value: Any) -> Any:
    """Cells that CSV and HTML show well: lists and dicts as JSON."""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, default=str, ensure_ascii=False)
    return value


def csv_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose object columns hold JSON text instead of lists and dicts."""
    out: pd.DataFrame = frame.copy()
    for column in out.columns:
        if out[column].dtype == object:
            out[column] = out[column].map(_plain)
    return out


def _same(got: Any, want: Any) -> bool:
    """Equal cells, missing equal to missing, floats to 1e-6."""
    got_missing, want_missing = bool(pd.isna(got)), bool(pd.isna(want))
    if got_missing or want_missing:
        return got_missing and want_missing
    if isinstance(want, float):
        return abs(float(got) - want) < 1e-6
    return bool(got == want)


def _check_equal(
    outcome: Outcome, name: str, current: pd.DataFrame, expected: dict[str, dict[str, Any]]
) -> None:
    """Check that ``current`` (indexed by id) holds ``expected`` ``{id: {field: value}}``."""
    wrong: list[str] = []
    for rid, values in expected.items():
        if rid not in current.index:
            wrong.append(f"{rid} missing")
            continue
        for name_, want in values.items():
            got: Any = current.at[rid, name_]
            if not _same(got, want):
                wrong.append(f"{rid}.{name_}={got!r} (expected {want!r})")
    detail = f"{len(expected):,} records checked"
    if wrong:
        detail += f"; {len(wrong)} differ: " + ", ".join(wrong[:5])
    outcome.check(name, not wrong and bool(expected), detail)


@dataclass
class DemoState:
    """What the steps share: the connection and counters, then what each step leaves for
    the next (``None`` until the step that makes it has run)."""

    printer: Printer
    outcome: Outcome
    server: Any
    crm: Any
    traffic: Traffic
    out: Path
    charts: Path
    seed: int
    records: int
    started: float
    leads: Any = None
    edited: Any = None
    invalid: Any = None
    segments: Any = None
    wanted: Any = None
    plan: Any = None
    result: Any = None
    push_failed: Any = None
    mass_failures: Any = None
    bulk: Any = None
    scores: Any = None


def step_read_leads(s: DemoState) -> None:
    """2. Read the Leads into a typed frame"""
    s.printer.heading("2. Read the Leads into a typed frame")
    leads = s.crm.read_records(MODULE, progress=not s.printer.quiet)
    calls, writes, credits = s.traffic.take()
    s.outcome.records = len(leads)
    s.outcome.stages.append(Stage("read Leads", len(leads), calls, writes, credits))
    expected_records = len(s.server.ids(MODULE))
    s.outcome.check("read every lead", len(leads) == expected_records,
                    f"{len(leads):,} rows read, the sandbox holds {expected_records:,}")
    dtypes = leads.dtypes.astype(str).value_counts().rename_axis("dtype").to_frame("columns")
    s.outcome.dtype_counts = dtypes
    s.outcome.check("typed columns", str(leads["Modified_Time"].dtype).startswith("datetime64")
                    and str(leads["No_of_Employees"].dtype) == "Int64"
                    and str(leads.index.dtype) == "string",
                    "Modified_Time datetime64, No_of_Employees Int64, ids as strings")
    s.printer.line(f"  {len(leads):,} rows x {leads.shape[1]} columns in {calls} calls; "
                   f"index {leads.index.name!r} ({leads.index.dtype})")
    s.printer.line("  dtypes: " + ", ".join(f"{d} {n}" for d, n in dtypes["columns"].items()))
    s.leads = leads


def step_edit_with_pandas(s: DemoState) -> None:
    """3. Edit a copy with pandas"""
    s.printer.heading("3. Edit a copy with pandas")
    edited, segments, invalid = make_edits(s.leads, s.seed)
    s.printer.line(f"  Phone to E.164 for leads in {', '.join(PHONE_CITIES)}: "
                   f"{len(segments['phone']):,} records")
    s.printer.line(f"  Lead_Status = {STATUS_VALUE!r} for every {STATUS_SEGMENT} lead: "
                   f"{len(segments['status']):,} records")
    for rid, name, value in invalid:
        shown = value if len(str(value)) <= 40 else str(value)[:37] + "..."
        s.printer.line(f"  a slip: {name} = {shown!r} on {rid}")
    s.edited = edited
    s.invalid = invalid
    s.segments = segments


def step_validate_edits(s: DemoState) -> None:
    """4. Validate: every problem at once, before any call"""
    s.printer.heading("4. Validate: every problem at once, before any call")
    try:
        s.crm.plan(s.edited, s.leads)
    except ValidationError as exc:
        problems = exc.problems
        s.outcome.problems = problems
        s.printer.line("  ValidationError: " + str(exc).splitlines()[0])
        if problems is not None:
            for row in problems.itertuples(index=False):
                s.printer.line(f"    {row.id} {row.field}: {row.problem}")
    else:
        problems = None
    caught = set() if problems is None else {
        (str(r.id), str(r.field)) for r in problems.itertuples(index=False)}
    wanted = {(rid, name) for rid, name, _ in s.invalid}
    s.outcome.check("validation caught every invalid value, all at once",
                    caught == wanted, f"{len(caught)} problem(s) reported, {len(wanted)} made")
    s.wanted = wanted


def step_plan_the_push(s: DemoState) -> None:
    """5. Plan the push of the valid edits"""
    s.printer.heading("5. Plan the push of the valid edits")
    # The plan of the valid part: the frame as if the slips had not been made. (A dry
    # run, push(..., dry_run=True), would show the same plan after reading every edited
    # record's Modified_Time for the conflict check.)
    valid = s.edited.copy()
    for rid, name, _ in s.invalid:
        valid.loc[rid, name] = s.leads.at[rid, name]
    plan = s.crm.plan(valid, s.leads)
    s.outcome.plan_text = plan.summary()
    steps = plan.to_frame()
    s.outcome.plan_steps = steps
    for line in s.outcome.plan_text.splitlines():
        s.printer.line("  " + line)
    # One table of edited cells (valid and refused), whose total is the headline figure.
    valid_by_field = plan.changes.changes.groupby("field").size()
    invalid_by_field = pd.Series([name for _, name, _ in s.invalid]).value_counts()
    edits_by_field = pd.DataFrame({"valid": valid_by_field, "invalid": invalid_by_field})
    edits_by_field = edits_by_field.fillna(0).astype("int64")
    edits_by_field["cells"] = edits_by_field["valid"] + edits_by_field["invalid"]
    edits_by_field.index.name = "field"
    s.outcome.edits_by_field = edits_by_field
    s.outcome.edited_cells = int(edits_by_field["cells"].sum())
    # Like with like: the naive ways are priced as writes alone, so the plan's write calls
    # are compared with them; its conflict-check reads are shown beside.
    writes = plan.write_calls
    s.outcome.check("the plan writes in fewer calls than one PUT per record, no more than "
                    "batches", writes < plan.naive_calls and writes <= plan.batch_calls,
                    f"{writes} write calls (+{plan.check_calls} conflict-check reads) vs "
                    f"{plan.naive_calls} naive, {plan.batch_calls} in batches of 100")
    routes = set(steps["route"].astype(str))
    # A mass update is chosen when it saves calls: when the status segment fits in the
    # phones' PUT batches anyway, the plan is those batches, as few as plain batches.
    s.outcome.check("the status segment goes by mass update where that saves calls, the "
                    "phones by PUT", "put" in routes and ("mass_update" in routes
                                                           or writes == plan.batch_calls),
                    f"routes: {sorted(routes)}; {writes} write calls, "
                    f"{plan.batch_calls} in batches")
    s.plan = plan


def step_push_valid_edits(s: DemoState) -> None:
    """6. Push the valid part; invalid values are reported, not sent"""
    s.printer.heading("6. Push the valid part; invalid values are reported, not sent")
    result = s.crm.push(s.edited, s.leads, push_valid=True)
    calls, writes, credits = s.traffic.take()
    n_push = s.plan.n_records
    # The push's figures are the PushResult's (one source: the plan, the summary and the
    # report all read them); the sandbox's own count of the same requests must agree.
    s.outcome.stages.append(Stage("push edits", n_push, result.calls, result.writes,
                                  round(result.credits), *Stage.naive_for(n_push)))
    counted = (result.calls, result.writes, round(result.credits))
    s.outcome.check("the push's calls, writes and credits are the sandbox's count",
                    counted == (calls, writes, credits),
                    f"PushResult {result.calls} calls, {result.writes} writes, "
                    f"{round(result.credits)} credits; sandbox {calls} calls, {writes} writes, "
                    f"{credits} credits")
    s.outcome.push_results = result.results
    s.outcome.push_summary = result.summary()
    s.printer.line(f"  {result!r}")
    push_failed = result.failed
    codes = set(push_failed["code"].astype(str))
    s.outcome.check("invalid values reported as VALIDATION failures",
                    "VALIDATION" in codes
                    and int((push_failed["code"] == "VALIDATION").sum()) == len(s.wanted),
                    f"failure codes: {sorted(codes)}")
    s.outcome.check("the push made the planned calls, its writes fewer than one PUT per "
                    "record", result.calls == s.plan.calls
                    and result.writes < s.plan.naive_calls,
                    f"{result.calls} calls as planned ({s.plan.write_calls} writes + "
                    f"{s.plan.check_calls} checks); {result.writes} writes vs "
                    f"{s.plan.naive_calls} naive")
    s.push_failed = push_failed
    s.result = result


def step_mass_update_by_view(s: DemoState) -> None:
    """7. Mass update over the custom view …"""
    s.printer.heading(f"7. Mass update over the custom view {VIEW_NAME!r}")
    views = s.crm.read_custom_views(MODULE)
    match = views.index[(views["name"] == VIEW_NAME).fillna(False).to_numpy(dtype=bool)]
    if not len(match):
        raise CrmframeError(f"the sandbox has no {VIEW_NAME!r} view of {MODULE}")
    cvid = str(match[0])
    s.printer.line(f"  view {cvid}; setting {VIEW_VALUES}")
    job = s.crm.mass_update(MODULE, VIEW_VALUES, cvid=cvid)
    if not isinstance(job, crmframe.Job):  # by ids it may be a PushResult; a view is a job
        raise CrmframeError(f"mass update over a view gave {type(job).__name__}, not a Job")
    status = s.crm.wait(job, interval=POLL_INTERVAL,
                        on_update=ProgressLine(s.printer, "mass update"))
    mass_failures = s.crm.mass_update_failures(job, VIEW_VALUES, cvid=cvid, wait=False)
    s.outcome.mass_failures = mass_failures
    s.outcome.jobs["mass_update"] = list(job.history)
    calls, writes, credits = s.traffic.take()
    total = int(status.total or 0)
    s.outcome.stages.append(Stage("mass update by view", total, calls, writes, credits,
                                  *Stage.naive_for(total)))
    in_view = int((s.leads["City"] == "Paris").fillna(False).sum())
    s.outcome.check("mass update job completed over the whole view",
                    status.state == "COMPLETED" and total == in_view,
                    f"{status.state}: {total:,} in the job, {in_view:,} Paris leads read")
    s.mass_failures = mass_failures


def step_bulk_write_scores(s: DemoState) -> None:
    """8. Bulk write: a new … for every lead"""
    s.printer.heading(f"8. Bulk write: a new {SCORE_FIELD} for every lead")
    scores = s.leads[[SCORE_FIELD]].copy()
    revenue = s.leads["Annual_Revenue"].astype("Float64").fillna(0.0)
    scores[SCORE_FIELD] = (revenue / 20_000).clip(0, 100).round(0).astype("Float64")
    scores.attrs["module"] = MODULE
    # One call: upload, create the job, watch it (the progress line), download and
    # parse the result file, one row per lead of ``scores``.
    bulk = s.crm.bulk_write(scores, MODULE, poll_interval=POLL_INTERVAL,
                            on_update=ProgressLine(s.printer, "bulk write"))
    bulk_job = bulk.attrs.get("job") if isinstance(bulk, pd.DataFrame) else None
    if not isinstance(bulk, pd.DataFrame) or not isinstance(bulk_job, crmframe.Job):
        raise CrmframeError("bulk_write(wait=True) gave no result table with its job")
    bulk_status = bulk_job.status
    if bulk_status is None:
        raise CrmframeError(f"bulk write {bulk_job.job_id} finished without a status")
    s.outcome.bulk_results = bulk
    s.outcome.jobs["bulk_write"] = list(bulk_job.history)
    calls, writes, credits = s.traffic.take()
    s.outcome.stages.append(Stage("bulk write", len(scores), calls, writes, credits,
                                  *Stage.naive_for(len(scores))))
    by_status = bulk["STATUS"].astype(str).value_counts()
    s.outcome.check("bulk write job completed, one result row per lead",
                    bulk_status.state == "COMPLETED" and len(bulk) == len(scores)
                    and int(by_status.get("updated", 0)) > 0,
                    f"{bulk_status.state}: " + ", ".join(
                      f"{k} {v:,}" for k, v in by_status.items()))
    s.bulk = bulk
    s.scores = scores


def step_read_back_and_compare(s: DemoState) -> None:
    """9. Read back and compare"""
    s.printer.heading("9. Read back and compare")
    now = s.crm.read_records(MODULE, fields=_READ_BACK_FIELDS, progress=False)
    calls, writes, credits = s.traffic.take()
    s.outcome.stages.append(Stage("read back", len(now), calls, writes, credits))
    ok = s.result.succeeded
    done_ids = set(ok["id"].dropna().astype(str))
    expect_push: dict[str, dict[str, Any]] = {}
    for rid in s.segments["phone"]:
        if rid in done_ids:
            expect_push.setdefault(rid, {})["Phone"] = s.edited.at[rid, "Phone"]
    for rid in s.segments["status"]:
        if rid in done_ids:
            expect_push.setdefault(rid, {})["Lead_Status"] = STATUS_VALUE
    _check_equal(s.outcome, "the pushed edits are in Zoho", now, expect_push)
    untouched = {rid: {name: s.leads.at[rid, name]} for rid, name, _ in s.invalid}
    failed_ids = set(s.push_failed["id"].dropna().astype(str)) - {r for r, _, _ in s.invalid}
    for rid in failed_ids:
        for name in ("Phone", "Lead_Status"):
            untouched.setdefault(rid, {})[name] = s.leads.at[rid, name]
    _check_equal(s.outcome, "the invalid and refused edits are not", now, untouched)
    paris = [str(i) for i in s.leads.index[(s.leads["City"] == "Paris").fillna(False)
                                           .to_numpy(dtype=bool)]]
    not_updated = set(s.mass_failures["id"].astype(str)) if len(s.mass_failures) else set()
    _check_equal(s.outcome, "the view's leads hold the mass-updated value", now,
                 {rid: dict(VIEW_VALUES) for rid in paris if rid not in not_updated})
    updated = s.bulk[s.bulk["STATUS"].astype(str) == "updated"]
    _check_equal(s.outcome, "the bulk-written scores are in Zoho", now,
                 {str(rid): {SCORE_FIELD: float(s.scores.at[str(rid), SCORE_FIELD])}
                  for rid in updated["id"]})

    failures = collect_failures(s.push_failed, s.mass_failures, s.bulk)
    s.outcome.failures = failures


def step_write_the_report(s: DemoState) -> None:
    """10. Write the report to …/"""
    s.printer.heading(f"10. Write the report to {s.out}/")
    for kind, history in s.outcome.jobs.items():
        progress_png = s.charts / f"{kind}_progress.png"
        progress_png.write_bytes(job_progress_png(history))
        s.outcome.charts.append(progress_png)
    finals = [h[-1] for h in s.outcome.jobs.values() if h]
    status_png = s.charts / "jobs_status.png"
    status_png.write_bytes(job_chart_png(finals))
    s.outcome.charts.insert(0, status_png)
    s.outcome.sandbox_calls, s.outcome.sandbox_writes, _ = s.traffic.total()
    s.outcome.push_writes, s.outcome.push_credits = s.result.writes, s.result.credits
    s.outcome.seconds = time.perf_counter() - s.started
    s.outcome.files = write_report(s.outcome)
    missing = [p for p in s.outcome.files + s.outcome.charts
               if not p.exists() or p.stat().st_size == 0]
    s.outcome.check("report files written", not missing,
                    f"{len(s.outcome.files)} files, {len(s.outcome.charts)} charts"
                    + (f"; missing: {missing}" if missing else ""))
    for path in s.outcome.files + s.outcome.charts:
        s.printer.line(f"  {path}")


#: The demo's steps after the sandbox starts, in order (each prints its numbered heading).
STEPS = (
    step_read_leads,
    step_edit_with_pandas,
    step_validate_edits,
    step_plan_the_push,
    step_push_valid_edits,
    step_mass_update_by_view,
    step_bulk_write_scores,
    step_read_back_and_compare,
    step_write_the_report,
)


def run(
    *,
    records: int,
    out: Path,
    seed: int,
    printer: Printer,
) -> Outcome:
    """Run every step of the demo; failed expectations are in ``Outcome.checks``.

    Raises
    ------
    CrmframeError
        When a step cannot go on (the caller reports it and exits 1).
    """
    started = time.perf_counter()
    outcome = Outcome(out=out)
    out.mkdir(parents=True, exist_ok=True)
    charts = out / "charts"
    charts.mkdir(exist_ok=True)
    for old in charts.glob("*.png"):
        old.unlink()  # charts of an earlier run carry other job ids

    printer.heading(f"1. Start an embedded Zoho-compatible sandbox with {records:,} leads")
    # Jobs progress at about one module per second: visible progress, a quick demo.
    server = crmframe.sandbox.start(records=records, seed=seed,
                                    job_speed=max(500.0, float(records)), job_delay=0.2)
    with server, crmframe.connect(**server.credentials) as crm:
        printer.line(f"  sandbox at {server.url} (loopback, in-memory, no account)")
        state = DemoState(printer=printer, outcome=outcome, server=server, crm=crm,
                          traffic=Traffic(server), out=out, charts=charts, seed=seed,
                          records=records, started=started)
        for step in STEPS:
            step(state)
    return outcome


def collect_failures(
    push_failed: pd.DataFrame, mass_failures: pd.DataFrame, bulk: pd.DataFrame
) -> pd.DataFrame:
    """Every record whose edit did not land, from the three writes, in one frame."""
    parts = []
    if len(push_failed):
        parts.append(pd.DataFrame({
            "step": "push",
            "id": push_failed["id"].astype("string"),
            "code": push_failed["code"].astype("string"),
            "fields": push_failed["fields"].map(
                lambda f: ", ".join(map(str, f)) if isinstance(f, (list, tuple)) else ""),
            "message": push_failed["message"].astype("string"),
        }))
    if len(mass_failures):
        parts.append(pd.DataFrame({
            "step": "mass update",
            "id": mass_failures["id"].astype("string"),
            "code": mass_failures["code"].astype("string"),
            "fields": mass_failures["field"].astype("string"),
            "message": [f"still {a!r}, expected {e!r}" for a, e in
                        zip(mass_failures["actual"], mass_failures["expected"], strict=True)],
        }))
    bad = bulk[bulk["STATUS"].astype(str) != "updated"]
    if len(bad):
        parts.append(pd.DataFrame({
            "step": "bulk write",
            "id": bad["id"].astype("string"),
            "code": bad["code"].fillna(bad["STATUS"].str.upper()).astype("string"),
            "fields": bad["column"].fillna("").astype("string"),
            "message": [f"{s} by the job" + (f" (column {c})" if isinstance(c, str) and c
                                              else "")
                        for s, c in zip(bad["STATUS"].astype(str), bad["column"], strict=True)],
        }))
    if not parts:
        empty: pd.DataFrame = pd.DataFrame(
            {c: pd.Series([], dtype="string") for c in ("step", "id", "code", "fields",
                                                        "message")})
        return empty
    out: pd.DataFrame = pd.concat(parts, ignore_index=True)
    return out


# ---------------------------------------------------------------------------------------------
# report and summary


def stages_frame(stages: Iterable[Stage]) -> pd.DataFrame:
    """The stages as a table, with a total row."""
    rows = [dataclasses.asdict(s) for s in stages]
    frame: pd.DataFrame = pd.DataFrame(rows).set_index("name")
    for column in frame.columns:
        frame[column] = frame[column].astype("Int64")
    writes = frame[frame["naive_calls"].notna()]
    total = frame.sum(numeric_only=True).astype("Int64")
    for column in ("naive_calls", "naive_credits", "batch_calls", "batch_credits"):
        total[column] = writes[column].sum()
    total["records"] = None  # reads and writes of the same records do not add up
    frame.loc["total"] = total
    frame.index.name = "step"
    return frame


def _distinct(messages: pd.Series) -> str:
    """Up to three distinct messages of a group, joined."""
    seen = list(dict.fromkeys(str(m) for m in messages.dropna()))
    return "; ".join(seen[:3]) + ("; ..." if len(seen) > 3 else "")


def failures_by_code(failures: pd.DataFrame) -> pd.DataFrame:
    """Failures grouped by step and code: how many, and the first message."""
    if not len(failures):
        empty: pd.DataFrame = pd.DataFrame(columns=["step", "code", "records", "message"])
        return empty
    grouped: pd.DataFrame = failures.groupby(["step", "code"], sort=False).agg(
        records=("id", "size"), message=("message", _distinct)).reset_index()
    return grouped


def summary_text(outcome: Outcome) -> str:
    """The short summary printed at the end."""
    stages = stages_frame(outcome.stages)
    lines = ["crmframe demo summary",
             f"  records read: {outcome.records:,}",
             f"  cells edited: {outcome.edited_cells:,}"
             + (f" ({len(outcome.problems)} invalid, caught before sending)"
                if outcome.problems is not None else "")]
    lines.append(f"  {'step':<22}{'records':>8}{'calls':>7}{'writes':>8}{'credits':>9}"
                 f"{'naive calls':>13}{'naive credits':>15}{'batch calls':>13}"
                 f"{'batch credits':>15}")

    def cell(value: Any, width: int) -> str:
        return f"{'-' if pd.isna(value) else f'{int(value):,}':>{width}}"

    for name, row in stages.iterrows():
        lines.append(f"  {name!s:<22}{cell(row['records'], 8)}{cell(row['calls'], 7)}"
                     f"{cell(row['writes'], 8)}{cell(row['credits'], 9)}"
                     f"{cell(row['naive_calls'], 13)}{cell(row['naive_credits'], 15)}"
                     f"{cell(row['batch_calls'], 13)}{cell(row['batch_credits'], 15)}")
    lines.append("  (as counted by the sandbox: calls include reads, conflict checks and job "
                 "polls, writes are the POST/PUT among them;")
    lines.append("   naive = one PUT per record, batch = plain PUT batches of 100)")
    failures = outcome.failures if outcome.failures is not None else pd.DataFrame()
    grouped = failures_by_code(failures)
    lines.append(f"  failures: {len(failures):,}")
    for step, code, count, message in grouped[["step", "code", "records", "message"]].itertuples(
            index=False):
        lines.append(f"    {step}: {code} x{count} — {message}")
    bad = [c for c in outcome.checks if not c.ok]
    lines.append(f"  checks: {len(outcome.checks) - len(bad)} of {len(outcome.checks)} passed"
                 f" in {outcome.seconds:.1f}s")
    lines.append(f"  report: {outcome.out / 'report.html'}")
    return "\n".join(lines)


def _versus_batches(stages: pd.DataFrame) -> pd.DataFrame:
    """The stages with, for each write, whether its writes cost fewer credits than batches.

    Like with like: plain batches are priced as writes alone, so a step's reads (its
    conflict check, job polls, result downloads: 1 credit each) are left out of its side.
    """
    out: pd.DataFrame = stages.reset_index()
    notes = []
    for step, credits, calls, writes, batch in zip(
            out["step"], out["credits"], out["calls"], out["writes"], out["batch_credits"],
            strict=True):
        if step == "total" or pd.isna(batch) or pd.isna(credits):
            notes.append("")
            continue
        credits = credits - (calls - writes)
        if credits < batch:
            notes.append("cheaper than batches")
        elif credits > batch:
            notes.append("dearer than batches here")
        else:
            notes.append("as batches")
    out["vs batches"] = notes
    # Headers for people: "naive credits", not "naive_credits".
    renamed: pd.DataFrame = out.rename(columns=lambda c: str(c).replace("_", " "))
    return renamed


_CREDIT_UNITS = {"credits": "credits", "naive_credits": "credits", "batch_credits": "credits"}


def write_report(outcome: Outcome) -> list[Path]:
    """``report.html`` (a :class:`crmframe.reports.Report`) and the CSV files.

    Every figure of the page comes from ``outcome``: the headline tiles, the tables and the
    notes read the same fields, so no two numbers disagree.
    """
    out = outcome.out
    files: list[Path] = []

    def to_csv(frame: pd.DataFrame | None, name: str, *, index: bool = False) -> None:
        if frame is None:
            return
        path = out / name
        csv_ready(frame).to_csv(path, index=index)
        files.append(path)

    stages = stages_frame(outcome.stages)
    to_csv(stages, "summary.csv", index=True)
    to_csv(outcome.plan_steps, "plan.csv")
    to_csv(outcome.problems, "problems.csv")
    to_csv(outcome.push_results, "results.csv")
    to_csv(outcome.failures, "failures.csv")
    to_csv(outcome.bulk_results, "bulk_write_results.csv")
    for kind, history in outcome.jobs.items():
        if history:
            frame = pd.concat([s.to_frame() for s in history], ignore_index=True)
            to_csv(frame, f"{kind}_status.csv")
    to_csv(pd.DataFrame([dataclasses.asdict(c) for c in outcome.checks]), "checks.csv")

    failures = outcome.failures if outcome.failures is not None else pd.DataFrame()
    n_invalid = len(outcome.problems) if outcome.problems is not None else 0
    page = Report("crmframe demo report",
                  f"{outcome.records:,} leads in an embedded sandbox; {outcome.seconds:.1f} s")
    page.figures({
        "leads read": outcome.records,
        "cells edited": outcome.edited_cells,
        "invalid cells (not sent)": n_invalid,
        "records not written": len(failures),
        "API calls": outcome.sandbox_calls,
        "of which writes": outcome.sandbox_writes,
        "credits": int(stages["credits"].iloc[-1]),  # the total row
    })
    page.paragraph(
        "Calls and writes as the sandbox counted them (calls include reads, the conflict "
        "check's reads and job polls; writes are the POST/PUT among them); the push's calls, "
        "writes and credits are its PushResult's, which the demo checks against the "
        "sandbox's count. Naive is one PUT per record, batch plain PUT batches of 100, both "
        "priced as writes alone; so \"vs batches\" compares a step's credits less its reads "
        "(1 credit each) with theirs.",
        css="note")
    page.heading("Steps")
    page.table(_versus_batches(stages), "API traffic by step")
    page.heading("Checks")
    checks = pd.DataFrame({"result": ["passed" if c.ok else "FAILED" for c in outcome.checks],
                           "check": [c.name for c in outcome.checks],
                           "detail": [c.detail for c in outcome.checks]})
    page.table(checks, "what the demo expected")
    page.heading("Read")
    page.table(outcome.dtype_counts, "columns by dtype", index=True,
               units={"columns": "columns"})
    page.heading("Edits")
    page.table(outcome.edits_by_field, "edited cells by field (valid are sent, invalid are "
               "reported)", index=True, units={"cells": "cells"})
    page.table(outcome.problems, "validation problems: nothing sent for these")
    page.heading("Plan and push")
    page.raw(f"<pre>{html.escape(outcome.plan_text)}</pre>")
    page.figures({"push write calls": outcome.push_writes,
                  "push credits (writes and checks)": outcome.push_credits})
    page.table(_plan_view(outcome.plan_steps), "the plan's steps", units=_CREDIT_UNITS)
    page.table(outcome.push_summary, "push results: records by status and code",
               units={"records": "records"})
    page.heading("Records not written")
    page.table(failures_by_code(failures), "by step and code", units={"records": "records"})
    page.table(failures, "every record")
    page.heading("Jobs")
    page.table(_jobs_view(outcome.jobs), "each job's last status")
    page.table(outcome.mass_failures, "records the mass update did not change (read back)")
    for chart in outcome.charts:
        page.image(Path("charts") / chart.name, chart.stem)
    page.heading("Files")
    page.raw("<p>" + " · ".join(
        f'<a href="{html.escape(p.name)}">{html.escape(p.name)}</a>' for p in files) + "</p>")
    path = page.write(out / "report.html")
    files.insert(0, path)
    return files


def _jobs_view(jobs: dict[str, list[JobStatus]]) -> pd.DataFrame | None:
    """The last status of each job, one row each."""
    finals = [history[-1].to_frame() for history in jobs.values() if history]
    if not finals:
        return None
    frame: pd.DataFrame = pd.concat(finals, ignore_index=True)
    keep = ["kind", "job_id", "state", "total", "updated", "failed", "not_updated", "added",
            "skipped", "observed_at"]
    view: pd.DataFrame = frame[[c for c in keep if c in frame.columns]].copy()
    if "observed_at" in view.columns:  # to the second, in UTC: not microseconds
        stamps = pd.to_datetime(view["observed_at"], utc=True)
        view["observed_at"] = stamps.dt.strftime("%Y-%m-%d %H:%M:%S UTC")
    view = view.rename(columns={"job_id": "job id", "not_updated": "not processed yet",
                                "observed_at": "last seen"})
    return view


def _plan_view(steps: pd.DataFrame | None) -> pd.DataFrame | None:
    """The plan's steps without the id lists (they are in plan.csv)."""
    if steps is None:
        return None
    view: pd.DataFrame = steps.drop(columns=["ids"], errors="ignore").rename(
        columns={"n_records": "records", "payload_bytes": "payload bytes"})
    return view


# ---------------------------------------------------------------------------------------------
# command line


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crmframe demo",
        description="The main job against an embedded Zoho-compatible sandbox (no account, "
        "no network): read Leads into a typed frame, edit, validate, plan, push, run a "
        "mass update and a bulk write, and write a report folder.",
    )
    parser.add_argument("--records", type=int, default=DEFAULT_RECORDS,
                        help=f"leads in the sandbox (default {DEFAULT_RECORDS})")
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help=f"report folder (default {DEFAULT_OUT}/)")
    parser.add_argument("--seed", type=int, default=42, help="seed of the data (default 42)")
    parser.add_argument("--quiet", action="store_true", help="print only the summary")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the demo; returns 0 when every expectation held, else 1 (2 for bad options)."""
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if args.records < MIN_RECORDS:
        # Below this the status segment is too small for a mass update to save a call.
        parser.error(f"--records must be at least {MIN_RECORDS}")
    try:
        # before the sandbox starts: a bad folder is an option error, not a traceback
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        parser.error(f"--out {args.out}: cannot make the report folder "
                     f"({exc.strerror or exc})")
    printer = Printer(sys.stdout, args.quiet)
    try:
        outcome = run(records=args.records, out=Path(args.out), seed=args.seed,
                      printer=printer)
    except CrmframeError as exc:
        printer.always(f"crmframe demo: FAILED: {type(exc).__name__}: {exc}")
        return 1
    printer.always("")
    printer.always(summary_text(outcome))
    for check in outcome.checks:
        if not check.ok:
            printer.always(f"  FAILED: {check.name}: {check.detail}")
    return 0 if outcome.ok else 1


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
