"""Inserting and updating records with Zoho's per-record results.

All checks of one request run under the store lock before anything is written, then the
successful records are committed in one transaction: a request either writes its
successes or (on an exception) nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Any, Literal

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.clock import Clock, format_datetime
from crmframe.sandbox.schema import LAYOUTS, USER_OFFSET_MINUTES, USERS, Module
from crmframe.sandbox.store import Record, Store
from crmframe.sandbox.subforms import check_rows, display_name, with_parent
from crmframe.sandbox.validation import Problem, as_id, check_value, mandatory, recompute

__all__ = ["Writer", "write_status"]

API_USER = USERS[0]
_BY = {"name": API_USER["name"], "id": API_USER["id"]}

Op = Literal["insert", "update"]


def write_status(results: list[dict[str, Any]], *, modern: bool, created: bool = False,
                 mass: bool = False) -> int:
    """The HTTP status of a multi-record answer.

    v8: all success 200 (201 for inserts), mixed 207, all failed 400. v2/v2.1 per the
    seeds: failed records answer 202 (seed 003), mass updates always 200 (seed 004).
    """
    ok = sum(1 for r in results if r.get("status") == "success")
    if ok == len(results):
        return 201 if created else 200
    if not ok and all(r.get("code") == "ALREADY_MODIFIED" for r in results):
        return 412
    if not modern and mass:
        return 200
    if ok:
        return 207
    return 400 if modern else 202


class Writer:
    """Applies writes to the store, one request at a time."""

    def __init__(self, store: Store, modules: dict[str, Module], clock: Clock) -> None:
        self.store = store
        self.modules = modules
        self.clock = clock
        #: ``(module, id) -> times written`` by API writes and jobs (inserts, updates, mass
        #: updates, bulk writes; not :meth:`touch`): a record written twice shows as 2.
        self.write_counts: Counter[tuple[str, str]] = Counter()

    # ------------------------------------------------------------------ helpers
    def resolve(self, module: str | None, rid: str) -> str | None:
        """Display name of record ``rid`` in ``module`` (for lookups), or ``None``."""
        if module is None or module not in self.modules:
            return None
        rec = self.store.get(module, rid)
        if rec is None:
            return None
        return display_name(rec.values, rid)

    def stamp(self, previous: float | None) -> float:
        """A modification time: now, but always after ``previous`` (seconds precision)."""
        now = float(int(self.clock.now()))
        if previous is not None and now <= previous:
            now = float(int(previous) + 1)
        return now

    @staticmethod
    def success(rec: Record, *, added: bool, modern: bool, mass: bool = False) -> dict[str, Any]:
        """The ``SUCCESS`` item for a written record (seed 003 / v8 shapes)."""
        v = rec.values
        details: dict[str, Any] = {
            "Modified_Time": v.get("Modified_Time"),
            "Modified_By": {"name": v["Modified_By"]["name"], "id": v["Modified_By"]["id"]},
            "Created_Time": v.get("Created_Time"),
            "id": rec.id,
            "Created_By": {"name": v["Created_By"]["name"], "id": v["Created_By"]["id"]},
        }
        if modern and not mass:
            # v8 updateRecords reports it; v8 massUpdateRecords does not.
            details["$approval_state"] = "approved"
        return {
            "code": "SUCCESS",
            "details": details,
            "message": "record added" if added else "record updated",
            "status": "success",
        }

    @staticmethod
    def _path(modern: bool, index: int, api_name: str) -> str | None:
        return f"$.data[{index}].{api_name}" if modern else None

    def flag_problem(self, rec: Record, index: int, modern: bool,
                     in_path: bool = False) -> Problem | None:
        """``RECORD_LOCKED`` / ``NOT_APPROVED`` for a flagged record (``in_path``: its id
        came in the URL, which v8 points at by ``resource_path_index``)."""
        if rec.locked:
            if modern:
                return Problem(
                    "RECORD_LOCKED",
                    "Sorry, you cannot perform this operation as the record is locked.",
                    {"api_name": "id", "json_path": f"$.data[{index}].id",
                     "action": "record_locking"},
                )
            # v2's sample answers this code with the NOT_APPROVED wording (seed 003).
            return Problem("RECORD_LOCKED", "cannot update record that is not approved yet",
                           {"action": "record_locking", "id": rec.id})
        if not rec.approved:
            msg = ("Cannot update record that is not approved yet" if modern
                   else "cannot update record that is not approved yet")
            # v8's example (PUT /{module}/{id}) points at the URL's id; seed 003 gives {"id"}
            details: dict[str, Any] = ({"resource_path_index": 1} if modern and in_path
                                       else {"id": rec.id})
            return Problem("NOT_APPROVED", msg, details)
        return None

    def duplicate(self, mod: Module, api_name: str, dup_id: str, index: int,
                  modern: bool) -> Problem:
        """``DUPLICATE_DATA`` on a unique field."""
        if not modern:
            return Problem("DUPLICATE_DATA", "duplicate data", {"api_name": api_name, "id": dup_id})
        other = self.store.get(mod.api_name, dup_id)
        owner = other.values.get("Owner") if other else None
        dup: dict[str, Any] = {"id": dup_id,
                               "module": {"api_name": mod.api_name, "id": mod.id}}
        if isinstance(owner, Mapping):
            dup["Owner"] = {"name": owner.get("name"), "id": owner.get("id"),
                            "zuid": str(owner.get("id", ""))[-8:]}
        return Problem("DUPLICATE_DATA", "duplicate data", {
            "api_name": api_name,
            "json_path": f"$.data[{index}].{api_name}",
            "duplicate_record": dup,
            "id": dup_id,
            "more_records": False,
        })

    def check_fields(self, mod: Module, item: Mapping[str, Any], index: int,
                     modern: bool, old: Record | None = None) -> dict[str, Any] | Problem:
        """Checked values of one written object (``id`` and ``$``-keys left out).

        A subform field's rows are merged with ``old``'s (the record before the write) by
        Zoho's rules (:mod:`crmframe.sandbox.subforms`).
        """
        out: dict[str, Any] = {}
        for key, value in item.items():
            if key == "id" or key.startswith("$"):
                continue
            sub = mod.subforms.get(key)
            if sub is not None:
                # null clears the rows like [] does
                checked = check_rows(sub, key, [] if value is None else value,
                                     old.values.get(key) if old else None,
                                     self._path(modern, index, key), self.resolve,
                                     self.store.new_id)
            else:
                checked = check_value(mod, key, value, self._path(modern, index, key),
                                      self.resolve)
            if isinstance(checked, Problem):
                return checked
            out[key] = checked
        return out

    # ------------------------------------------------------------------ writes
    def write(
        self,
        module: str,
        items: list[Any],
        *,
        op: Op,
        modern: bool,
        path_id: str | None = None,
        unmodified_since: float | None = None,
    ) -> list[dict[str, Any]]:
        """Insert or update ``items``; one result per item, in order.

        ``unmodified_since`` (the ``If-Unmodified-Since`` header) refuses updates of records
        modified after it with ``ALREADY_MODIFIED``.
        """
        mod = self.modules[module]
        results: list[dict[str, Any]] = []
        with self.store.lock:
            pending: dict[str, Record] = {}
            claimed: dict[tuple[str, str], str] = {}
            for index, item in enumerate(items):
                outcome = self._one(mod, item, index, op=op, modern=modern, path_id=path_id,
                                    pending=pending, claimed=claimed,
                                    unmodified_since=unmodified_since)
                if isinstance(outcome, Problem):
                    results.append(outcome.to_json())
                else:
                    pending[outcome.id] = outcome
                    results.append(self.success(outcome, added=op == "insert", modern=modern))
            self.store.put(module, pending.values())
            self.write_counts.update((module, rid) for rid in pending)
        return results

    def _one(
        self,
        mod: Module,
        item: Any,
        index: int,
        *,
        op: Op,
        modern: bool,
        path_id: str | None,
        pending: dict[str, Record],
        claimed: dict[tuple[str, str], str],
        unmodified_since: float | None = None,
    ) -> Record | Problem:
        if not isinstance(item, Mapping):
            return Problem("INVALID_DATA", "invalid data",
                           {"expected_data_type": "jsonobject", "api_name": "data",
                            **({"json_path": f"$.data[{index}]"} if modern else {})})
        old: Record | None = None
        if op == "update":
            raw = path_id if path_id is not None else item.get("id")
            if raw is None:
                return mandatory("id", self._path(modern, index, "id"))
            rid = as_id(raw)
            old = pending.get(rid) if rid is not None else None
            if old is None and rid is not None:
                old = self.store.get(mod.api_name, rid)
            if old is None:
                return Problem("INVALID_DATA", "the id given seems to be invalid", {"id": str(raw)})
            flagged = self.flag_problem(old, index, modern, in_path=path_id is not None)
            if flagged is not None:
                return flagged
            if unmodified_since is not None and old.modified > unmodified_since:
                details = self.success(old, added=False, modern=False)["details"]
                return Problem("ALREADY_MODIFIED",
                               "record updated time has already passed if-unmodified-since time",
                               details)
        checked = self.check_fields(mod, item, index, modern, old)
        if isinstance(checked, Problem):
            return checked
        for api_name in mod.mandatory:
            missing = checked.get(api_name) in (None, "", [])
            # a mandatory subform (line items) may not be emptied by an update either
            if missing and (old is None or (api_name in mod.subforms and api_name in checked)):
                return mandatory(api_name, self._path(modern, index, api_name))
        rid = old.id if old is not None else self.store.new_id()
        for api_name in mod.unique:
            if api_name not in checked or checked[api_name] in (None, ""):
                continue
            key = str(checked[api_name]).casefold()
            dup = self.store.find_unique(mod.api_name, api_name, checked[api_name])
            if dup is not None and dup != rid:
                # a record already stored, unless this same request moves it off that value
                moved = pending.get(dup)
                if moved is None or str(moved.values.get(api_name) or "").casefold() == key:
                    return self.duplicate(mod, api_name, dup, index, modern)
            other = claimed.get((api_name, key))
            if other is not None and other != rid:
                return self.duplicate(mod, api_name, other, index, modern)
            claimed[(api_name, key)] = rid
        return self._build(mod, rid, old, checked)

    def _build(self, mod: Module, rid: str, old: Record | None,
               changes: dict[str, Any]) -> Record:
        by = {"name": API_USER["name"], "id": API_USER["id"], "email": API_USER["email"]}
        if old is None:
            created = self.stamp(None)
            values: dict[str, Any] = {
                name: ([] if mod.kinds[name] in (Kind.LIST, Kind.SUBFORM) else None)
                for name in mod.names
            }
            values.update({
                "id": rid,
                "Owner": dict(by),
                "Layout": dict(LAYOUTS[mod.api_name]),
                "Created_By": dict(by),
                "Created_Time": format_datetime(created, USER_OFFSET_MINUTES),
            })
            if mod.api_name == "Leads":
                values["Lead_Number"] = f"LD-{1000 + self.store.count('Leads') + 1}"
                values["Converted__s"] = False
            if mod.api_name == "Deals":
                values["Deal_Number"] = f"DL-{self.store.count('Deals') + 1}"
            modified = created
            locked, approved = False, True
        else:
            values = dict(old.values)
            created = old.created
            modified = self.stamp(old.modified)
            locked, approved = old.locked, old.approved
        values.update(changes)
        values["Modified_By"] = dict(by)
        values["Modified_Time"] = format_datetime(modified, USER_OFFSET_MINUTES)
        recompute(mod.api_name, values)
        if mod.subforms:  # after recompute: a parent's name may be computed (Full_Name)
            with_parent(mod, rid, values)
        return Record(rid, values, created, modified, locked, approved)

    def delete(self, module: str, ids: list[str], *, modern: bool) -> list[dict[str, Any]]:
        """Delete records by id: per-id results (``record deleted``)."""
        results: list[dict[str, Any]] = []
        with self.store.lock:
            gone: list[str] = []
            for index, rid in enumerate(ids):
                rec = self.store.get(module, rid)
                if rec is None or rid in gone:
                    # Zoho's Delete Records page documents "record not deleted" for a
                    # record already deleted; an id never seen keeps the generic answer
                    already = rid in gone or bool(self.store.query(
                        "SELECT 1 FROM deleted WHERE module = ? AND id = ?", (module, rid)))
                    message = "record not deleted" if already else \
                        "the id given seems to be invalid"
                    results.append(Problem("INVALID_DATA", message, {"id": rid}).to_json())
                    continue
                flagged = self.flag_problem(rec, index, modern)
                if flagged is not None:
                    results.append(flagged.to_json())
                    continue
                gone.append(rid)
                results.append({"code": "SUCCESS", "details": {"id": rid},
                                "message": "record deleted", "status": "success"})
            now = self.clock.now()
            log = {rid: (now, self.deletion_entry(module, self.store.get(module, rid), now))
                   for rid in gone}
            self.store.delete(module, gone, log)
        return results

    def deletion_entry(self, module: str, rec: Record | None, now: float) -> dict[str, Any]:
        """The ``GET /{module}/deleted`` element of a record deleted now (to the recycle bin)."""
        values = rec.values if rec is not None else {}
        created = values.get("Created_By")
        rid = rec.id if rec is not None else ""
        return {
            "id": rid,
            "display_name": self.resolve(module, rid) if rec is not None else None,
            "type": "recycle",
            "deleted_time": format_datetime(now, USER_OFFSET_MINUTES),
            "deleted_by": dict(_BY),
            "created_by": ({"name": created.get("name"), "id": created.get("id")}
                           if isinstance(created, Mapping) else None),
        }

    def upsert(self, module: str, items: list[Any], check_fields: list[str], *,
               modern: bool, unmodified_since: float | None = None) -> list[dict[str, Any]]:
        """Update the record an item matches (by id, then ``check_fields``), else insert.

        ``unmodified_since`` applies to the update branch only (a new record has no past).
        """
        mod = self.modules[module]
        results: list[dict[str, Any]] = []
        with self.store.lock:
            for item in items:
                target: str | None = None
                matched: str | None = None
                if isinstance(item, Mapping):
                    given = as_id(item.get("id"))
                    if given is not None and self.store.get(module, given):
                        target = given
                    else:
                        for name in check_fields:
                            value = item.get(name)
                            if value in (None, ""):
                                continue
                            target = self.find(mod, name, value)
                            if target is not None:
                                matched = name
                                break
                if target is not None:
                    body = dict(item)
                    body["id"] = target
                    res = self.write(module, [body], op="update", modern=modern,
                                     unmodified_since=unmodified_since)[0]
                else:
                    res = self.write(module, [item], op="insert", modern=modern)[0]
                if res["status"] == "success":
                    res["action"] = "update" if target is not None else "insert"
                    res["duplicate_field"] = matched
                results.append(res)
        return results

    def find(self, mod: Module, name: str, value: Any) -> str | None:
        """The id of the record whose field ``name`` equals ``value`` (ignoring case).

        Empty values match nothing; ``id`` is looked up directly, unique fields through
        the store's index, other fields by a scan (the first match in id order).
        """
        if value in (None, ""):
            return None
        if name == "id":
            return str(value) if self.store.get(mod.api_name, str(value)) else None
        if name in mod.unique:
            return self.store.find_unique(mod.api_name, name, value)
        folded = str(value).casefold()
        for rec in self.store.records(mod.api_name):
            if str(rec.values.get(name) or "").casefold() == folded:
                return rec.id
        return None

    def touch(self, module: str, rid: str) -> Record:
        """Bump a record's ``Modified_Time`` as if another user edited it."""
        with self.store.lock:
            old = self.store.get(module, rid)
            if old is None:
                raise KeyError(f"{module} has no record {rid}")
            other = USERS[1]
            modified = self.stamp(old.modified)
            values = dict(old.values)
            values["Modified_By"] = dict(other)
            values["Modified_Time"] = format_datetime(modified, USER_OFFSET_MINUTES)
            rec = Record(rid, values, old.created, modified, old.locked, old.approved)
            self.store.put(module, [rec])
            return rec

    def mass_apply(self, module: str, ids: list[Any], changes: dict[str, Any], *,
                   over_write: bool, modern: bool) -> list[dict[str, Any]]:
        """Apply checked ``changes`` to each id (mass update by ids): per-id results."""
        mod = self.modules[module]
        results: list[dict[str, Any]] = []
        with self.store.lock:
            pending: dict[str, Record] = {}
            for index, given in enumerate(ids):
                rid = as_id(given)
                old = pending.get(rid) if rid is not None else None
                if old is None and rid is not None:
                    old = self.store.get(module, rid)
                if old is None or rid is None:
                    results.append(Problem("INVALID_DATA", "the id given seems to be invalid",
                                           {"id": str(given)}).to_json())
                    continue
                flagged = self.flag_problem(old, index, modern)
                if flagged is not None:
                    if flagged.code == "RECORD_LOCKED":
                        flagged = Problem("RECORD_LOCKED", flagged.message,
                                          {"action": "record_locking", "id": old.id})
                    results.append(flagged.to_json())
                    continue
                rec = self._build(mod, old.id, old, self.merge(mod, old, changes, over_write))
                pending[rec.id] = rec
                results.append(self.success(rec, added=False, modern=modern, mass=True))
            self.store.put(module, pending.values())
            self.write_counts.update((module, rid) for rid in pending)
        return results

    @staticmethod
    def merge(mod: Module, old: Record, changes: dict[str, Any],
              over_write: bool) -> dict[str, Any]:
        """Mass-update values: multi-select picklists add to the old list unless over_write."""
        if over_write:
            return changes
        merged = dict(changes)
        for name, value in changes.items():
            if mod.kinds.get(name) is Kind.LIST and isinstance(value, list):
                before = old.values.get(name) or []
                merged[name] = list(dict.fromkeys([*before, *value]))
        return merged
