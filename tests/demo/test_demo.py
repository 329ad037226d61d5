"""``crmframe demo``: the main job runs end to end against its embedded sandbox."""

from __future__ import annotations

import contextlib
import io
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import crmframe.demo as demo
from crmframe.core.jobs import JobStatus

RECORDS = 2000
# Zoho-style tokens and client ids as the sandbox mints them ("1000." + hex/upper-case).
TOKEN_RE = re.compile(r"1000\.[0-9A-Za-z]{6,}")


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, str, Path]:
    """One full demo run (2,000 leads), shared by the tests of this module."""
    out = tmp_path_factory.mktemp("demo") / "out"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        code = demo.main(["--records", str(RECORDS), "--out", str(out)])
    return code, printed.getvalue(), out


def _summary_numbers(text: str, step: str) -> list[int | None]:
    line = next(line for line in text.splitlines() if line.strip().startswith(step))
    cells = line.strip()[len(step):].split()
    return [None if c == "-" else int(c.replace(",", "")) for c in cells]


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_exits_zero_and_prints_the_summary(run: tuple[int, str, Path]) -> None:
    code, printed, _ = run
    assert code == 0, printed
    assert "FAILED" not in printed
    assert f"records read: {RECORDS:,}" in printed
    assert re.search(r"cells edited: [\d,]+ \(3 invalid, caught before sending\)", printed)
    assert re.search(r"checks: (\d+) of \1 passed", printed)
    headings = re.findall(r"^== (\d+)\. ", printed, flags=re.MULTILINE)
    assert headings == [str(n) for n in range(1, 11)]


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_shows_job_progress_until_completed(run: tuple[int, str, Path]) -> None:
    _, printed, _ = run
    for label in ("mass update", "bulk write"):
        lines = [line for line in printed.splitlines()
                 if re.match(rf"  {label}\s+\[", line)]
        # How many polls see the job running depends on the machine's speed: at least one.
        assert lines, label
        assert "COMPLETED" in lines[-1]
        assert lines[-1].endswith("(100%)")


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_uses_fewer_calls_than_the_naive_ways(run: tuple[int, str, Path]) -> None:
    _, printed, out = run
    records, calls, writes, credits, naive_calls, naive_credits, batch_calls, _ = (
        _summary_numbers(printed, "push edits"))
    assert records is not None
    assert records > 100
    assert calls is not None
    assert naive_calls is not None
    assert batch_calls is not None
    assert calls < naive_calls
    assert writes is not None
    assert 0 < writes < batch_calls  # the mass update saved PUT batches
    assert credits is not None
    assert naive_credits is not None
    assert credits < naive_credits
    summary = pd.read_csv(out / "summary.csv", index_col="step")
    assert summary.loc["total", "calls"] < summary.loc["total", "naive_calls"]
    assert summary.loc["read Leads", "records"] == RECORDS
    plan = pd.read_csv(out / "plan.csv")
    # The status segment is one mass update by ids; the cleaned phones go by PUT batches.
    assert set(plan["route"]) == {"mass_update", "put"}
    assert int(plan["calls"].sum()) < int(plan["n_records"].sum())


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_reports_the_invalid_values_and_zoho_refusals(run: tuple[int, str, Path]) -> None:
    _, printed, out = run
    problems = pd.read_csv(out / "problems.csv", dtype={"id": "string"})
    assert sorted(problems["field"]) == ["Designation", "Lead_Status", "No_of_Employees"]
    failures = pd.read_csv(out / "failures.csv", dtype={"id": "string"})
    validation = failures[failures["code"] == "VALIDATION"]
    assert sorted(validation["id"]) == sorted(problems["id"])
    assert "push: VALIDATION x3" in printed
    # The sandbox seeds locked and unapproved leads: the bulk write skips them, with a code.
    bulk = failures[failures["step"] == "bulk write"]
    assert set(bulk["code"]) == {"BLOCKED_RECORD", "NOT_APPROVED"}
    assert failures["id"].str.fullmatch(r"\d{19}").all()


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_writes_the_report_folder(run: tuple[int, str, Path]) -> None:
    _, _, out = run
    for name in ("report.html", "summary.csv", "plan.csv", "problems.csv", "results.csv",
                 "failures.csv", "bulk_write_results.csv", "mass_update_status.csv",
                 "bulk_write_status.csv"):
        assert (out / name).stat().st_size > 200, name
    results = pd.read_csv(out / "results.csv", dtype={"id": "string"})
    assert (results["status"] == "success").sum() > 100
    jobs = pd.read_csv(out / "bulk_write_status.csv")
    assert jobs["state"].iloc[-1] == "COMPLETED"
    assert jobs["job_id"].nunique() == 1
    assert jobs["total"].iloc[-1] == RECORDS
    report = (out / "report.html").read_text(encoding="utf-8")
    images = re.findall(r"<img class='chart' src='([^']+)'", report)
    assert "charts/jobs_status.png" in images
    assert {"charts/mass_update_progress.png", "charts/bulk_write_progress.png"} <= set(images)
    for image in images:
        assert (out / image).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", image
    assert "<table" in report
    assert "VALIDATION" in report
    assert "Plan for Leads" in report


