"""Bundled Zoho sample envelopes, to try crmframe without a Zoho account.

========================  ==================================================================
name                      what it is (source)
========================  ==================================================================
``leads``                 a page of 4 Leads records (Zoho v7 docs, Search Records samples)
``leads_fields``          ``/settings/fields`` for those Leads fields (v7 Fields sample,
                          trimmed to the keys crmframe reads)
``update_results``        PUT Leads answer, one record updated (seed 003, v2 Postman)
``mass_update_results``   mass update by ids, two records updated (seed 004, v2 Postman)
``mass_update_status``    a mass-update job RUNNING: 30 of 50 updated (seed 002, v2.1 docs)
``bulk_write_job``        a bulk-write job INPROGRESS with 5 field mappings (seed 000)
========================  ==================================================================

``python -m crmframe.samples`` prints each one as a frame.

Examples
--------
>>> from crmframe.core.records import records_to_frame
>>> df = records_to_frame(load_sample("leads"), load_sample("leads_fields"), module="Leads")
>>> len(df), str(df["Created_Time"].dtype)
(4, 'datetime64[s, UTC]')
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import pandas as pd

from crmframe.core.codecs import short_repr
from crmframe.core.jobs import job_status
from crmframe.core.mappings import mappings_to_frame
from crmframe.core.metadata import fields_to_frame
from crmframe.core.records import records_to_frame
from crmframe.core.results import results_to_frame
from crmframe.errors import InputError

__all__ = ["SAMPLES", "load_sample", "main"]

#: Names accepted by :func:`load_sample`.
SAMPLES: tuple[str, ...] = (
    "leads",
    "leads_fields",
    "update_results",
    "mass_update_results",
    "mass_update_status",
    "bulk_write_job",
)


def load_sample(name: str) -> dict[str, Any]:
    """One bundled envelope, as Zoho sent it (a fresh dict on every call).

    Raises
    ------
    InputError
        When ``name`` is not one of :data:`SAMPLES`.

    Examples
    --------
    >>> load_sample("mass_update_status")["data"][0]["Status"]
    'RUNNING'
    """
    if name not in SAMPLES:
        raise InputError(f"no sample named {short_repr(name)}: choose one of {', '.join(SAMPLES)}")
    folder = resources.files("crmframe").joinpath("sample_data")
    text = folder.joinpath(f"{name}.json").read_text(encoding="utf-8")
    envelope: dict[str, Any] = json.loads(text)
    return envelope


def sample_frame(name: str) -> pd.DataFrame:
    """The frame crmframe makes of one sample (records typed with ``leads_fields``)."""
    envelope = load_sample(name)
    if name == "leads":
        return records_to_frame(envelope, load_sample("leads_fields"), module="Leads")
    if name == "leads_fields":
        return fields_to_frame(envelope)
    if name in ("update_results", "mass_update_results"):
        return results_to_frame(envelope)
    if name == "mass_update_status":
        return job_status(envelope, job_id="554023000000506003").to_frame()
    return mappings_to_frame(envelope)


def main(argv: Sequence[str] | None = None) -> int:
    """Print every sample as a frame (``crmframe samples`` or ``python -m crmframe.samples``)."""
    import argparse  # here: ``import crmframe`` has no use for it

    argparse.ArgumentParser(
        prog="crmframe samples",
        description="Print the bundled Zoho sample envelopes as typed DataFrames.",
    ).parse_args(argv)
    with pd.option_context("display.width", 120, "display.max_columns", 8):
        for name in SAMPLES:
            frame = sample_frame(name)
            print(f"== {name}: {frame.shape[0]} rows x {frame.shape[1]} columns")
            print(frame.head(10))
            print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
