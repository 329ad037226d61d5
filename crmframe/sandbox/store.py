"""SQLite storage of the sandbox's records, with an in-memory mirror that serves reads.

SQLite is the source of truth: every write is one transaction, committed before the
answer goes out, so a restart on the same file keeps every acknowledged write. A mirror of
the records (parsed once) serves reads, which keeps a 200-record page cheap. One lock
guards the connection and the mirror: in-memory databases need a single connection, and
Python's GIL would serialise the work anyway.

Records are copy-on-write: an update builds a new :class:`Record`, so a reader holding an
old one never sees it change under it.
"""

from __future__ import annotations

import bisect
import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from crmframe.sandbox.schema import Module, make_id

__all__ = ["ModuleData", "Record", "Store", "encode_record"]

#: Compact JSON text of a record's values. One encoder for all calls (``json.dumps`` with
#: options builds a new one each time), without the cycle check: stored values are trees.
encode_record = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"),
                                 check_circular=False).encode

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    module TEXT NOT NULL,
    id TEXT NOT NULL,
    created REAL NOT NULL,
    modified REAL NOT NULL,
    locked INTEGER NOT NULL DEFAULT 0,
    approved INTEGER NOT NULL DEFAULT 1,
    body TEXT NOT NULL,
    PRIMARY KEY (module, id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS records_modified ON records (module, modified);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS deleted (
    module TEXT NOT NULL,
    id TEXT NOT NULL,
    deleted REAL NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (module, id)
) WITHOUT ROWID;
"""

#: Ids below this are reserved for the org, users, layouts, modules, fields and views.
FIRST_RECORD_NUMBER = 100_000


@dataclass(frozen=True)
class Record:
    """One stored record. ``values`` holds every field, ``id`` included; never mutate it."""

    id: str
    values: dict[str, Any]
    created: float
    modified: float
    locked: bool = False
    approved: bool = True
    #: Memo of derived text (``"body"``: the stored JSON); never part of comparisons.
    cache: dict[str, str] = field(default_factory=dict, compare=False, repr=False, hash=False)

    def with_flags(self, locked: bool | None, approved: bool | None) -> Record:
        """A copy with the lock/approval flags changed (``None`` keeps a flag)."""
        return replace(
            self,
            locked=self.locked if locked is None else locked,
            approved=self.approved if approved is None else approved,
            cache=dict(self.cache),
        )


@dataclass
class ModuleData:
    """The mirror of one module: records by id, ids in ascending order, unique values."""

    by_id: dict[str, Record] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    unique: dict[str, dict[str, str]] = field(default_factory=dict)
    version: int = 0


def unique_key(value: Any) -> str | None:
    """How a unique field's value is compared (Zoho's unique check ignores case)."""
    if value is None or value == "":
        return None
    return str(value).casefold()


class Store:
    """Records of all modules in SQLite (a file, or ``:memory:``) and mirrored in memory."""

    def __init__(self, path: str | None, modules: dict[str, Module]) -> None:
        self.path = path
        self.modules = modules
        self.lock = threading.RLock()
        # The job files' connection (jobfiles.py) may write the same file meanwhile.
        self._conn = sqlite3.connect(
            path or ":memory:", check_same_thread=False, isolation_level=None, timeout=60.0
        )
        if path:
            # WAL lets a crash lose nothing that was committed; NORMAL sync is durable
            # against process death, which is what a restart test exercises.
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.executescript(_SCHEMA)
        self.data: dict[str, ModuleData] = {name: ModuleData() for name in modules}
        self._counter = FIRST_RECORD_NUMBER
        self._depth = 0  # nesting of transaction()
        self._load()
        self._saved_counter = self._counter

    # ------------------------------------------------------------------ lifecycle
    def _load(self) -> None:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'counter'").fetchone()
        if row:
            self._counter = int(row[0])
        cur = self._conn.execute(
            "SELECT module, id, created, modified, locked, approved, body FROM records"
        )
        for module, rid, created, modified, locked, approved, body in cur:
            if module not in self.data:
                continue
            rec = Record(rid, json.loads(body), created, modified, bool(locked), bool(approved))
            self._mirror(module, rec, None)
        for md in self.data.values():
            md.order.sort()

    def close(self) -> None:
        """Close the SQLite connection (idempotent)."""
        with self.lock, contextlib.suppress(sqlite3.Error):
            self._conn.close()

    def is_empty(self) -> bool:
        """True when no record is stored."""
        with self.lock:
            return not any(md.by_id for md in self.data.values())

    def set_meta(self, key: str, value: str) -> None:
        """Store a value in the ``meta`` table (its own transaction)."""
        with self.lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value)
            )

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction around every write made inside it, the id counter
        included; yields the connection for tables of other modules (jobs).

        Reentrant: :meth:`put` and :meth:`delete` inside it join it, so a job's progress
        commits together with the records it wrote, or not at all.
        """
        with self.lock:
            if self._depth:
                self._depth += 1
                try:
                    yield self._conn
                finally:
                    self._depth -= 1
                return
            conn = self._conn
            conn.execute("BEGIN")
            self._depth = 1
            try:
                yield conn
                if self._counter != self._saved_counter:
                    conn.execute(
                        "INSERT OR REPLACE INTO meta (key, value) VALUES ('counter', ?)",
                        (str(self._counter),),
                    )
                    self._saved_counter = self._counter
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                self._depth = 0

    def query(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """The rows of one read-only statement (tables of other modules: jobs)."""
        with self.lock:
            return self._conn.execute(sql, params).fetchall()

    # ------------------------------------------------------------------ ids
    def new_id(self) -> str:
        """The next unused 19-digit id (persisted with the next write)."""
        with self.lock:
            self._counter += 1
            return make_id(self._counter)

    # ------------------------------------------------------------------ reads
    def get(self, module: str, rid: str) -> Record | None:
        """One record, or ``None``."""
        return self.data[module].by_id.get(rid)

    def records(self, module: str) -> list[Record]:
        """All records of a module in ascending id order (a snapshot list)."""
        with self.lock:
            md = self.data[module]
            return [md.by_id[i] for i in md.order]

    def ids(self, module: str) -> list[str]:
        """All ids of a module, ascending."""
        with self.lock:
            return list(self.data[module].order)

    def count(self, module: str) -> int:
        """Number of records in a module."""
        return len(self.data[module].by_id)

    def version(self, module: str) -> int:
        """A number that changes whenever the module's records change."""
        return self.data[module].version

    def find_unique(self, module: str, api_name: str, value: Any) -> str | None:
        """The id of the record whose unique field ``api_name`` equals ``value``."""
        key = unique_key(value)
        if key is None:
            return None
        return self.data[module].unique.get(api_name, {}).get(key)

    # ------------------------------------------------------------------ writes
    def put(self, module: str, records: Iterable[Record]) -> None:
        """Insert or replace records in one committed transaction, then mirror them."""
        batch = list(records)
        if not batch:
            return
        # The text is not kept: a full-record read re-creates it once (listing.full_text).
        rows = [
            (module, r.id, r.created, r.modified, int(r.locked), int(r.approved),
             r.cache.get("body") or encode_record(r.values))
            for r in batch
        ]
        with self.lock:
            with self.transaction() as conn:
                conn.executemany(
                    "INSERT OR REPLACE INTO records "
                    "(module, id, created, modified, locked, approved, body) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    rows,
                )
            md = self.data[module]
            appended_out_of_order = False
            for rec in batch:
                old = md.by_id.get(rec.id)
                if old is None and md.order and rec.id < md.order[-1]:
                    appended_out_of_order = True
                self._mirror(module, rec, old)
            if appended_out_of_order:
                md.order.sort()
            md.version += 1

    def delete(self, module: str, ids: Iterable[str],
               log: dict[str, tuple[float, dict[str, Any]]] | None = None) -> None:
        """Delete records in one committed transaction, then from the mirror.

        ``log`` maps deleted ids to ``(deleted_time, entry)`` for the deletion log
        (``GET /{module}/deleted``), written in the same transaction.
        """
        gone = [i for i in dict.fromkeys(ids) if i in self.data[module].by_id]
        if not gone:
            return
        with self.lock:
            with self.transaction() as conn:
                conn.executemany("DELETE FROM records WHERE module = ? AND id = ?",
                                 [(module, i) for i in gone])
                if log:
                    conn.executemany(
                        "INSERT OR REPLACE INTO deleted (module, id, deleted, body) "
                        "VALUES (?, ?, ?, ?)",
                        [(module, i, log[i][0], encode_record(log[i][1]))
                         for i in gone if i in log])
            md = self.data[module]
            for rid in gone:
                rec = md.by_id.pop(rid)
                pos = bisect.bisect_left(md.order, rid)
                if pos < len(md.order) and md.order[pos] == rid:
                    del md.order[pos]
                for api_name in self.modules[module].unique:
                    key = unique_key(rec.values.get(api_name))
                    index = md.unique.get(api_name, {})
                    if key is not None and index.get(key) == rid:
                        del index[key]
            md.version += 1

    def deleted(self, module: str) -> list[tuple[float, dict[str, Any]]]:
        """The deletion log of a module: ``(deleted_time, entry)``, latest first."""
        with self.lock:
            rows = self._conn.execute(
                "SELECT deleted, body FROM deleted WHERE module = ? "
                "ORDER BY deleted DESC, id DESC", (module,)).fetchall()
        return [(float(t), json.loads(body)) for t, body in rows]

    def purge(self, module: str, ids: Iterable[str] | None = None) -> int:
        """Empty the recycle bin (all of a module, or ``ids``): the entries become
        ``permanent`` with no name nor users, as Zoho shows them. Returns how many."""
        with self.lock:
            changed = 0
            rows = self._conn.execute(
                "SELECT id, body FROM deleted WHERE module = ?", (module,)).fetchall()
            wanted = None if ids is None else set(ids)
            updates = []
            for rid, body in rows:
                entry = json.loads(body)
                if entry.get("type") != "recycle" or (wanted is not None and rid not in wanted):
                    continue
                entry.update(type="permanent", display_name=None, deleted_by=None,
                             created_by=None)
                updates.append((encode_record(entry), module, rid))
                changed += 1
            if updates:
                self._conn.executemany(
                    "UPDATE deleted SET body = ? WHERE module = ? AND id = ?", updates)
            return changed

    def _mirror(self, module: str, rec: Record, old: Record | None) -> None:
        md = self.data[module]
        if old is None:
            md.order.append(rec.id)
        for api_name in self.modules[module].unique:
            index = md.unique.setdefault(api_name, {})
            if old is not None:
                okey = unique_key(old.values.get(api_name))
                if okey is not None and index.get(okey) == rec.id:
                    del index[okey]
            key = unique_key(rec.values.get(api_name))
            if key is not None:
                index[key] = rec.id
        md.by_id[rec.id] = rec
