""":class:`EditGrid`: edit a module in a grid, see the diff and the plan live, push safely.

The grid is an `anywidget <https://anywidget.dev>`_ view (``grid.js``): a virtual table,
so 10,000 rows open and scroll like 50, with one editor per column kind (picklists through
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
"""

from __future__ import annotations

import functools
import html
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from crmframe.core.diff import diff
from crmframe.core.validate import find_problems
from crmframe.errors import ConfigurationError, CrmframeError, InputError, ValidationError
from crmframe.widgets.gridcolumns import ColumnSpec, cell_from_json, column_json, column_specs
from crmframe.widgets.jobs import JobMonitor, cost_text, ipywidgets_module
from crmframe.widgets.push import result_message_html, result_summary_html

__all__ = ["EditGrid"]

_HERE = Path(__file__).parent
#: Changed cells listed in the side panel; all of them are in ``grid.changes``.
DIFF_ROWS_SHOWN = 20


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
        """The browser half of the grid (state only; the rules live in EditGrid)."""

        _esm = (_HERE / "grid.js").read_text(encoding="utf-8")
        _css = (_HERE / "grid.css").read_text(encoding="utf-8")
        columns: Any = traitlets.List().tag(sync=True)
        # ids and cells as one JSON document in bytes: ipywidgets would otherwise walk
        # every one of a large frame's cells looking for binary buffers.
        payload = traitlets.Bytes(b"").tag(sync=True)
        edits = traitlets.Dict().tag(sync=True)
        problems = traitlets.Dict().tag(sync=True)
        height = traitlets.Int(420).tag(sync=True)

    return GridView


