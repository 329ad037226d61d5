"""The side panel of :class:`~crmframe.widgets.EditGrid` as HTML: diff, rows, problems, plan.

Pure functions of frames and a plan, so the panel is tested without a browser. Long Zoho
ids are shown by their tail (the org's common prefix says nothing) with the whole id on
hover; every figure is a ``data-`` attribute as well, for tests and the browser test.

Examples
--------
>>> import pandas as pd
>>> changes = pd.DataFrame({"id": ["4150868000000225013"], "field": ["City"],
...                         "old": ["Gent"], "new": ["Lyon"]})
>>> html = diff_html(changes, added=pd.DataFrame(), deleted=[])
>>> "data-changes='1'" in html, "…0225013" in html
(True, True)
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

import pandas as pd

from crmframe.widgets.jobs import cost_text

__all__ = ["DIFF_ROWS_SHOWN", "diff_html", "plan_html", "problems_html", "short_id"]

#: Rows listed in each part of the side panel; all of them are in the grid's attributes.
DIFF_ROWS_SHOWN = 20


def short_id(record_id: Any) -> str:
    """A record's id as the panel shows it: ``…`` and its last 7 digits, whole when short.

    >>> short_id("4876876000000102500"), short_id("new-2")
    ('…0102500', 'new-2')
    """
    text = str(record_id)
    return "…" + text[-7:] if len(text) > 10 and text.isdigit() else text


def _id_cell(record_id: Any) -> str:
    return (f"<td class='id' title='{html.escape(str(record_id))}'>"
            f"{html.escape(short_id(record_id))}</td>")


def _cell(value: Any) -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "(empty)"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'s' if n != 1 else ''}"


def diff_html(changes: pd.DataFrame, *, added: pd.DataFrame, deleted: Sequence[str]) -> str:
    """The changed cells, the added rows (their filled cells) and the rows to delete."""
    n, n_added, n_deleted = len(changes), len(added), len(deleted)
    attrs = f"data-changes='{n}' data-added='{n_added}' data-deleted='{n_deleted}'"
    if not (n or n_added or n_deleted):
        return f"<div class='crmframe-grid-diff' {attrs}><b>No edits yet</b></div>"
    parts = []
    if n:
        ids = changes["id"].nunique()
        shown = changes.head(DIFF_ROWS_SHOWN)
        rows = "".join(
            f"<tr>{_id_cell(r.id)}<td>{html.escape(str(r.field))}</td>"
            f"<td>{html.escape(_cell(r.old))}</td><td>{html.escape(_cell(r.new))}</td></tr>"
            for r in shown.itertuples(index=False)
        )
        more = f" (first {DIFF_ROWS_SHOWN}; all in grid.changes)" if n > DIFF_ROWS_SHOWN else ""
        parts.append(
            f"<table><caption>{_plural(n, 'cell')} changed in {_plural(ids, 'record')}{more}"
            "</caption><thead><tr><th>id</th><th>field</th><th>was</th><th>now</th></tr>"
            f"</thead><tbody>{rows}</tbody></table>")
    if n_added:
        rows = "".join(
            f"<tr>{_id_cell(label)}<td>{html.escape(_filled(added.loc[label]))}</td></tr>"
            for label in added.index[:DIFF_ROWS_SHOWN]
        )
        parts.append(
            f"<table class='crmframe-grid-added'><caption>{_plural(n_added, 'new record')} "
            "to insert</caption><thead><tr><th>row</th><th>values</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    if n_deleted:
        rows = "".join(f"<tr>{_id_cell(i)}</tr>" for i in list(deleted)[:DIFF_ROWS_SHOWN])
        parts.append(
            f"<table class='crmframe-grid-deleted'><caption>{_plural(n_deleted, 'record')} to "
            "delete in Zoho</caption><thead><tr><th>id</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>")
    return f"<div class='crmframe-grid-diff' {attrs}>{''.join(parts)}</div>"


def _filled(row: pd.Series) -> str:
    filled = [f"{name}={_cell(value)}" for name, value in row.items()
              if not (value is None or value is pd.NA or pd.isna(value))]
    return ", ".join(filled) if filled else "(nothing typed yet)"


def problems_html(problems: pd.DataFrame, refused: Sequence[str]) -> str:
    """Validation problems of the edits and added rows, and typed values refused."""
    n = len(problems) + len(refused)
    if not n:
        return "<div class='crmframe-grid-problems' data-problems='0'></div>"
    items = [
        f"<li><b>{html.escape(str(p.field))}</b> of "
        f"<span title='{html.escape(str(p.id))}'>{html.escape(short_id(p.id))}</span>: "
        f"{html.escape(str(p.problem))}</li>"
        for p in problems.head(DIFF_ROWS_SHOWN).itertuples(index=False)
    ] + [f"<li>{html.escape(message)}</li>" for message in refused]
    return (
        f"<div class='crmframe-grid-problems' data-problems='{n}' style='color:#d62728'>"
        f"<b>{_plural(n, 'problem')}</b> (not pushed)<ul>{''.join(items)}</ul></div>"
    )


def plan_html(plan: Any, *, error: str = "", offline: bool = False) -> str:
    """The plan's calls and credits and its steps by route (inserts and deletes included)."""
    if plan is None:
        if error:
            return ("<div class='crmframe-grid-plan' style='color:#d62728'>"
                    f"{html.escape(error)}</div>")
        if offline:
            return "<div class='crmframe-grid-plan'><i>offline: no plan</i></div>"
        return "<div class='crmframe-grid-plan'></div>"
    cost = cost_text(getattr(plan, "calls", None), getattr(plan, "credits", None))
    steps = getattr(plan, "steps", None)
    routes = ""
    if steps is not None and len(steps):
        totals = steps.groupby("route", sort=False)[["calls", "n_records", "credits"]].sum()
        routes = "".join(
            f"<tr><td>{html.escape(str(route))}</td><td class='num'>{int(r.calls):,}</td>"
            f"<td class='num'>{int(r.n_records):,}</td>"
            f"<td class='num'>{float(r.credits):g}</td></tr>"
            for route, r in totals.iterrows()
        )
        routes = ("<table><thead><tr><th>route</th><th class='num'>calls</th>"
                  "<th class='num'>records</th><th class='num'>credits</th></tr></thead>"
                  f"<tbody>{routes}</tbody></table>")
    return (
        f"<div class='crmframe-grid-plan' data-calls='{getattr(plan, 'calls', '')}'>"
        f"<b>Plan</b>: {html.escape(', '.join(cost))}{routes}</div>"
    )
