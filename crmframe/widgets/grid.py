""":class:`EditGrid`: edit a module in a grid, see the diff and the plan live, push safely.

The grid is an `anywidget <https://anywidget.dev>`_ view (``grid.js``): a virtual table that
fetches the rows near the view a window at a time, so 10,000 rows of 91 columns open and
scroll like 50, with one editor per column kind (picklists through
their allowed values, numbers and dates checked as they are typed, read-only columns
locked). Every edit comes back to Python, which keeps :attr:`EditGrid.edited` and redraws
the side panel: the changed cells, the validation problems and the plan (calls, credits).
*Push* goes through ``crm.push`` with the frame as read as the baseline, so records changed
in Zoho since they were read are conflicts, not overwritten; then the results by status and
code and a :class:`~crmframe.widgets.JobMonitor` for any job.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Lead_Status": pd.array(["Contacted", "Junk Lead"], dtype="string"),
...                       "No_of_Employees": pd.array([10, 20], dtype="Int64")},
...                      index=pd.Index(["4150868000000225013", "4150868000000225014"],
...                                     dtype="string", name="id"))
>>> fields = {"fields": [
...     {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string",
...      "pick_list_values": [{"display_value": v, "actual_value": v}
...                           for v in ("Contacted", "Junk Lead", "Lost Lead")]},
...     {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"}]}
>>> grid = EditGrid(None, frame, fields=fields, module="Leads")
>>> grid.edit("4150868000000225014", "Lead_Status", "Lost Lead")
>>> grid.edited.loc["4150868000000225014", "Lead_Status"]
'Lost Lead'
>>> grid.changes[["id", "field", "old", "new"]].values.tolist()
[['4150868000000225014', 'Lead_Status', 'Junk Lead', 'Lost Lead']]

Rows are added and deleted only with the opt-ins ``crm.push`` has for them:

>>> rows = EditGrid(None, frame, fields=fields, module="Leads", inserts=True, deletes=True)
>>> rows.add_row({"Lead_Status": "Contacted", "No_of_Employees": 5})
'new-1'
>>> rows.delete_row("4150868000000225013")
>>> rows.edited.index.tolist(), rows.deleted
(['4150868000000225014', 'new-1'], ['4150868000000225013'])
"""

from __future__ import annotations

import dataclasses
import functools
import html
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.core.diff import diff
from crmframe.core.inserts import insert_route, new_records, with_row_steps
from crmframe.core.metadata import normalise_fields
from crmframe.core.validate import find_problems
from crmframe.errors import ConfigurationError, CrmframeError, InputError, ValidationError
from crmframe.widgets.gridcolumns import ColumnSpec, cell_from_json, column_specs
from crmframe.widgets.gridpanel import diff_html, plan_html, problems_html
from crmframe.widgets.gridrows import added_frame, insert_problems, new_label, window
from crmframe.widgets.jobs import JobMonitor, ipywidgets_module
from crmframe.widgets.push import (
    result_message_html,
    result_summary_html,
    unexpected_error_html,
)

__all__ = ["EditGrid"]

_HERE = Path(__file__).parent
#: Rows the browser asks for at a time (it asks again as it scrolls).
WINDOW_ROWS = 100


@functools.lru_cache(maxsize=1)
def _view_class() -> Any:
    try:
        import anywidget
        import traitlets
    except ImportError as exc:
        raise ConfigurationError(
            'EditGrid needs anywidget: pip install "crmframe[notebook]"'
        ) from exc

    class GridView(anywidget.AnyWidget):  # type: ignore[misc]
        """The browser half of the grid (state only; the rules live in EditGrid).

        Cells are not state: the browser asks for the rows in view (a custom message
        ``{"type": "rows", "start", "end"}``) and gets them back the same way.
        """

        _esm = (_HERE / "grid.js").read_text(encoding="utf-8")
        _css = (_HERE / "grid.css").read_text(encoding="utf-8")
        columns: Any = traitlets.List().tag(sync=True)
        n_rows = traitlets.Int(0).tag(sync=True)
        window_rows = traitlets.Int(WINDOW_ROWS).tag(sync=True)
        # The first window, in the state: the grid draws its first rows without a round trip.
        head = traitlets.Dict().tag(sync=True)
        edits = traitlets.Dict().tag(sync=True)
        problems = traitlets.Dict().tag(sync=True)
        added = traitlets.Int(0).tag(sync=True)
        deleted: Any = traitlets.List().tag(sync=True)
        can_insert = traitlets.Bool(False).tag(sync=True)
        can_delete = traitlets.Bool(False).tag(sync=True)
        # After Push: nothing more is edited here, and the new rows show their Zoho ids.
        pushed = traitlets.Bool(False).tag(sync=True)
        new_ids = traitlets.Dict().tag(sync=True)
        height = traitlets.Int(420).tag(sync=True)

    return GridView


