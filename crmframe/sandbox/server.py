"""The running sandbox: a threaded werkzeug server on loopback, plus admin hooks."""

from __future__ import annotations

import gc
import logging
import os
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from werkzeug.serving import BaseWSGIServer, make_server

from crmframe.sandbox.app import Sandbox
from crmframe.sandbox.clock import Clock, SystemClock
from crmframe.sandbox.faults import Faults
from crmframe.sandbox.handler import ConnectionBook, KeepAliveHandler
from crmframe.sandbox.oauth import OAuth
from crmframe.sandbox.schema import PROFILES, build_modules
from crmframe.sandbox.seed import generate
from crmframe.sandbox.store import Record, Store
from crmframe.sandbox.validation import recompute

__all__ = ["CREDENTIALS_SEED_ENV", "SandboxServer", "start"]

#: Environment variable that fixes the credentials of sandboxes started without a
#: ``credentials_seed`` (for tests driving a sandbox in another process, e.g. a notebook).
CREDENTIALS_SEED_ENV = "CRMFRAME_SANDBOX_CREDENTIALS_SEED"

log = logging.getLogger("crmframe.sandbox")


class SandboxServer:
    """A Zoho-CRM-compatible server running in a background thread.

    Parameters
    ----------
    records
        Leads to seed (Contacts get a fifth, Deals a tenth, Accounts a twentieth);
        only used when the database is empty.
    db
        SQLite file (kept between runs), or ``None`` for an in-memory database.
    host, port
        Where to listen; port 0 picks a free port. Loopback only by default.
    seed
        Seed of the data generator and of every random fault decision.
    credentials_seed
        Seed of the OAuth credentials and access tokens. Default ``None``: the
        ``CRMFRAME_SANDBOX_CREDENTIALS_SEED`` environment variable when set (a test that
        must know the credentials of a sandbox started in another process), else random
        ones (the system's randomness), new at every start — read them from
        :attr:`credentials`.
    token_ttl
        Access-token lifetime in seconds (Zoho: 3600).
    credits_per_day, max_concurrency
        API credits per rolling 24 h and concurrent requests; beyond them 429
        ``TOO_MANY_REQUESTS``. ``None`` = unlimited.
    latency
        Seconds added to every API call.
    failure_rate, drop_rate
        Probability of a 500 ``INTERNAL_ERROR`` / of closing the connection unanswered,
        decided before anything is written.
    lost_answer_rate
        Probability that a write (POST/PUT/PATCH/DELETE API call) runs and commits, and
        its connection is then closed without an answer: the answer lost on the way back.
    rate_limit_rate
        Probability of a 429 ``TOO_MANY_REQUESTS`` (``Retry-After: 1``) on an API call,
        decided before anything is written or charged.
    job_speed, job_delay
        Records per second for jobs, and seconds spent in each waiting state.
    page_token_ttl
        Lifetime of v8 page tokens (Zoho: 24 h).
    request_log_size
        Entries kept in :attr:`requests` (the latest ones).
    flag_records
        Seed a few locked and unapproved Leads and Deals (see :meth:`flagged`).
    clock
        Time source (``crmframe.sandbox.ManualClock`` in tests).
    job_listing
        EMULATED, UNCONFIRMED upstream: answer ``GET /crm/bulk/{v}/write`` with a list of
        bulk-write jobs naming their ``file_id`` (Zoho documents none; see
        ``api_bulk_write_list``). Off by default.
    """

    def __init__(
        self,
        records: int = 5000,
        db: str | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        seed: int = 42,
        token_ttl: float = 3600.0,
        credits_per_day: int | None = None,
        max_concurrency: int | None = None,
        latency: float = 0.0,
        failure_rate: float = 0.0,
        drop_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        lost_answer_rate: float = 0.0,
        credentials_seed: int | None = None,
        job_speed: float = 2000.0,
        job_delay: float = 1.0,
        page_token_ttl: float = 86_400.0,
        request_log_size: int = 100_000,
        flag_records: bool = True,
        clock: Clock | None = None,
        job_listing: bool = False,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.modules = build_modules()
        self.store = Store(str(db) if db is not None else None, self.modules)
        try:
            if self.store.is_empty():
                self._seed(seed, records, flag_records)
            if credentials_seed is None and os.environ.get(CREDENTIALS_SEED_ENV):
                credentials_seed = int(os.environ[CREDENTIALS_SEED_ENV])
            self.oauth = OAuth(self.clock, token_ttl, credentials_seed)
            self.faults = Faults(self.clock, seed=seed, credits_per_day=credits_per_day,
                                 max_concurrency=max_concurrency, failure_rate=failure_rate,
                                 drop_rate=drop_rate, rate_limit_rate=rate_limit_rate,
                                 latency=latency, lost_answer_rate=lost_answer_rate)
            self.app = Sandbox(modules=self.modules, store=self.store, clock=self.clock,
                               oauth=self.oauth, faults=self.faults, job_speed=job_speed,
                               job_delay=job_delay, page_token_ttl=page_token_ttl,
                               request_log_size=request_log_size)
            self.app.job_listing = job_listing
            self._httpd: BaseWSGIServer = make_server(
                host, port, self.app, threaded=True, request_handler=KeepAliveHandler)
            # before serving starts, so every connection is counted (see KeepAliveHandler)
            self.connections = ConnectionBook()
            self._httpd.connections = self.connections  # type: ignore[attr-defined]
        except BaseException:
            self.store.close()
            raise
        self.host = host
        self.port = int(self._httpd.port)
        self.url = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,),
                                        name=f"crmframe-sandbox-{self.port}", daemon=True)
        self._stopped = False
        self._ticking = threading.Event()
        # Jobs also advance between requests, so callbacks fire without anyone polling.
        self._ticker = threading.Thread(target=self._tick, daemon=True,
                                        name=f"crmframe-sandbox-jobs-{self.port}")
        self._thread.start()
        self._ticker.start()

    def _tick(self) -> None:
        while not self._ticking.wait(0.2):
            try:
                self.app.jobs.advance()
            except Exception:  # keep ticking; the request path reports real failures
                log.exception("sandbox job advancement failed")

    # ------------------------------------------------------------------ seeding
    def _seed(self, seed: int, records: int, flag_records: bool) -> None:
        # Seeding makes only acyclic dicts; collector passes over a growing heap would
        # dominate its time.
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            self._generate(seed, records, flag_records)
        finally:
            if was_enabled:
                gc.enable()

    def _generate(self, seed: int, records: int, flag_records: bool) -> None:
        ids = iter(self.store.new_id, None)
        batches: dict[str, list[Record]] = {name: [] for name in self.modules}
        for module, (rid, values, created, modified) in generate(seed, records, ids):
            recompute(module, values)  # the values already start with the id
            batches[module].append(Record(rid, values, created, modified))
        if flag_records:
            for module in ("Leads", "Deals"):
                batch = batches[module]
                n = len(batch)
                if n < 8:
                    continue
                for i in (n // 2, n // 2 + 1):
                    batch[i] = batch[i].with_flags(locked=True, approved=None)
                for i in (n // 3, n // 3 + 1):
                    batch[i] = batch[i].with_flags(locked=None, approved=False)
        for module, batch in batches.items():
            self.store.put(module, batch)
        self.store.set_meta("seed", str(seed))

    # ------------------------------------------------------------------ public
    @property
    def credentials(self) -> dict[str, str]:
        """What ``crmframe.connect(**credentials)`` needs to talk to this server."""
        return {
            "client_id": self.oauth.client_id,
            "client_secret": self.oauth.client_secret,
            "refresh_token": self.oauth.refresh_token,
            "accounts_url": self.url,
            "api_domain": self.url,
        }

    def access_token(self, ttl: float | None = None, *,
                     scopes: Iterable[str] | None = None,
                     profile: str = "Administrator") -> str:
        """A fresh access token, without the OAuth round trip (tests, notebooks).

        ``scopes`` limits it (Zoho's names, e.g. ``["ZohoCRM.modules.leads.READ"]``;
        ``None``: every scope): other calls answer 401 ``OAUTH_SCOPE_MISMATCH``.
        ``profile="Standard"`` is a restricted user: no Deals, Accounts read-only
        (403 ``NO_PERMISSION``).
        """
        if profile not in PROFILES:
            raise ValueError(f"unknown profile {profile!r}: one of {sorted(PROFILES)}")
        return self.oauth.mint(ttl, scopes=None if scopes is None else frozenset(scopes),
                               profile=profile)

    def revoke_tokens(self) -> None:
        """Invalidate every access token issued so far: clients must refresh (401
        ``INVALID_TOKEN`` until they do). The refresh token stays valid."""
        self.oauth.revoke_all()

    def stop(self) -> None:
        """Stop serving and close the database (idempotent)."""
        if self._stopped:
            return
        self._stopped = True
        self._ticking.set()
        self._ticker.join()
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        # Keep-alive connections would otherwise hold their (daemon) threads, and the
        # store, until each client hangs up.
        self.connections.close_all()
        self.app.jobs.close()
        self.store.close()

    def __enter__(self) -> SandboxServer:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "stopped" if self._stopped else "running"
        return f"<SandboxServer {self.url} {state}>"

    # ------------------------------------------------------------------ admin hooks
    def ids(self, module: str) -> list[str]:
        """All record ids of a module, ascending."""
        return self.store.ids(module)

    def get_record(self, module: str, rid: str) -> dict[str, Any]:
        """A copy of one record's values (raises KeyError when absent)."""
        rec = self.store.get(module, rid)
        if rec is None:
            raise KeyError(f"{module} has no record {rid}")
        return dict(rec.values)

    def flag(self, module: str, rid: str, locked: bool | None = None,
             approved: bool | None = None) -> None:
        """Lock/unlock a record or mark it (un)approved; ``None`` leaves a flag as is."""
        with self.store.lock:
            rec = self.store.get(module, rid)
            if rec is None:
                raise KeyError(f"{module} has no record {rid}")
            self.store.put(module, [rec.with_flags(locked, approved)])

    def flagged(self, module: str) -> dict[str, str]:
        """``{id: "locked" | "not_approved"}`` for the flagged records of a module."""
        out: dict[str, str] = {}
        for rec in self.store.records(module):
            if rec.locked:
                out[rec.id] = "locked"
            elif not rec.approved:
                out[rec.id] = "not_approved"
        return out

    def touch(self, module: str, rid: str) -> dict[str, Any]:
        """Simulate another user editing a record: bumps ``Modified_Time``/``Modified_By``."""
        return dict(self.app.writer.touch(module, rid).values)

    def purge(self, module: str, ids: list[str] | None = None) -> int:
        """Empty the recycle bin of ``module`` (or only ``ids``): those deletions become
        ``permanent`` in ``GET /{module}/deleted``. Returns how many entries changed."""
        return self.store.purge(module, ids)

    @property
    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of the latest requests (status 0 = dropped).

        At most ``request_log_size`` entries are kept, oldest first."""
        return self.app.requests()

    def clear_requests(self) -> None:
        """Empty :attr:`requests`."""
        self.app.clear_requests()

    def write_counts(self, module: str) -> dict[str, int]:
        """``{id: times written}`` for the records of ``module`` that API writes or jobs
        wrote since start (another user's :meth:`touch` not counted). A push that writes no
        record twice leaves every count at 1."""
        counts = self.app.writer.write_counts
        return {rid: n for (name, rid), n in list(counts.items()) if name == module}

    @property
    def answers_lost(self) -> int:
        """Writes committed whose answer the ``lost_answer_rate`` fault lost."""
        return self.faults.answers_lost

    @property
    def credits_used(self) -> int:
        """API credits spent since start."""
        return self.faults.credits_used


def start(records: int = 5000, db: str | None = None, **options: Any) -> SandboxServer:
    """Start a sandbox in a background thread on a free loopback port.

    Examples
    --------
    >>> with start(records=50) as server:          # doctest: +SKIP
    ...     crm = crmframe.connect(**server.credentials)
    """
    return SandboxServer(records, db, **options)
