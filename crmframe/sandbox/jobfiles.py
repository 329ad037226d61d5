"""The files of bulk jobs (uploaded CSVs, result zips), kept on disk instead of in memory.

An upload may hold 25 MB of CSV and a result zip a few MB; a server that kept them in
memory grew with every bulk job until it stopped (issue 12). They live in SQLite: in the
sandbox's own database file when it has one (so they survive a restart with the jobs
that need them), else in a temporary file removed when the server stops. A file is read
back only when a job starts or a result is downloaded, and dropped when no job needs it.

Examples
--------
>>> files = JobFiles(None)
>>> files.put("upload:1", "leads.csv", b"Last_Name\\nDoe\\n", 0.0)
>>> files.get("upload:1")
b'Last_Name\\nDoe\\n'
>>> files.names("upload:")
{'upload:1': 'leads.csv'}
>>> files.drop("upload:1"); files.get("upload:1") is None
True
>>> files.close()
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

__all__ = ["JobFiles"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_files (
    key TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    created REAL NOT NULL,
    data BLOB NOT NULL
);
"""


class JobFiles:
    """Named byte strings by key in SQLite: ``db`` (a file path), or a temporary file."""

    def __init__(self, db: str | None) -> None:
        self._db = db
        self._tmp: str | None = None
        self._open: sqlite3.Connection | None = None
        self._closed = False
        self.lock = threading.Lock()

    @property
    def _conn(self) -> sqlite3.Connection:
        # Opened at first use: most sandboxes never see a bulk job (no temporary file).
        if self._open is None:
            if self._closed:
                raise sqlite3.ProgrammingError("the job files are closed")
            db = self._db
            if db is None:
                self._tmp = tempfile.mkdtemp(prefix="crmframe-sandbox-files-")
                db = str(Path(self._tmp) / "files.sqlite")
            # Its own connection: a 25 MB file is written without holding the records'
            # lock. The records' connection commits in between (WAL); the timeout covers
            # the rare moment both write.
            conn = sqlite3.connect(db, check_same_thread=False, isolation_level=None,
                                   timeout=60.0)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.executescript(_SCHEMA)
            self._open = conn
        return self._open

    def put(self, key: str, name: str, data: bytes, created: float) -> None:
        """Keep ``data`` under ``key`` (replacing what was there)."""
        with self.lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO job_files (key, name, created, data) VALUES (?, ?, ?, ?)",
                (key, name, created, data))

    def get(self, key: str) -> bytes | None:
        """The bytes under ``key``, or ``None``."""
        with self.lock:
            row = self._conn.execute("SELECT data FROM job_files WHERE key = ?",
                                     (key,)).fetchone()
        return None if row is None else bytes(row[0])

    def names(self, prefix: str) -> dict[str, str]:
        """``{key: name}`` of the files whose key starts with ``prefix``, oldest first."""
        with self.lock:
            rows = self._conn.execute(
                "SELECT key, name FROM job_files WHERE substr(key, 1, ?) = ? "
                "ORDER BY created, key", (len(prefix), prefix)).fetchall()
        return {str(k): str(n) for k, n in rows}

    def drop(self, key: str) -> None:
        """Forget ``key`` (nothing happens when it is absent)."""
        with self.lock:
            self._conn.execute("DELETE FROM job_files WHERE key = ?", (key,))

    def close(self) -> None:
        """Close the database; a temporary one is deleted (idempotent)."""
        with self.lock, contextlib.suppress(sqlite3.Error):
            self._closed = True
            if self._open is not None:
                self._open.close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None
