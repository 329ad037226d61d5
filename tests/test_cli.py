"""The ``crmframe`` command line dispatches to its subcommands."""

from __future__ import annotations

import pytest

from crmframe.cli import main


def test_samples_prints_every_sample(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["samples"]) == 0
    out = capsys.readouterr().out
    assert out.count("== ") >= 5
    assert "rows x" in out


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in ("demo", "sandbox", "samples"):
        assert name in out


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["nope"]) == 2
    assert "unknown command 'nope'" in capsys.readouterr().err


def test_no_command_prints_usage_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "usage" in capsys.readouterr().out.lower()
