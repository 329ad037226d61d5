"""A local Zoho-CRM-compatible server (SQLite-backed) for tests, notebooks and demos.

>>> from crmframe import sandbox                      # doctest: +SKIP
>>> with sandbox.start(records=500) as server:        # doctest: +SKIP
...     print(server.url, sorted(server.credentials))

It speaks the Zoho CRM REST API under ``/crm/v2``, ``/crm/v2.1`` and ``/crm/v8`` (v3-v7
behave like v8), OAuth under ``/oauth/v2/token`` and bulk under ``/crm/bulk/{ver}``.
Imports only the standard library, werkzeug and ``crmframe.core.fieldtypes``.
"""

from __future__ import annotations

from crmframe.sandbox.clock import ManualClock, SystemClock
from crmframe.sandbox.server import SandboxServer, start

__all__ = ["ManualClock", "SandboxServer", "SystemClock", "start"]
