"""Bundled samples load from package data and each becomes its frame."""

from __future__ import annotations

import pandas as pd
import pytest

from crmframe.errors import InputError
from crmframe.samples import SAMPLES, load_sample, main, sample_frame


@pytest.mark.parametrize("name", SAMPLES)
def test_every_sample_loads_and_becomes_a_frame(name: str) -> None:
    envelope = load_sample(name)
    assert isinstance(envelope, dict)
    assert envelope  # not empty
    frame = sample_frame(name)
    assert isinstance(frame, pd.DataFrame)
    assert len(frame) > 0


def test_load_sample_gives_a_fresh_copy() -> None:
    first = load_sample("leads")
    first["data"].clear()
    assert len(load_sample("leads")["data"]) == 4


def test_leads_sample_is_typed_by_its_metadata() -> None:
    df = sample_frame("leads")
    assert df.index.name == "id"
    assert df.index.is_unique
    assert str(df["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert str(df["Owner.id"].dtype) == "string"
    assert str(df["Email_Opt_Out"].dtype) == "boolean"
    assert df.attrs["module"] == "Leads"


def test_job_samples() -> None:
    status = sample_frame("mass_update_status")
    assert status.loc[0, "state"] == "RUNNING"
    assert status.loc[0, "updated"] == 30
    mappings = sample_frame("bulk_write_job")
    assert mappings["index"].tolist() == [0, 1, 2, 3, 4]


def test_unknown_sample() -> None:
    with pytest.raises(InputError, match="leads"):
        load_sample("nope")


def test_main_prints_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0  # not sys.argv: under pytest that holds pytest's own arguments
    out = capsys.readouterr().out
    for name in SAMPLES:
        assert f"== {name}:" in out
