"""Plan steps: one call each (a mass update by ids, a PUT batch, a bulk write), and what
became of them.

:func:`steps_from_plan` turns a :class:`~crmframe.core.plan.Plan` into :class:`Step` values in
execution order; :class:`StepOutcome` is what :func:`~crmframe.facade.write.execute.execute` made of
one step.

Examples
--------
>>> step = Step(0, "put", ("1", "2"), ("Phone",),
...             {"data": [{"id": "1", "Phone": "5"}, {"id": "2", "Phone": "6"}]})
>>> step.records(["2"])
[{'id': '2', 'Phone': '6'}]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.errors import CrmframeError

__all__ = ["ROUTES", "Step", "StepOutcome", "steps_from_plan"]

#: The routes a plan step may take, in the order they are executed.
ROUTES: tuple[str, ...] = ("mass_update", "put", "bulk_write")


@dataclass(frozen=True)
class Step:
    """One call of a plan.

    Parameters
    ----------
    index : int
        Position in the plan (the ``call`` number in results).
    route : str
        ``"mass_update"``, ``"put"`` or ``"bulk_write"``.
    ids : tuple of str
        The records the step writes, in payload order.
    fields : tuple of str
        The fields it writes.
    payload : Any
        The body: ``{"data": [...]}`` for PUT, ``{"data": [{field: value}], "ids": [...]}``
        for a mass update, whatever the bulk-write builder made for a bulk write.
    credits : float
        What the plan expects the step to cost.
    """

    index: int
    route: str
    ids: tuple[str, ...]
    fields: tuple[str, ...]
    payload: Any
    credits: float = 0.0

    def records(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The records the step sends (for ``ids`` only, when given), in payload order.

        A mass update sends one value map for many ids; it is expanded to one record per id
        so per-record results line up the same way for every route.
        """
        keep = None if ids is None else set(ids)
        if self.route == "put" and isinstance(self.payload, Mapping):
            return [
                {**record, "id": rid}
                for rid, record in self._pairs()
                if keep is None or rid in keep
            ]
        values: dict[str, Any] = {}
        if self.route == "mass_update" and isinstance(self.payload, Mapping):
            data = self.payload.get("data") or [{}]
            values = dict(data[0]) if data else {}
        return [{"id": i, **values} for i in self.ids if keep is None or i in keep]

    def _pairs(self) -> list[tuple[str, dict[str, Any]]]:
        """``(step id, record)`` for a PUT body: by position when the counts agree (a record
        may lack its id — reproducing Zoho's MANDATORY_NOT_FOUND), else by the record's id."""
        data = self.payload.get("data") if isinstance(self.payload, Mapping) else None
        rows = [r for r in data or [] if isinstance(r, Mapping)]
        if len(rows) == len(self.ids):
            return [(rid, dict(r)) for rid, r in zip(self.ids, rows, strict=True)]
        return [(str(r.get("id")), dict(r)) for r in rows]

    def restricted(self, ids: Sequence[str]) -> Any:
        """The payload cut down to ``ids`` (same keys otherwise), for JSON routes.

        Examples
        --------
        >>> Step(0, "mass_update", ("1", "2"), ("A",),
        ...      {"data": [{"A": 1}], "ids": ["1", "2"]}).restricted(["2"])
        {'data': [{'A': 1}], 'ids': ['2']}
        """
        keep = set(ids)
        if not isinstance(self.payload, Mapping):
            return self.payload
        body = dict(self.payload)
        if self.route == "put":
            body["data"] = [r for rid, r in self._pairs() if rid in keep]
        elif self.route == "mass_update" and "ids" in body:
            body["ids"] = [str(i) for i in body.get("ids") or [] if str(i) in keep]
        return body

    def describe(self) -> dict[str, Any]:
        """The step without its payload, for journal headers and reprs."""
        return {
            "step": self.index,
            "route": self.route,
            "ids": list(self.ids),
            "fields": list(self.fields),
            "credits": self.credits,
        }


@dataclass
class StepOutcome:
    """What happened to one step.

    ``parts`` are ``(ids, body)`` pairs: each call's ids and its reply body (or an error
    envelope under ``"error"``). ``verified`` ids were found applied by a read-back.
    ``unsettled`` ids have no known outcome (not sent, or sent and never answered), with
    ``reason`` saying which. ``calls`` counts the calls made in this run.
    """

    step: Step
    parts: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    reason: str | None = None
    error: CrmframeError | None = None
    calls: int = 0
    from_journal: bool = False
    #: Zoho's clock before this run sent the step (``None`` when unknown): a record whose
    #: ``Modified_Time`` is older was provably not written by it (``retry()`` settles so).
    sent_after: pd.Timestamp | None = None


def steps_from_plan(plan: Any, *, trigger: Sequence[str] | None = None) -> list[Step]:
    """The plan's steps as :class:`Step` values, in execution order.

    ``trigger`` goes into every PUT body (``[]`` disables automations; ``None`` leaves the
    key out, so Zoho runs them).
    """
    frame = plan.steps
    payloads = plan.payloads
    out: list[Step] = []
    for position, row in enumerate(frame.to_dict("records")):
        payload = payloads[position] if not isinstance(payloads, Mapping) else payloads[
            frame.index[position]]
        route = str(row["route"])
        if route == "put" and trigger is not None and isinstance(payload, Mapping):
            payload = {**payload, "trigger": list(trigger)}
        ids = tuple(str(i) for i in row.get("ids") or ())
        fields = tuple(str(f) for f in row.get("fields") or ())
        credits = row.get("credits")
        out.append(
            Step(
                index=position,
                route=route,
                ids=ids,
                fields=fields,
                payload=payload,
                credits=0.0 if credits is None or pd.isna(credits) else float(credits),
            )
        )
    order = {route: n for n, route in enumerate(ROUTES)}
    ordered = sorted(out, key=lambda s: (order.get(s.route, len(ROUTES)), s.index))
    return [
        Step(n, s.route, s.ids, s.fields, s.payload, s.credits) for n, s in enumerate(ordered)
    ]
