"""Helpers shared by the big-module tests (imported by basename: no package here)."""

from __future__ import annotations

from typing import Any

from crmframe.facade.crm import CRM, connect
from crmframe.http.retry import RetryPolicy


def no_wait_retry() -> RetryPolicy:
    """Retries that never sleep."""
    return RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None)


def connection(server: Any) -> CRM:
    """A connection to ``server`` whose bulk-job polling does not sleep."""
    crm = connect(**server.credentials, retry=no_wait_retry())
    crm.bulk_sleep = lambda seconds: None  # type: ignore[method-assign]
    return crm



#: Subform fields of the sandbox's Leads: list-of-dict cells, which ``crm.export`` of every
#: field leaves out (a Parquet dataset holds flat columns).
LEADS_SUBFORMS = ["Lead_Contacts"]


def like_an_export(frame: Any) -> Any:
    """A Leads frame read with every field, as an export of every field holds it."""
    assert all(name in frame.columns for name in LEADS_SUBFORMS)
    return frame.drop(columns=LEADS_SUBFORMS)