def _figures(report: str) -> dict[str, float]:
    return {label: float(value) for label, value in
            re.findall(r"data-label='([^']*)' data-value='([^']*)'", report)}


def _table(report: str, caption: str) -> list[list[str]]:
    """The body rows of the report's table with this caption, as cell texts."""
    start = report.index(f"<caption>{caption}")
    body = report[start:report.index("</table>", start)]
    return [re.findall(r"<td[^>]*>(.*?)</td>", row) for row in
            re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)[1:]]


def _int(text: str) -> int:
    return int(text.split()[0].replace(",", ""))


@pytest.mark.sandbox
@pytest.mark.slow
def test_report_figures_agree_with_each_other_and_the_sandbox(
    run: tuple[int, str, Path],
) -> None:
    _, printed, out = run
    report = (out / "report.html").read_text(encoding="utf-8")
    figures = _figures(report)
    # Cells edited: the headline is the edits table's total, and what the summary printed.
    edits = _table(report, "edited cells by field")
    assert figures["cells edited"] == sum(_int(row[-1]) for row in edits)
    assert figures["invalid cells (not sent)"] == sum(_int(row[2]) for row in edits) == 3
    assert f"cells edited: {int(figures['cells edited']):,}" in printed
    # Calls and writes: the steps add up to the sandbox's own request log, and the push's
    # figures (its PushResult's) are the sandbox's count of the same requests.
    steps = {row[0]: row for row in _table(report, "API traffic by step")}
    total = steps.pop("total")
    assert figures["API calls"] == sum(_int(r[2]) for r in steps.values()) == _int(total[2])
    assert figures["of which writes"] == sum(_int(r[3]) for r in steps.values()) == _int(
        total[3])
    assert figures["credits"] == sum(_int(r[4]) for r in steps.values()) == _int(total[4])
    push = steps["push edits"]
    assert figures["push write calls"] == _int(push[3])
    push_credits = int(figures["push credits (writes and checks)"])
    assert push_credits == _int(push[4])
    assert f"check for conflicts), {push_credits} credits" in report
    assert re.search(r"the push(&#39;|&#x27;)s calls, writes and credits are the sandbox", report)
    # The dearer route is said so: every write step is compared with plain batches.
    for name in ("push edits", "mass update by view", "bulk write"):
        assert steps[name][-1] in ("cheaper than batches", "dearer than batches here",
                                   "as batches")
    # Tables are formatted for people: separators, units, no empty header row.
    assert f"{RECORDS:,}" in report
    assert ">naive calls</th>" in report  # headers for people, not column names
    head = report.split("API traffic by step")[1].split("<tbody>")[0]
    assert head.count("<tr>") == 1  # one header row: no empty "step" row above it


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_outputs_hold_no_token(run: tuple[int, str, Path]) -> None:
    _, printed, out = run
    texts = [printed] + [p.read_text(encoding="utf-8") for p in out.iterdir() if p.is_file()]
    for text in texts:
        assert not TOKEN_RE.search(text)


