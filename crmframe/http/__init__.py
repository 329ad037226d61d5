"""The HTTP layer: auth, retries, paging and bulk downloads over ``requests``.

This package never imports pandas: it returns envelopes (dicts) and bytes, and the
façade turns them into frames (see ``docs/architecture.md``).
"""

from __future__ import annotations

from crmframe.http.auth import Auth, RefreshTokenAuth, StaticToken
from crmframe.http.client import Reply, ZohoClient
from crmframe.http.datacenters import DATA_CENTERS, DataCenter, data_center
from crmframe.http.retry import RetryPolicy

__all__ = [
    "DATA_CENTERS",
    "Auth",
    "DataCenter",
    "RefreshTokenAuth",
    "Reply",
    "RetryPolicy",
    "StaticToken",
    "ZohoClient",
    "data_center",
]
