"""HTML reports a manager can read: formatted tables, figures from one source, charts.

:class:`Report` assembles a self-contained HTML page: headline figures, tables formatted
with pandas' Styler (thousands separators, units, numbers right-aligned and text left,
a caption on every table, no stray header rows), charts in the outcome colours of
:mod:`crmframe.plots`. :func:`report` writes the report of one push, every figure taken
from its :class:`~crmframe.facade.write.result.PushResult` so no two numbers can disagree.
The demo (``crmframe demo``) builds its report with the same :class:`Report`.

Examples
--------
>>> import pandas as pd
>>> page = Report("Leads clean-up")
>>> page.figures({"records read": 3000, "credits": 72.0}, units={"credits": "credits"})
>>> page.table(pd.DataFrame({"step": ["read", "push"], "calls": [31, 1204]}),
...            "API calls by step")
>>> html = page.html()
>>> "1,204" in html and "<caption>API calls by step</caption>" in html
True
"""

from __future__ import annotations

import base64
import functools
import html as html_lib
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from crmframe.errors import InputError

__all__ = ["Report", "format_table", "report"]

_CSS = """
body { font-family: system-ui, -apple-system, sans-serif; margin: 2em auto; max-width: 68em;
       color: #222; line-height: 1.45; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { margin-top: 1.8em; font-size: 1.25em; }
.figures { display: flex; flex-wrap: wrap; gap: 0.8em; margin: 1em 0; }
.figure { border: 1px solid #ddd; border-radius: 6px; padding: 0.5em 0.9em; min-width: 9em; }
.figure .value { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }
.figure .label { color: #666; font-size: 0.85em; }
table.crmframe-table { border-collapse: collapse; margin: 0.6em 0 1.6em; font-size: 0.92em; }
table.crmframe-table caption { caption-side: top; text-align: left; font-weight: 600;
                               padding: 0.3em 0; color: #333; }
table.crmframe-table th, table.crmframe-table td { padding: 0.25em 0.8em;
                               border-bottom: 1px solid #e3e3e3; }
table.crmframe-table th { background: #f5f5f5; text-align: left; }
table.crmframe-table td.num, table.crmframe-table th.num { text-align: right;
                               font-variant-numeric: tabular-nums; }
table.crmframe-table td.text { text-align: left; }
table.crmframe-table td:first-child { white-space: nowrap; }
.note { color: #555; font-size: 0.9em; } .ok { color: #2ca02c; } .fail { color: #d62728; }
img.chart { max-width: 100%; height: auto; display: block; margin: 0.5em 0 1.2em; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
"""


def _is_number(series: pd.Series) -> bool:
    return bool(pd.api.types.is_numeric_dtype(series.dtype)) and not (
        pd.api.types.is_bool_dtype(series.dtype))


def _number(value: Any, unit: str = "") -> str:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return "–"
    if isinstance(value, float) and not value.is_integer():
        text = f"{value:,.2f}"
    else:
        text = f"{int(value):,}"
    if unit.endswith("s") and value == 1:
        unit = unit[:-1]  # "1 record", "1 credit"
    return f"{text} {unit}".strip()


def _unit_number(value: Any, unit: str) -> str:
    return _number(value, unit)


def _text(value: Any) -> str:
    if value is None or value is pd.NA or value is pd.NaT or (
            isinstance(value, float) and value != value):
        return ""
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def format_table(
    frame: pd.DataFrame,
    caption: str,
    *,
    units: Mapping[str, str] | None = None,
    index: bool = False,
    rows: int = 50,
) -> str:
    """A frame as an HTML table for people: Styler-formatted, captioned, aligned.

    Numbers get thousands separators (and their unit, e.g. ``credits``), missing values
    a dash; numbers are right-aligned, text left. ``index=True`` turns the index into a
    first column (never a second header row). Past ``rows`` rows the table says how many
    more there are.

    Raises
    ------
    InputError
        When a name is used twice among the columns (and, with ``index=True``, the
        index's names).

    Examples
    --------
    >>> t = format_table(pd.DataFrame({"field": ["Phone"], "cells": [1134]}), "Edits",
    ...                  units={"cells": "cells"})
    >>> "1,134 cells" in t and "<caption>Edits</caption>" in t
    True
    """
    units = dict(units or {})
    names = [str(n) for n in frame.columns]
    if index:
        names += [str(n) for n in frame.index.names if n is not None]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise InputError(
            f"format_table: {', '.join(repr(n) for n in twice)} twice among the "
            f"{'columns and the index' if index else 'columns'}; a table for people needs "
            "one name per column: rename one (frame.rename(columns=...) or rename_axis)")
    shown = frame.reset_index() if index else frame.reset_index(drop=True)
    more = len(shown) - rows
    shown = shown.head(rows)
    numeric = [str(c) for c in shown.columns if _is_number(shown[c])]
    styler = shown.style.hide(axis="index").set_caption(html_lib.escape(caption))
    formats = {c: functools.partial(_unit_number, unit=units.get(str(c), "")) for c in numeric}
    styler = styler.format(formats, na_rep="–")
    # Cells are data (Zoho's messages, analysts' values): escaped, never markup.
    styler = styler.format(_text, subset=[c for c in shown.columns if str(c) not in numeric],
                           escape="html")
    styler = styler.set_td_classes(pd.DataFrame(
        [["num" if str(c) in numeric else "text" for c in shown.columns]] * len(shown),
        index=shown.index, columns=shown.columns))
    styler = styler.set_table_attributes('class="crmframe-table"')
    headers = [{"selector": f"th.col_heading.col{i}", "props": "text-align: right;"}
               for i, c in enumerate(shown.columns) if str(c) in numeric]
    styler = styler.set_table_styles(headers, overwrite=False)
    out = str(styler.to_html())
    if more > 0:
        out += f"<p class='note'>{more:,} more rows in the CSV.</p>"
    return out