def _id_index(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.index.name == "id":
        indexed: pd.DataFrame = frame
    elif "id" in frame.columns:
        indexed = frame.set_index("id")
    else:
        raise InputError(
            "EditGrid needs a frame read with crmframe: index 'id' or an 'id' column")
    # The grid finds a row by its id and the diff leaves duplicated ids out: an edit of
    # such a row would show as no edit and never be pushed.
    repeated = indexed.index[indexed.index.duplicated()].unique()
    if len(repeated):
        few = ", ".join(repr(str(i)) for i in repeated[:3])
        raise InputError(
            f"EditGrid: {len(repeated):,} duplicated id(s) in the frame ({few}"
            f"{', ...' if len(repeated) > 3 else ''}); keep one row per record, e.g. "
            "frame[~frame.index.duplicated(keep='last')] or drop_duplicates('id')")
    return indexed


class EditGrid:
    """An editable grid over a frame read with crmframe, with the live diff and plan.

    Parameters
    ----------
    crm : CRM or None
        Gives the field metadata, the plan and the push. None (with ``fields=``) edits
        offline: the diff and the problems still show, the plan and Push do not.
    frame : DataFrame
        As read (``crm.read_records``): index ``id``. It is the baseline of the diff and of
        the conflict check and is never modified.
    columns : list of str, optional
        The columns to show (default all); the rest stay in :attr:`edited` as read.
    module : str, optional
        Default ``frame.attrs["module"]``.
    fields : optional
        Field metadata instead of ``crm.read_fields(module)``.
    height : int, default 420
        Pixels of the grid.
    inserts : bool, default False
        Enable *Add row*: new rows, checked as ``crm.insert`` checks them (mandatory fields
        included), pushed with ``crm.push(..., inserts=True)``. Off, the button is shown
        disabled, as ``crm.push`` reports added rows without sending them by default.
    deletes : bool, default False
        Enable each row's delete button: rows marked for deletion are deleted by
        ``crm.push(..., deletes=True)`` (a record changed in Zoho since it was read is a
        conflict, not deleted) once the deletion is confirmed (:attr:`confirm_deletes`).
    push_options : dict, optional
        More keyword arguments for ``crm.push`` (``overwrite``, ``trigger``...). The grid
        pushes with ``push_valid=True``: cells the validation refused come back as
        ``VALIDATION`` rows of the results, the others go.
    monitor_options : dict, optional
        For the :class:`JobMonitor` of the push's jobs.

    Attributes
    ----------
    edited : DataFrame
        The frame with the grid's edits, added rows (``new-1``...) and without the rows
        marked for deletion (a copy each time it is read).
    changes : DataFrame
        ``id``, ``field``, ``old``, ``new``: one row per changed cell of the rows as read.
    added : DataFrame
        The added rows (not deleted), as rows of the frame.
    deleted : list of str
        The ids marked for deletion.
    problems : DataFrame
        ``id``, ``field``, ``value``, ``problem``: edits and added rows that do not fit the
        metadata.
    plan : Plan or None
        The plan of the valid edits, inserts and deletes (None offline or with nothing to do).
    confirm_deletes : ipywidgets.Checkbox
        Shown while rows are marked for deletion; Push waits until it is ticked.
    result : PushResult or None
        After Push; ``result.frame`` holds the new records' ids.
    widget : ipywidgets.HBox
        The grid and its side panel.
    """

    def __init__(
        self,
        crm: Any,
        frame: pd.DataFrame,
        *,
        columns: list[str] | None = None,
        module: str | None = None,
        fields: Any = None,
        height: int = 420,
        inserts: bool = False,
        deletes: bool = False,
        push_options: Mapping[str, Any] | None = None,
        monitor_options: Mapping[str, Any] | None = None,
    ) -> None:
        widgets = ipywidgets_module()
        if not isinstance(frame, pd.DataFrame):
            raise InputError(f"EditGrid edits a DataFrame, got {type(frame).__name__}")
        self.crm = crm
        self.original = _id_index(frame).copy()
        self.module = module or self.original.attrs.get("module")
        if fields is None:
            if crm is None or not self.module:
                raise InputError("EditGrid needs crm= and a module (frame.attrs['module'] or "
                                 "module=), or fields= to edit offline")
            fields = crm.read_fields(self.module)
        self.fields = fields
        self._infos = normalise_fields(fields)
        shown = list(self.original.columns) if columns is None else list(columns)
        unknown = [c for c in shown if c not in self.original.columns]
        if unknown:
            raise InputError(f"EditGrid columns not in the frame: {', '.join(unknown)}")
        self.specs: list[ColumnSpec] = column_specs(self.original[shown], fields)
        self._names = [s.name for s in self.specs]
        self._n = len(self.original)
        self._positions = {str(i): n for n, i in enumerate(self.original.index)}
        self.inserts, self.deletes = bool(inserts), bool(deletes)
        # Typed values of the edited cells of the rows as read, and of the added rows.
        self._values: dict[tuple[int, int], Any] = {}
        # Cells whose typed value does not fit the column (kept out of ``edited``).
        self._refused: dict[tuple[int, int], str] = {}
        self._added_rows = 0
        self._deleted_rows: set[int] = set()
        self._plan_error = ""
        self._push_options = dict(push_options or {})
        self._monitor_options = dict(monitor_options or {})
        self.changes = diff(self.original.iloc[0:0], self.original.iloc[0:0]).changes
        self.added = added_frame(self.original, {})
        self.deleted: list[str] = []
        self.problems = find_problems(self.changes, fields)
        self.plan: Any = None
        self.result: Any = None
        self.monitor: JobMonitor | None = None

        self.view = _view_class()(
            columns=[s.to_json() for s in self.specs], n_rows=self._n, height=height,
            can_insert=self.inserts, can_delete=self.deletes,
            head=window(self.original, self._names, 0, WINDOW_ROWS),
        )
        self.view.observe(self._on_state, names=["edits", "added", "deleted"])
        self.view.on_msg(self._on_msg)
        self._build_panel(widgets)
        self._refresh()

    def _build_panel(self, widgets: Any) -> None:
        self.diff_panel = widgets.HTML(value="")
        self.problems_panel = widgets.HTML(value="")
        self.plan_panel = widgets.HTML(value="")
        self.confirm_deletes = widgets.Checkbox(
            value=False, indent=False, description="", layout=widgets.Layout(display="none"))
        self.confirm_deletes.observe(lambda _c: self._refresh_button(), names="value")
        self.push_button = widgets.Button(
            description="Push", button_style="warning", icon="upload", disabled=True,
            tooltip="Send the valid edits to Zoho (crm.push, conflicts checked)",
        )
        self.push_button.on_click(lambda _b: self.push())
        self.message = widgets.HTML(value="")
        self.results = widgets.HTML(value="")
        self.jobs_box = widgets.VBox([])
        panel = widgets.VBox(
            [self.diff_panel, self.problems_panel, self.plan_panel, self.confirm_deletes,
             widgets.HBox([self.push_button, self.message]), self.results, self.jobs_box],
            layout=widgets.Layout(flex="0 1 34%", min_width="260px", overflow="hidden",
                                  padding="0 0 0 8px"),
        )
        panel.add_class("crmframe-grid-panel")
        self.view.layout = widgets.Layout(flex="1 1 66%", min_width="0", overflow="hidden")
        self.widget = widgets.HBox([self.view, panel],
                                   layout=widgets.Layout(width="100%", overflow="hidden"))
        self.widget.add_class("crmframe-edit-grid")

    # -- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        n, p = len(self.changes), len(self.problems)
        rows = ""
        if len(self.added) or self.deleted:
            rows = f", {len(self.added):,} added, {len(self.deleted):,} deleted"
        return (f"<EditGrid {self.module or ''} {self._n:,} rows x "
                f"{len(self.specs)} columns: {n:,} cell{'s' if n != 1 else ''} changed{rows}, "
                f"{p:,} problem{'s' if p != 1 else ''}>")

    @property
    def edited(self) -> pd.DataFrame:
        """The frame with the grid's edits and added rows, without deleted rows (a copy)."""
        out: pd.DataFrame = self.original.copy()
        for (row, col), value in self._values.items():
            if row < self._n:
                out.iloc[row, _position(out, self._names[col])] = (
                    pd.NA if value is None else value)
        if self._deleted_rows:
            out = out.drop(index=[self.original.index[r] for r in sorted(self._deleted_rows)
                                  if r < self._n])
        if len(self.added):
            out = pd.concat([out, self.added])
        out.attrs = dict(self.original.attrs)
        return out

    def window(self, start: int, end: int) -> dict[str, Any]:
        """Rows ``start:end`` as read, as the browser gets them when it scrolls there."""
        return window(self.original, self._names, start, end)

    def _on_msg(self, _view: Any, content: Any, _buffers: Any) -> None:
        if isinstance(content, dict) and content.get("type") == "rows":
            self.view.send(self.window(int(content.get("start", 0)),
                                       int(content.get("end", 0))))

    # -- edits ---------------------------------------------------------------------------

    def edit(self, record_id: str, column: str, value: Any) -> None:
        """Edit one cell from code, as the grid does (``None`` clears it).

        ``record_id`` is an id as read, or an added row's label (``new-1``...).

        Raises
        ------
        InputError
            For an unknown id or column, a locked column, or a value that does not fit.
        """
        row = self._row_of(record_id)
        if column not in self._names:
            raise InputError(f"no column {column!r} in this grid")
        col = self._names.index(column)
        cell_from_json(value, self.specs[col])  # refuse what the grid's editor would
        edits = dict(self.view.edits)
        edits[f"{row}:{col}"] = _for_view(value)
        self.view.edits = edits

    def add_row(self, values: Mapping[str, Any] | None = None) -> str:
        """Add a row, as *Add row* does, with ``values`` typed in; returns its label.

        Raises
        ------
        InputError
            When the grid was not opened with ``inserts=True``, or a value does not fit.
        """
        if not self.inserts:
            raise InputError("this grid adds no rows: open it with EditGrid(..., inserts=True) "
                             "(crm.push then inserts them)")
        row = self._n + self.view.added
        for column, value in (values or {}).items():
            if column not in self._names:
                raise InputError(f"no column {column!r} in this grid")
            cell_from_json(value, self.specs[self._names.index(column)])
        with self.view.hold_trait_notifications():
            self.view.added = self.view.added + 1
            self.view.edits = {**self.view.edits, **{
                f"{row}:{self._names.index(c)}": _for_view(v)
                for c, v in (values or {}).items()}}
        return new_label(row - self._n)

    def delete_row(self, record_id: str, *, undo: bool = False) -> None:
        """Mark a row for deletion (or ``undo=True``: keep it), as its delete button does.

        Raises
        ------
        InputError
            For an unknown id, or a row as read when the grid was not opened with
            ``deletes=True``.
        """
        row = self._row_of(record_id)
        if row < self._n and not self.deletes:
            raise InputError("this grid deletes no records: open it with "
                             "EditGrid(..., deletes=True) (crm.push then deletes them)")
        marked = set(self.view.deleted)
        marked = marked - {row} if undo else marked | {row}
        self.view.deleted = sorted(marked)

    def _row_of(self, record_id: str) -> int:
        row = self._positions.get(str(record_id))
        if row is None:
            labels = {new_label(k): self._n + k for k in range(self.view.added)}
            row = labels.get(str(record_id))
        if row is None:
            raise InputError(f"no record {record_id!r} in this grid")
        return row

    def _on_state(self, _change: Mapping[str, Any]) -> None:
        self._apply()
        self._refresh()

    def _apply(self) -> None:
        # Rows the browser may add or delete only when opted in: a view's state is not
        # trusted further than the buttons it shows.
        self._added_rows = int(self.view.added) if self.inserts else 0
        last = self._n + self._added_rows
        self._deleted_rows = {int(r) for r in self.view.deleted
                              if 0 <= int(r) < last and (int(r) >= self._n or self.deletes)}
        self._values, self._refused = {}, {}
        for key, value in self.view.edits.items():
            row_text, _, col_text = str(key).partition(":")
            row, col = int(row_text), int(col_text)
            if row >= last or not 0 <= col < len(self.specs):
                continue
            try:
                self._values[(row, col)] = cell_from_json(value, self.specs[col])
            except InputError as exc:
                self._refused[(row, col)] = str(exc)

    def _touched(self) -> tuple[list[int], list[str]]:
        cells = [(r, c) for r, c in self._values if r < self._n and r not in self._deleted_rows]
        rows = sorted({r for r, _ in cells})
        cols = sorted({self._names[c] for _, c in cells})
        return rows, cols

    def _after(self, rows: list[int], cols: list[str]) -> pd.DataFrame:
        after: pd.DataFrame = self.original.iloc[rows][cols].copy()
        at = {r: n for n, r in enumerate(rows)}
        for (row, col), value in self._values.items():
            if row in at:
                after.iloc[at[row], _position(after, self._names[col])] = (
                    pd.NA if value is None else value)
        return after

    def _refresh(self) -> None:
        rows, cols = self._touched()
        # Only the touched rows and columns are compared: an edit on a 10,000-row frame
        # costs what the edits cost, not what the frame costs.
        changeset = diff(self.original.iloc[rows][cols], self._after(rows, cols),
                         fields=self.fields)
        self.changes = changeset.changes
        typed: dict[int, dict[str, Any]] = {
            k: {} for k in range(self._added_rows) if self._n + k not in self._deleted_rows}
        for (row, col), value in self._values.items():
            if row - self._n in typed:
                typed[row - self._n][self._names[col]] = value
        self.added = added_frame(self.original, typed)
        self.deleted = [str(self.original.index[r]) for r in sorted(self._deleted_rows)
                        if r < self._n]
        self._insert_problems = insert_problems(self.added, self.fields)
        update_problems = find_problems(changeset, self.fields)
        self.problems = (pd.concat([update_problems, self._insert_problems], ignore_index=True)
                         if len(self._insert_problems) else update_problems)
        self.view.problems = self._marks()
        self.diff_panel.value = diff_html(self.changes, added=self.added, deleted=self.deleted)
        self.problems_panel.value = problems_html(self.problems, list(self._refused.values()))
        self.plan = self._plan(changeset, update_problems)
        error, self._plan_error = self._plan_error, ""
        self.plan_panel.value = plan_html(self.plan, error=error, offline=self.crm is None)
        n_deleted = len(self.deleted)
        self.confirm_deletes.description = (
            f"yes, delete {n_deleted:,} record{'s' if n_deleted != 1 else ''} in Zoho")
        self.confirm_deletes.layout.display = "flex" if n_deleted else "none"
        if not n_deleted:
            self.confirm_deletes.value = False
        self._refresh_button()

    def _marks(self) -> dict[str, str]:
        """``{"row:col": problem}`` for the browser to paint red."""
        marks = {f"{r}:{c}": message for (r, c), message in self._refused.items()}
        columns = {name: n for n, name in enumerate(self._names)}
        added = {new_label(k): self._n + k for k in range(self._added_rows)}
        for p in self.problems.itertuples(index=False):
            row = self._positions.get(str(p.id), added.get(str(p.id)))
            if row is not None and p.field in columns:
                marks[f"{row}:{columns[str(p.field)]}"] = str(p.problem)
        return marks

    def _plan(self, changeset: Any, update_problems: pd.DataFrame) -> Any:
        has_rows = (len(self.added) and self._insert_problems.empty) or self.deleted
        if self.crm is None or (changeset.changes.empty and not has_rows):
            return None
        rows, cols = self._touched()
        valid = self._after(rows, cols)
        for p in update_problems.itertuples(index=False):
            valid.loc[str(p.id), str(p.field)] = self.original.loc[str(p.id), str(p.field)]
        try:
            plan = self.crm.plan(valid, self.original.iloc[rows][cols], module=self.module)
            if not has_rows:
                return plan
            new = None
            if len(self.added) and self._insert_problems.empty:
                writable = [c for c in self.added.columns
                            if str(c) in self._infos and self._infos[str(c)].writable]
                new = new_records(self.added[writable].reset_index(drop=True), self._infos)
            route = insert_route(len(new.records)) if new is not None else None
            full = with_row_steps(plan, route, new, self.deleted)
            if self.deleted and "Modified_Time" in self.original.columns:
                # the push reads the records to delete once, for conflicts, before deleting
                full = dataclasses.replace(full, check_calls=full.check_calls + 1)
            return full
        except CrmframeError as exc:
            self._plan_error = f"{type(exc).__name__}: {exc}"
            return None

    def _refresh_button(self) -> None:
        """Push is enabled when there is something valid to send and nothing unconfirmed."""
        valid_edits = len(self.changes) - (len(self.problems) - len(self._insert_problems))
        todo = valid_edits > 0 or len(self.added) or self.deleted
        blocked = ""
        if len(self._insert_problems):
            blocked = "fix the new rows' problems, or delete those rows, to push"
        elif self.deleted and not self.confirm_deletes.value:
            blocked = "tick the box to confirm the deletion"
        self.push_button.disabled = bool(
            self.result is not None or self.plan is None or not todo or blocked)
        self.push_button.tooltip = blocked or (
            "Send the valid edits to Zoho (crm.push, conflicts checked)")
        # A hint of what blocks Push, unless the message reports a push or its failure.
        if self.result is None and not self.message.value.startswith("<span"):
            self.message.value = f"<i class='hint'>{blocked}</i>" if blocked else ""

    # -- push ----------------------------------------------------------------------------

    def push(self, *, confirm_deletes: bool = False) -> Any:
        """Push through ``crm.push`` (what the button does), at most once.

        The valid cell edits go as updates; with ``inserts=True`` the added rows are
        inserted, with ``deletes=True`` the rows marked are deleted — which needs the
        confirmation box ticked, or ``confirm_deletes=True`` from code.

        Returns the ``PushResult``, or None when the push raised (the error is shown).

        Raises
        ------
        InputError
            Offline, with added rows that do not pass the insert check, or with deletions
            not confirmed.
        """
        if self.result is not None:
            return self.result
        if self.crm is None:
            raise InputError("this grid has no crm to push with")
        if len(self._insert_problems):
            raise InputError(f"{len(self._insert_problems)} problem(s) in the added rows (see "
                             "grid.problems): fix them or delete those rows before pushing")
        if confirm_deletes:
            self.confirm_deletes.value = True
        if self.deleted and not self.confirm_deletes.value:
            raise InputError(f"{len(self.deleted)} record(s) marked for deletion: confirm with "
                             "the box, or grid.push(confirm_deletes=True)")
        self.push_button.disabled = True
        self.message.value = "pushing…"
        options: dict[str, Any] = {"push_valid": True, "module": self.module}
        if self.inserts:
            options["inserts"] = True
        if self.deletes:
            options["deletes"] = True
        options.update(self._push_options)
        try:
            result = self.crm.push(self.edited, self.original, **options)
        except (ValidationError, CrmframeError) as exc:
            self.message.value = (
                f"<span style='color:#d62728'>push failed: {type(exc).__name__}: "
                f"{html.escape(str(exc))}</span>")
            self.push_button.disabled = False
            return None
        except Exception as exc:
            self.message.value = unexpected_error_html(exc)  # not "pushing…" for good
            raise
        self.result = result
        self.view.new_ids = self._new_ids(result)
        self.view.pushed = True
        self.message.value = result_message_html(result)
        self.results.value = (
            "<div class='crmframe-grid-results'>" + result_summary_html(result) + "</div>")
        jobs = list(getattr(result, "jobs", []) or [])
        if jobs:
            self.monitor = JobMonitor(self.crm, jobs, **self._monitor_options)
            self.jobs_box.children = (self.monitor.widget,)
        return result


    def _new_ids(self, result: Any) -> dict[str, str]:
        """``{"row": id}`` of the added rows Zoho created, for the browser to show."""
        frame = getattr(result, "frame", None)
        if frame is None or self.added.empty:
            return {}
        labels = list(self.edited.index)
        rows = {new_label(k): self._n + k for k in range(self._added_rows)}
        out = {}
        for label in self.added.index:
            position = labels.index(label)
            if position < len(frame.index) and not pd.isna(frame.index[position]):
                new_id = str(frame.index[position])
                if new_id != label:
                    out[str(rows[str(label)])] = new_id
        return out


def _for_view(value: Any) -> Any:
    """A cell typed from code as the view's JSON state holds it (as the browser sends it)."""
    if is_missing(value):
        return None
    return str(value) if isinstance(value, pd.Timestamp) else value


def _position(frame: pd.DataFrame, column: str) -> int:
    return int(frame.columns.get_indexer(pd.Index([column]))[0])


