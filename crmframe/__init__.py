"""crmframe: Zoho CRM data as typed pandas DataFrames.

Read Zoho envelopes into typed frames, diff an edited frame against the original, push the
changes back with the fewest API calls, and watch mass-update and bulk-write jobs.

>>> import crmframe
>>> frame = crmframe.records_to_frame({"data": [{"id": "4150868000000002175", "Last_Name": "Doe"}]})
>>> frame.index[0], str(frame["Last_Name"].dtype)
('4150868000000002175', 'string')

``crmframe.sandbox`` (a local Zoho-compatible server), ``crmframe.widgets`` (ipywidgets
front ends) and the matplotlib charts (``plot_job_status``...) are imported on first use,
so ``import crmframe`` loads neither werkzeug's server, ipywidgets, matplotlib nor vcrpy
(``benchmarks/bench_import.py`` measures it against ``import pandas``).
"""

import importlib as _importlib
import typing as _typing

import crmframe.accessor as _accessor  # registers the ``df.crm`` pandas accessor
from crmframe.core.diff import ChangeSet, diff
from crmframe.core.jobs import JobStatus, job_status
from crmframe.core.mappings import frame_to_mappings, mappings_to_frame
from crmframe.core.metadata import fields_to_frame
from crmframe.core.plan import Costs, Limits, Plan, make_plan
from crmframe.core.records import RecordsBuilder, records_to_frame
from crmframe.core.results import results_to_frame
from crmframe.core.retype import retype
from crmframe.core.subforms import subform_frame
from crmframe.core.validate import find_problems, split_valid, validate
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
    JournalMismatchError,
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
from crmframe.facade.crm import CRM, connect
from crmframe.facade.exporting import ExportResult
from crmframe.facade.jobs import Job
from crmframe.facade.write.result import PushResult
from crmframe.http.recording import recording
from crmframe.polling import (
    JobHistory,
    WaitPolicy,
    stop_after_attempt,
    stop_after_delay,
    stop_never,
    wait_exponential,
    wait_fixed,
)
from crmframe.samples import load_sample
from crmframe.snapshot import read_snapshot, to_snapshot

if _typing.TYPE_CHECKING:  # loaded on first use, see __getattr__ below
    from crmframe.facade.dataset import read_dataset
    from crmframe.plots import plot_job_progress, plot_job_status, save_job_charts
    from crmframe.reports import report

__version__ = "0.1.0"

__all__ = [
    "CRM",
    "AuthenticationError",
    "ChangeSet",
    "ConfigurationError",
    "Costs",
    "CrmframeError",
    "EnvelopeError",
    "ExportResult",
    "InputError",
    "InvalidModuleError",
    "InvalidRequestError",
    "InvalidRequestMethodError",
    "InvalidURLError",
    "Job",
    "JobError",
    "JobFailed",
    "JobHistory",
    "JobStatus",
    "JobTimeout",
    "JournalMismatchError",
    "Limits",
    "NotFoundError",
    "PaginationLimitError",
    "PermissionDeniedError",
    "Plan",
    "PushResult",
    "RateLimitError",
    "RecordsBuilder",
    "ServerError",
    "TokenRefreshError",
    "TransportError",
    "ValidationError",
    "WaitPolicy",
    "ZohoAPIError",
    "__version__",
    "connect",
    "diff",
    "fields_to_frame",
    "find_problems",
    "frame_to_mappings",
    "job_status",
    "load_sample",
    "make_plan",
    "mappings_to_frame",
    "plot_job_progress",
    "plot_job_status",
    "read_dataset",
    "read_snapshot",
    "recording",
    "records_to_frame",
    "report",
    "results_to_frame",
    "retype",
    "save_job_charts",
    "split_valid",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_never",
    "subform_frame",
    "to_snapshot",
    "validate",
    "wait_exponential",
    "wait_fixed",
]

_LAZY_SUBMODULES = frozenset({"sandbox", "widgets"})
# Public names whose module is heavy (matplotlib alone costs more than pandas to import).
_LAZY_NAMES = {
    "read_dataset": "crmframe.facade.dataset",
    "plot_job_progress": "crmframe.plots",
    "report": "crmframe.reports",
    "plot_job_status": "crmframe.plots",
    "save_job_charts": "crmframe.plots",
}


def __getattr__(name: str) -> _typing.Any:
    # Heavy or optional front ends load on first use: ``crmframe.sandbox.start(...)``.
    if name in _LAZY_SUBMODULES:
        return _importlib.import_module(f"crmframe.{name}")
    if name in _LAZY_NAMES:
        value = getattr(_importlib.import_module(_LAZY_NAMES[name]), name)
        globals()[name] = value  # later lookups skip this hook
        return value
    raise AttributeError(f"module 'crmframe' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY_NAMES, *_LAZY_SUBMODULES})


del _accessor