@pytest.mark.sandbox
@pytest.mark.slow
def test_demo_exits_one_when_an_expectation_fails(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = demo.make_edits

    def without_slips(leads: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, dict[str, list[str]],
                                                              list[tuple[str, str, object]]]:
        edited, segments, invalid = real(leads, seed)
        for rid, name, _ in invalid[1:]:
            edited.loc[rid, name] = leads.loc[rid, name]  # two slips never happened
        return edited, segments, invalid

    monkeypatch.setattr(demo, "make_edits", without_slips)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = demo.main(["--records", "1000", "--out", str(tmp_path / "out"), "--quiet"])
    assert code == 1
    assert "FAILED: validation caught every invalid value" in printed.getvalue()
    assert "== 1." not in printed.getvalue()  # --quiet: the summary only


@pytest.mark.sandbox
@pytest.mark.slow
@pytest.mark.parametrize("records", [1000, 1200, 1500])
def test_demo_checks_hold_at_small_sizes(records: int, tmp_path: Path) -> None:
    """At 1,000-1,500 leads the push is a few calls: its write calls (not its conflict-check
    reads) are what is compared with batches, and at 1,200 the status segment fits in the
    phones' PUT batches, so the plan has no mass update and is as few calls as batches."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
        code = demo.main(["--records", str(records), "--out", str(tmp_path / "out"),
                          "--quiet"])
    text = printed.getvalue()
    assert "FAILED" not in text, text
    assert code == 0
    checks = pd.read_csv(tmp_path / "out" / "checks.csv")
    row = checks[checks["name"].str.startswith("the plan writes in fewer calls")]
    assert len(row) == 1
    found = re.match(r"(\d+) write calls \(\+(\d+) conflict-check reads\) vs (\d+) naive, "
                     r"(\d+) in batches", str(row["detail"].iloc[0]))
    assert found
    writes, reads, naive, batches = map(int, found.groups())
    assert reads >= 1  # the conflict check is counted, beside the writes
    assert writes < naive
    assert writes <= batches
    summary = pd.read_csv(tmp_path / "out" / "summary.csv", index_col="step")
    assert summary.loc["push edits", "calls"] == writes + reads
    assert summary.loc["push edits", "writes"] == writes


def test_demo_refuses_too_few_records(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        demo.main(["--records", "10"])
    assert exc.value.code == 2
    assert "--records must be at least" in capsys.readouterr().err


def test_demo_says_when_its_report_folder_cannot_be_made(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # --out naming a file (or a folder under one) was a FileExistsError traceback
    taken = tmp_path / "report.html"
    taken.write_text("", encoding="utf-8")
    for out in (taken, taken / "demo"):
        with pytest.raises(SystemExit) as exc:
            demo.main(["--out", str(out), "--quiet"])
        assert exc.value.code == 2
        err = capsys.readouterr().err
        assert f"--out {out}: cannot make the report folder" in err
        assert "Traceback" not in err


def test_progress_line_shows_counts_and_state() -> None:
    class Stream(io.StringIO):
        def isatty(self) -> bool:
            return False

    stream = Stream()
    progress = demo.ProgressLine(demo.Printer(stream, quiet=False), "bulk write", width=10)
    progress(JobStatus("bulk_write", "1", "SCHEDULED", "ADDED"))
    progress(JobStatus("bulk_write", "1", "RUNNING", "INPROGRESS", total=200, added=0,
                       updated=50, skipped=0))
    progress(JobStatus("mass_update", "2", "COMPLETED", "COMPLETED", total=200, updated=190,
                       failed=10, not_updated=0))
    lines = stream.getvalue().splitlines()
    assert lines == [
        "  bulk write   [??????????] SCHEDULED counts not known yet",
        "  bulk write   [##........] RUNNING       50/200 ( 25%)",
        "  bulk write   [##########] COMPLETED    200/200 (100%)",
    ]
    assert [s.state for s in progress.seen] == ["SCHEDULED", "RUNNING", "COMPLETED"]


def test_stages_frame_totals_only_what_adds_up() -> None:
    stages = [demo.Stage("read Leads", 1000, 11, 0, 11),
              demo.Stage("push edits", 300, 5, 2, 30, *demo.Stage.naive_for(300))]
    frame = demo.stages_frame(stages)
    assert frame.loc["total", "calls"] == 16
    assert frame.loc["total", "writes"] == 2
    assert frame.loc["total", "naive_calls"] == 300
    assert pd.isna(frame.loc["total", "records"])
    assert demo.Stage.naive_for(250) == (250, 250, 3, 25)


def test_console_script_runs_the_demo_subcommand(tmp_path: Path) -> None:
    script = Path(sys.executable).parent / ("crmframe.exe" if os.name == "nt" else "crmframe")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "crmframe.cli"]
    done = subprocess.run([*command, "demo", "--help"], cwd=tmp_path, capture_output=True,
                          text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "--records" in done.stdout
    assert "--out" in done.stdout
    assert not any(tmp_path.iterdir())  # --help writes no report


# The internals the demo reaches past the public API: the charts as PNG bytes (not
# exported) and the Report builder it shares with crmframe.report. The bulk write's result
# comes from crm.bulk_write, not a parser of its own.
DEMO_INTERNALS = {"crmframe.plots", "crmframe.reports"}


def test_demo_uses_the_public_api() -> None:
    import ast

    tree = ast.parse(Path(demo.__file__).read_text(encoding="utf-8"))
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module)
        elif isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
    internal = {m for m in modules if m.startswith("crmframe.")}
    assert internal <= DEMO_INTERNALS, internal - DEMO_INTERNALS
    assert "crmframe" in modules
    assert "_connect" not in vars(demo)
    assert "get_bytes" not in Path(demo.__file__).read_text(encoding="utf-8")


def test_demo_is_its_named_steps() -> None:
    import inspect

    names = [step.__name__ for step in demo.STEPS]
    assert names == ["step_read_leads", "step_edit_with_pandas", "step_validate_edits",
                     "step_plan_the_push", "step_push_valid_edits", "step_mass_update_by_view",
                     "step_bulk_write_scores", "step_read_back_and_compare",
                     "step_write_the_report"]
    # Small parts: no step (nor run) is a long function again.
    for function in (*demo.STEPS, demo.run):
        assert len(inspect.getsource(function).splitlines()) <= 60, function.__name__
