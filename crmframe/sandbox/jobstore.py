"""Jobs kept in the sandbox's database, so a restart on the same file finds them.

Each job is one row: its ``spec`` (what was asked, written once) and its ``progress``
(counters, written as it advances), both JSON. A bulk-write job's per-row outcomes are
appended a slice at a time. Every write goes through :meth:`Store.transaction`, so the
progress a job makes commits together with the records it wrote: after a crash the job
resumes exactly where its committed records end, never writing a row twice.

With an in-memory database the rows live as long as the server, like its records.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from crmframe.sandbox.store import Store, encode_record

__all__ = ["JobRow", "JobTable"]

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS jobs (
        id TEXT PRIMARY KEY,
        kind TEXT NOT NULL,
        spec TEXT NOT NULL,
        progress TEXT NOT NULL
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS job_outcomes (
        job TEXT NOT NULL,
        start INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (job, start)
    ) WITHOUT ROWID""",
)

#: ``(id, kind, spec, progress)`` of a stored job.
JobRow = tuple[str, str, dict[str, Any], dict[str, Any]]


class JobTable:
    """The ``jobs`` and ``job_outcomes`` tables of a :class:`Store`'s database."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as conn:
            for statement in _SCHEMA:
                conn.execute(statement)

    def add(self, job_id: str, kind: str, spec: dict[str, Any],
            progress: dict[str, Any]) -> None:
        """Store a new job (its id counter with it)."""
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO jobs (id, kind, spec, progress) "
                         "VALUES (?, ?, ?, ?)",
                         (job_id, kind, encode_record(spec), encode_record(progress)))

    def save(self, job_id: str, progress: dict[str, Any]) -> None:
        """Store a job's progress (inside the caller's transaction when there is one)."""
        with self.store.transaction() as conn:
            conn.execute("UPDATE jobs SET progress = ? WHERE id = ?",
                         (encode_record(progress), job_id))

    def add_outcomes(self, job_id: str, start: int, outcomes: list[Any]) -> None:
        """Store the outcomes of rows ``start...`` of a bulk-write job."""
        with self.store.transaction() as conn:
            conn.execute("INSERT OR REPLACE INTO job_outcomes (job, start, body) "
                         "VALUES (?, ?, ?)", (job_id, start, encode_record(outcomes)))

    def drop_outcomes(self, job_id: str) -> None:
        """Forget a job's outcomes (its result file holds them now)."""
        with self.store.transaction() as conn:
            conn.execute("DELETE FROM job_outcomes WHERE job = ?", (job_id,))

    def outcomes(self, job_id: str) -> list[Any]:
        """The stored outcomes of a bulk-write job, in row order."""
        out: list[Any] = []
        for (body,) in self.store.query(
                "SELECT body FROM job_outcomes WHERE job = ? ORDER BY start", (job_id,)):
            out.extend(json.loads(body))
        return out

    def all(self) -> Iterator[JobRow]:
        """Every stored job, oldest id first."""
        for job_id, kind, spec, progress in self.store.query(
                "SELECT id, kind, spec, progress FROM jobs ORDER BY id"):
            yield str(job_id), str(kind), json.loads(spec), json.loads(progress)

    def get(self, job_id: str) -> JobRow | None:
        """One stored job, or ``None``."""
        rows = self.store.query("SELECT id, kind, spec, progress FROM jobs WHERE id = ?",
                                (job_id,))
        if not rows:
            return None
        job_id, kind, spec, progress = rows[0]
        return str(job_id), str(kind), json.loads(spec), json.loads(progress)
