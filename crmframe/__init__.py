"""crmframe: Zoho CRM data as typed pandas DataFrames."""

from __future__ import annotations

from crmframe.core.jobs import JobStatus, job_status
from crmframe.core.metadata import fields_to_frame
from crmframe.errors import *  # noqa: F403
from crmframe.errors import __all__ as _error_names

__version__ = "0.1.0"

__all__ = sorted(
    [
        "JobStatus",
        "__version__",
        "fields_to_frame",
        "job_status",
        *_error_names,
    ]
)
