"""The public surface is exactly ``crmframe.__all__`` (httpx's test_exported_members idea)."""

from __future__ import annotations

import subprocess
import sys
import types

import pytest

import crmframe


def test_all_is_unique() -> None:
    # Order is ruff's RUF022 (isort-style), checked by the ruff test.
    assert len(crmframe.__all__) == len(set(crmframe.__all__))


def test_all_matches_public_names() -> None:
    public = {
        name
        for name, value in vars(crmframe).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    } | set(crmframe._LAZY_NAMES)
    exported = set(crmframe.__all__) - {"__version__"}
    assert public == exported, {
        "exported but missing": sorted(exported - public),
        "public but not exported": sorted(public - exported),
    }


def test_every_export_resolves() -> None:
    for name in crmframe.__all__:
        assert getattr(crmframe, name) is not None, name


def test_errors_share_one_root() -> None:
    for name in crmframe.__all__:
        value = getattr(crmframe, name)
        if isinstance(value, type) and issubclass(value, Exception):
            assert issubclass(value, crmframe.CrmframeError), name


def test_front_ends_load_lazily() -> None:
    assert callable(crmframe.sandbox.start)
    assert crmframe.widgets.JobMonitor is not None
    with pytest.raises(AttributeError, match="no_such_name"):
        crmframe.no_such_name  # noqa: B018


def test_bare_import_leaves_heavy_modules_unloaded() -> None:
    # A fresh interpreter: this test process has long since imported everything.
    heavy = ["matplotlib", "ipywidgets", "vcr", "werkzeug", "crmframe.sandbox",
             "crmframe.widgets", "crmframe.plots", "crmframe.demo", "IPython",
             "requests", "urllib3"]
    code = ("import sys, crmframe; "
            f"print(sorted(m for m in {heavy!r} if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "[]"
    # ...and the lazy names still resolve, to the real functions.
    code = "import sys, crmframe; f = crmframe.plot_job_status; print('matplotlib' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True)
    assert done.stdout.strip() == "True"
    assert "plot_job_status" in dir(crmframe)
