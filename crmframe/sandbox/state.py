"""What every endpoint handler works on: the API version of the call and the server's state.

Handlers (the ``api_*`` modules) receive a :class:`State` and a :class:`Version`; they
never import the application (``app.py``), which imports them to build its routes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crmframe.sandbox.clock import Clock
from crmframe.sandbox.faults import Faults
from crmframe.sandbox.jobs import Jobs
from crmframe.sandbox.listing import TokenBook, Views
from crmframe.sandbox.oauth import OAuth
from crmframe.sandbox.schema import Module
from crmframe.sandbox.store import Store
from crmframe.sandbox.writes import Writer

__all__ = ["VERSIONS", "State", "Version"]


@dataclass(frozen=True)
class Version:
    """An API version: ``name`` as in the URL; ``modern`` for v3 and later."""

    name: str
    modern: bool

    @property
    def max_coql_rows(self) -> int:
        """Rows per COQL call."""
        return 2000 if self.modern else 200


VERSIONS: dict[str, Version] = {
    "v2": Version("v2", False),
    "v2.1": Version("v2.1", False),
    **{f"v{n}": Version(f"v{n}", True) for n in range(3, 9)},
}


class State:
    """The data and bookkeeping of one sandbox server, shared by every handler."""

    def __init__(
        self,
        *,
        modules: dict[str, Module],
        store: Store,
        clock: Clock,
        oauth: OAuth,
        faults: Faults,
        job_speed: float,
        job_delay: float,
        page_token_ttl: float,
    ) -> None:
        self.modules = modules
        self.store = store
        self.clock = clock
        self.oauth = oauth
        self.faults = faults
        self.views = Views(store)
        self.tokens = TokenBook()
        self.page_token_ttl = page_token_ttl
        self.writer = Writer(store, modules, clock)
        self.jobs = Jobs(store, self.writer, clock, speed=job_speed, delay=job_delay)
        #: EMULATED, UNCONFIRMED upstream: answer GET /crm/bulk/{v}/write with the jobs
        #: (api_bulk_write_list); off by default, as Zoho documents no such listing.
        self.job_listing = False
        #: rows of every parent per subform module, as of a parent module's version
        #: (api_subform_rows: its pages would otherwise scan the parent module each)
        self.subform_rows: dict[str, tuple[int, list[dict[str, Any]]]] = {}

    @property
    def uploads(self) -> dict[str, str]:
        """Uploads waiting for a bulk-write job: ``{file_id: file name}`` (bytes on disk)."""
        return self.jobs.uploads
