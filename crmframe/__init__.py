"""crmframe: Zoho CRM data as typed pandas DataFrames.

Read Zoho envelopes into typed frames, diff an edited frame against the original, push the
changes back with the fewest API calls, and watch mass-update and bulk-write jobs.
"""

from crmframe.core.jobs import JobStatus, job_status
from crmframe.core.metadata import fields_to_frame
from crmframe.errors import (
    AuthenticationError,
    ConfigurationError,
    CrmframeError,
    EnvelopeError,
    InputError,
    InvalidModuleError,
    InvalidRequestError,
    InvalidRequestMethodError,
    InvalidURLError,
    JobError,
    JobFailed,
    JobTimeout,
    NotFoundError,
    PaginationLimitError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    TokenRefreshError,
    TransportError,
    ValidationError,
    ZohoAPIError,
)

__version__ = "0.1.0"

__all__ = [
    "AuthenticationError",
    "ConfigurationError",
    "CrmframeError",
    "EnvelopeError",
    "InputError",
    "InvalidModuleError",
    "InvalidRequestError",
    "InvalidRequestMethodError",
    "InvalidURLError",
    "JobError",
    "JobFailed",
    "JobStatus",
    "JobTimeout",
    "NotFoundError",
    "PaginationLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenRefreshError",
    "TransportError",
    "ValidationError",
    "ZohoAPIError",
    "__version__",
    "fields_to_frame",
    "job_status",
]