def _id_index(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.index.name == "id":
        return frame
    if "id" in frame.columns:
        indexed: pd.DataFrame = frame.set_index("id")
        return indexed
    raise InputError("EditGrid needs a frame read with crmframe: index 'id' or an 'id' column")


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
    push_options : dict, optional
        More keyword arguments for ``crm.push`` (``overwrite``, ``trigger``, ``journal``...).
        The grid pushes with ``push_valid=True``: cells the validation refused come back
        as ``VALIDATION`` rows of the results, the others go.
    monitor_options : dict, optional
        For the :class:`JobMonitor` of the push's jobs.

    Attributes
    ----------
    edited : DataFrame
        The frame with the grid's edits (a copy each time it is read).
    changes : DataFrame
        ``id``, ``field``, ``old``, ``new``: one row per changed cell.
    problems : DataFrame
        ``id``, ``field``, ``value``, ``problem``: edits that do not fit the metadata.
    plan : Plan or None
        The plan of the valid edits (None when offline or nothing changed).
    result : PushResult or None
        After Push.
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
        shown = list(self.original.columns) if columns is None else list(columns)
        unknown = [c for c in shown if c not in self.original.columns]
        if unknown:
            raise InputError(f"EditGrid columns not in the frame: {', '.join(unknown)}")
        self.specs: list[ColumnSpec] = column_specs(self.original[shown], fields)
        self._positions = {str(i): n for n, i in enumerate(self.original.index)}
        self._edited = self.original.copy()
        self._cells: dict[tuple[int, int], Any] = {}
        # Cells whose typed value does not fit the column (kept out of ``edited``).
        self._refused: dict[tuple[int, int], str] = {}
        self._plan_error = ""
        self._push_options = dict(push_options or {})
        self._monitor_options = dict(monitor_options or {})
        self.changes = diff(self.original.iloc[0:0], self.original.iloc[0:0]).changes
        self.problems = find_problems(self.changes, fields)
        self.plan: Any = None
        self.result: Any = None
        self.monitor: JobMonitor | None = None

        self.view = _view_class()(
            columns=[s.to_json() for s in self.specs],
            payload=json.dumps({
                "ids": [str(i) for i in self.original.index],
                "data": [column_json(self.original[s.name]) for s in self.specs],
            }, separators=(",", ":"), allow_nan=False, default=str).encode("utf-8"),
            height=height,
        )
        self.view.observe(self._on_edits, names="edits")
        self.diff_panel = widgets.HTML(value="")
        self.problems_panel = widgets.HTML(value="")
        self.plan_panel = widgets.HTML(value="")
        self.push_button = widgets.Button(
            description="Push", button_style="warning", icon="upload", disabled=True,
            tooltip="Send the valid edits to Zoho (crm.push, conflicts checked)",
        )
        self.push_button.on_click(lambda _b: self.push())
        self.message = widgets.HTML(value="")
        self.results = widgets.HTML(value="")
        self.jobs_box = widgets.VBox([])
        panel = widgets.VBox(
            [self.diff_panel, self.problems_panel, self.plan_panel,
             widgets.HBox([self.push_button, self.message]), self.results, self.jobs_box],
            layout=widgets.Layout(flex="0 1 34%", min_width="260px", overflow="hidden",
                                  padding="0 0 0 8px"),
        )
        panel.add_class("crmframe-grid-panel")
        self.view.layout = widgets.Layout(flex="1 1 66%", min_width="0", overflow="hidden")
        self.widget = widgets.HBox([self.view, panel],
                                   layout=widgets.Layout(width="100%", overflow="hidden"))
        self.widget.add_class("crmframe-edit-grid")
        self._refresh()

    # -- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        n, p = len(self.changes), len(self.problems)
        return (f"<EditGrid {self.module or ''} {len(self.original):,} rows x "
                f"{len(self.specs)} columns: {n:,} cell{'s' if n != 1 else ''} changed, "
                f"{p:,} problem{'s' if p != 1 else ''}>")

    @property
    def edited(self) -> pd.DataFrame:
        """The frame with the grid's edits (a copy; ``attrs`` kept)."""
        out: pd.DataFrame = self._edited.copy()
        out.attrs = dict(self.original.attrs)
        return out

    # -- edits ---------------------------------------------------------------------------

    def edit(self, record_id: str, column: str, value: Any) -> None:
        """Edit one cell from code, as the grid does (``None`` clears it).

        Raises
        ------
        InputError
            For an unknown id or column, a locked column, or a value that does not fit.
        """
        row = self._positions.get(str(record_id))
        if row is None:
            raise InputError(f"no record {record_id!r} in this grid")
        names = [s.name for s in self.specs]
        if column not in names:
            raise InputError(f"no column {column!r} in this grid")
        col = names.index(column)
        cell_from_json(value, self.specs[col])  # refuse what the grid's editor would
        edits = dict(self.view.edits)
        edits[f"{row}:{col}"] = value if not isinstance(value, pd.Timestamp) else str(value)
        self.view.edits = edits

    def _on_edits(self, change: Mapping[str, Any]) -> None:
        self._apply(change["new"])
        self._refresh()

    def _apply(self, edits: Mapping[str, Any]) -> None:
        wanted: dict[tuple[int, int], Any] = {}
        for key, value in edits.items():
            row_text, _, col_text = str(key).partition(":")
            wanted[(int(row_text), int(col_text))] = value
        touched = set(self._cells) | set(wanted)
        self._refused = {}
        for row, col in touched:
            spec = self.specs[col]
            if (row, col) not in wanted:
                self._edited.iloc[row, self._edited.columns.get_loc(spec.name)] = (
                    self.original.iloc[row, self.original.columns.get_loc(spec.name)])
                continue
            try:
                value = cell_from_json(wanted[(row, col)], spec)
            except InputError as exc:
                self._refused[(row, col)] = str(exc)
                continue
            self._edited.iloc[row, self._edited.columns.get_loc(spec.name)] = (
                pd.NA if value is None else value)
        self._cells = wanted

    def _touched(self) -> tuple[list[int], list[str]]:
        rows = sorted({row for row, _ in self._cells})
        cols = sorted({self.specs[col].name for _, col in self._cells})
        return rows, cols

    def _refresh(self) -> None:
        rows, cols = self._touched()
        # Only the touched rows and columns are compared: an edit on a 10,000-row frame
        # costs what the edits cost, not what the frame costs.
        before = self.original.iloc[rows][cols]
        after = self._edited.iloc[rows][cols]
        changeset = diff(before, after, fields=self.fields)
        self.changes = changeset.changes
        self.problems = find_problems(changeset, self.fields)
        marks = {f"{r}:{c}": message for (r, c), message in self._refused.items()}
        names = {s.name: n for n, s in enumerate(self.specs)}
        for p in self.problems.itertuples(index=False):
            row = self._positions.get(str(p.id))
            if row is not None and p.field in names:
                marks[f"{row}:{names[str(p.field)]}"] = str(p.problem)
        self.view.problems = marks
        self.diff_panel.value = self._diff_html()
        self.problems_panel.value = self._problems_html()
        self.plan = self._plan(changeset)
        self.plan_panel.value = self._plan_html()
        self.push_button.disabled = self.result is not None or self.plan is None or not (
            len(self.changes) - len(self.problems) > 0)

    def _plan(self, changeset: Any) -> Any:
        if self.crm is None or changeset.changes.empty:
            return None
        rows, cols = self._touched()
        valid = self._edited.iloc[rows][cols].copy()
        for p in self.problems.itertuples(index=False):
            valid.loc[str(p.id), str(p.field)] = self.original.loc[str(p.id), str(p.field)]
        try:
            return self.crm.plan(valid, self.original.iloc[rows][cols], module=self.module)
        except CrmframeError as exc:
            self._plan_error = f"{type(exc).__name__}: {exc}"
            return None

    # -- side panel ----------------------------------------------------------------------

    def _diff_html(self) -> str:
        n = len(self.changes)
        if not n:
            return "<div class='crmframe-grid-diff' data-changes='0'><b>No edits yet</b></div>"
        ids = self.changes["id"].nunique()
        shown = self.changes.head(DIFF_ROWS_SHOWN)
        rows = "".join(
            f"<tr><td>{html.escape(str(r.id))}</td><td>{html.escape(str(r.field))}</td>"
            f"<td>{html.escape(_cell(r.old))}</td><td>{html.escape(_cell(r.new))}</td></tr>"
            for r in shown.itertuples(index=False)
        )
        more = f" (first {DIFF_ROWS_SHOWN}; all in grid.changes)" if n > DIFF_ROWS_SHOWN else ""
        return (
            f"<div class='crmframe-grid-diff' data-changes='{n}'>"
            f"<table><caption>{n:,} cell{'s' if n != 1 else ''} changed in {ids:,} "
            f"record{'s' if ids != 1 else ''}{more}</caption>"
            "<thead><tr><th>id</th><th>field</th><th>was</th><th>now</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    def _problems_html(self) -> str:
        refused = self._refused
        n = len(self.problems) + len(refused)
        if not n:
            return "<div class='crmframe-grid-problems' data-problems='0'></div>"
        items = [
            f"<li><b>{html.escape(str(p.field))}</b> of {html.escape(str(p.id))}: "
            f"{html.escape(str(p.problem))}</li>"
            for p in self.problems.head(DIFF_ROWS_SHOWN).itertuples(index=False)
        ] + [f"<li>{html.escape(message)}</li>" for message in refused.values()]
        return (
            f"<div class='crmframe-grid-problems' data-problems='{n}' style='color:#d62728'>"
            f"<b>{n:,} problem{'s' if n != 1 else ''}</b> (not pushed)<ul>{''.join(items)}</ul>"
            "</div>"
        )

    def _plan_html(self) -> str:
        if self.plan is None:
            error, self._plan_error = self._plan_error, ""
            if error:
                return ("<div class='crmframe-grid-plan' style='color:#d62728'>"
                        f"{html.escape(error)}</div>")
            if self.crm is None:
                return "<div class='crmframe-grid-plan'><i>offline: no plan</i></div>"
            return "<div class='crmframe-grid-plan'></div>"
        cost = cost_text(getattr(self.plan, "calls", None), getattr(self.plan, "credits", None))
        steps = getattr(self.plan, "steps", None)
        routes = ""
        if steps is not None and len(steps):
            routes = "".join(
                f"<tr><td>{html.escape(str(r.route))}</td>"
                f"<td class='num'>{int(r.n_records):,}</td>"
                f"<td class='num'>{float(r.credits):g}</td></tr>"
                for r in steps.itertuples(index=False)
            )
            routes = ("<table><thead><tr><th>route</th><th>records</th><th>credits</th>"
                      f"</tr></thead><tbody>{routes}</tbody></table>")
        return (
            f"<div class='crmframe-grid-plan' data-calls='{getattr(self.plan, 'calls', '')}'>"
            f"<b>Plan</b>: {html.escape(', '.join(cost))}{routes}</div>"
        )

    # -- push ----------------------------------------------------------------------------

    def push(self) -> Any:
        """Push the valid edits through ``crm.push`` (what the button does), at most once.

        Returns the ``PushResult``, or None when the push raised (the error is shown).
        """
        if self.result is not None:
            return self.result
        if self.crm is None:
            raise InputError("this grid has no crm to push with")
        self.push_button.disabled = True
        self.message.value = "pushing…"
        options = {"push_valid": True, "module": self.module, **self._push_options}
        try:
            result = self.crm.push(self.edited, self.original, **options)
        except (ValidationError, CrmframeError) as exc:
            self.message.value = (
                f"<span style='color:#d62728'>push failed: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}</span>")
            self.push_button.disabled = False
            return None
        self.result = result
        self.message.value = result_message_html(result)
        self.results.value = (
            "<div class='crmframe-grid-results'>" + result_summary_html(result) + "</div>")
        jobs = list(getattr(result, "jobs", []) or [])
        if jobs:
            self.monitor = JobMonitor(self.crm, jobs, **self._monitor_options)
            self.jobs_box.children = (self.monitor.widget,)
        return result


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "(empty)"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."