class Report:
    """An HTML report assembled part by part; :meth:`write` saves it.

    Parameters
    ----------
    title : str
    subtitle : str, optional
        A line under the title (what, when).
    """

    def __init__(self, title: str, subtitle: str = "") -> None:
        self.title = title
        self.subtitle = subtitle
        self.parts: list[str] = []
        #: Every headline figure, by label: the one place a report's numbers come from.
        self.values: dict[str, Any] = {}

    def heading(self, text: str) -> None:
        """A section heading."""
        self.parts.append(f"<h2>{html_lib.escape(text)}</h2>")

    def paragraph(self, text: str, *, css: str = "") -> None:
        """A paragraph of plain text (escaped)."""
        cls = f" class='{css}'" if css else ""
        self.parts.append(f"<p{cls}>{html_lib.escape(text)}</p>")

    def raw(self, markup: str) -> None:
        """Markup added as it is (for callers that escaped it themselves)."""
        self.parts.append(markup)

    def figures(self, values: Mapping[str, Any], *, units: Mapping[str, str] | None = None
                ) -> None:
        """Headline figures as tiles; each is kept in :attr:`values` under its label."""
        units = dict(units or {})
        tiles = []
        for label, value in values.items():
            self.values[label] = value
            shown = _number(value, units.get(label, "")) if isinstance(
                value, (int, float)) and not isinstance(value, bool) else _text(value)
            tiles.append(
                f"<div class='figure' data-label='{html_lib.escape(label)}' "
                f"data-value='{html_lib.escape(str(value))}'><div class='value'>"
                f"{html_lib.escape(shown)}</div><div class='label'>"
                f"{html_lib.escape(label)}</div></div>")
        self.parts.append(f"<div class='figures'>{''.join(tiles)}</div>")

    def table(self, frame: pd.DataFrame | None, caption: str, *,
              units: Mapping[str, str] | None = None, index: bool = False,
              rows: int = 50) -> None:
        """A formatted table (:func:`format_table`); ``(none)`` for an empty frame."""
        if frame is None or not len(frame):
            self.parts.append(f"<p class='note'>{html_lib.escape(caption)}: none.</p>")
            return
        self.parts.append(format_table(frame, caption, units=units, index=index, rows=rows))

    def image(self, png: bytes | Path, alt: str) -> None:
        """A chart: PNG bytes embedded, or a path linked relative to the report."""
        if isinstance(png, Path):
            src = html_lib.escape(png.as_posix())
        else:
            src = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        self.parts.append(f"<img class='chart' src='{src}' alt='{html_lib.escape(alt)}'>")

    def html(self) -> str:
        """The whole page."""
        sub = f"<p class='note'>{html_lib.escape(self.subtitle)}</p>" if self.subtitle else ""
        body = "\n".join(self.parts)
        return (f"<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
                f"<title>{html_lib.escape(self.title)}</title><style>{_CSS}</style></head>"
                f"<body><h1>{html_lib.escape(self.title)}</h1>{sub}\n{body}\n</body></html>\n")

    def write(self, path: str | Path) -> Path:
        """Write the page (UTF-8); returns the path."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(self.html(), encoding="utf-8")
        return target


def report(result: Any, path: str | Path | None = None, *, title: str = "Push report") -> str:
    """The report of one push: figures, records by status and code, failures, jobs.

    Every number comes from ``result`` (a ``PushResult``): records, write calls, reads,
    credits, and the counts by status and code, so the headline and the tables agree.

    Parameters
    ----------
    result : PushResult
    path : str or Path, optional
        Where to write the HTML; without it the HTML is only returned.
    title : str

    Returns
    -------
    str
        The HTML.

    Examples
    --------
    >>> from crmframe.facade.write.result import PushResult
    >>> frame = pd.DataFrame({"id": ["1", "2"], "route": "put", "call": 0,
    ...     "fields": [["Phone"]] * 2, "code": ["SUCCESS", "RECORD_LOCKED"],
    ...     "status": ["success", "error"], "message": ["", "locked"], "details": [{}] * 2})
    >>> page = report(PushResult(frame, calls=1, credits=1.0))
    >>> "data-label='records failed' data-value='1'" in page
    True
    """
    from crmframe.facade.write.result import record_count

    summary = result.summary()
    results = result.results
    failed = result.failed
    page = Report(title, f"written {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC")
    # counted as summary() counts: a new record without an id is a record of its own
    page.figures({
        "records": record_count(results["id"]),
        "records written": record_count(result.succeeded["id"]),
        "records failed": record_count(failed["id"]),
        "write calls": int(result.writes),
        "read calls": int(result.reads),
        "credits": float(result.credits),
    }, units={"credits": "credits"})
    page.heading("Records by status and code")
    page.table(summary, "records by status and code", units={"records": "records"})
    if len(failed):
        page.heading("Failed records")
        page.table(failed[["id", "route", "code", "status", "message"]],
                   "records whose edits did not reach the CRM")
    jobs = list(getattr(result, "jobs", []) or [])
    finals = [job.status for job in jobs if getattr(job, "status", None) is not None]
    if finals:
        from crmframe.plots import job_chart_png

        page.heading("Jobs")
        page.image(job_chart_png(finals), "the push's jobs")
    markup = page.html()
    if path is not None:
        page.write(path)
    return markup
