"""Starting, stopping, restarting and seeding the sandbox."""

from __future__ import annotations

import ast
import json
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import requests

from crmframe.sandbox import SandboxServer, start

from .helpers import Api

pytestmark = pytest.mark.sandbox

SANDBOX_DIR = Path(__file__).resolve().parents[2] / "crmframe" / "sandbox"


def test_context_manager_serves_on_a_free_loopback_port_and_stops() -> None:
    before = {t.name for t in threading.enumerate()}
    with start(records=20) as server:
        assert server.url.startswith("http://127.0.0.1:")
        assert server.port > 0
        with requests.Session() as s:
            r = s.get(server.url + "/crm/v8/org",
                      headers={"Authorization": "Zoho-oauthtoken " + server.access_token()})
        assert r.status_code == 200
        assert r.json()["org"][0]["zgid"]
    server.stop()  # idempotent
    with pytest.raises(requests.ConnectionError):
        requests.get(server.url + "/crm/v8/org", timeout=5)
    after = {t.name for t in threading.enumerate()}
    assert not {n for n in after - before if n.startswith("crmframe-sandbox")}


def test_two_servers_get_different_ports() -> None:
    with start(records=10) as a, start(records=10) as b:
        assert a.port != b.port


def test_credentials_are_what_connect_needs() -> None:
    with start(records=10) as server:
        creds = server.credentials
        assert set(creds) == {"client_id", "client_secret", "refresh_token", "accounts_url",
                              "api_domain"}
        assert creds["api_domain"] == creds["accounts_url"] == server.url
        r = requests.post(server.url + "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]},
            timeout=10)
        assert r.status_code == 200
        assert r.json()["api_domain"] == server.url


def test_seed_is_deterministic_and_ids_are_19_digit_strings() -> None:
    with start(records=60, seed=7) as a, start(records=60, seed=7) as b:
        assert a.ids("Leads") == b.ids("Leads")
        rid = a.ids("Leads")[5]
        assert a.get_record("Leads", rid) == b.get_record("Leads", rid)
        for rid in a.ids("Leads") + a.ids("Accounts"):
            assert isinstance(rid, str)
            assert len(rid) == 19
            assert rid.isdigit()


def test_different_seeds_give_different_data() -> None:
    with start(records=30, seed=1) as a, start(records=30, seed=2) as b:
        ra = a.get_record("Leads", a.ids("Leads")[3])
        rb = b.get_record("Leads", b.ids("Leads")[3])
        assert (ra["Last_Name"], ra["City"], ra["Created_Time"]) != (
            rb["Last_Name"], rb["City"], rb["Created_Time"])


def test_module_sizes_follow_records() -> None:
    with start(records=200) as server:
        assert len(server.ids("Leads")) == 200
        assert len(server.ids("Contacts")) == 40
        assert len(server.ids("Deals")) == 20
        assert len(server.ids("Accounts")) == 10


def test_restart_on_the_same_file_keeps_committed_writes(tmp_path: Path) -> None:
    db = tmp_path / "sandbox.db"
    with start(records=50, db=str(db)) as server:
        api = Api(server)
        rid = server.ids("Leads")[0]
        r = api.put("Leads", json={"data": [{"id": rid, "City": "Persisted City"}]})
        assert r.status_code == 200
        r = api.post("Leads", json={"data": [{"Last_Name": "Added Before Restart"}]})
        assert r.status_code == 201
        new_id = r.json()["data"][0]["details"]["id"]
        api.close()
    with start(records=999, db=str(db)) as again:
        assert again.get_record("Leads", rid)["City"] == "Persisted City"
        assert again.get_record("Leads", new_id)["Last_Name"] == "Added Before Restart"
        assert len(again.ids("Leads")) == 51  # not reseeded with 999
        api = Api(again)
        r = api.post("Leads", json={"data": [{"Last_Name": "After"}]})
        assert r.json()["data"][0]["details"]["id"] not in again.ids("Leads")[:-1]
        api.close()


def test_admin_hooks(server: SandboxServer) -> None:
    rid = server.ids("Leads")[0]
    before = server.get_record("Leads", rid)
    after = server.touch("Leads", rid)
    assert after["Modified_Time"] > before["Modified_Time"]
    assert after["Modified_By"]["id"] != before["Modified_By"]["id"]
    server.flag("Leads", rid, locked=True)
    assert server.flagged("Leads")[rid] == "locked"
    server.flag("Leads", rid, locked=False)
    assert rid not in server.flagged("Leads")
    with pytest.raises(KeyError):
        server.get_record("Leads", "4876876000999999999")
    server.clear_requests()
    api = Api(server)
    api.get("Leads", params={"fields": "Last_Name"})
    api.close()
    assert server.requests == [("GET", "/crm/v8/Leads", 200)]
    assert server.credits_used >= 1


def test_seeded_flags_are_few_and_discoverable(server: SandboxServer) -> None:
    flags = server.flagged("Leads")
    assert sorted(flags.values()) == ["locked", "locked", "not_approved", "not_approved"]
    assert server.flagged("Accounts") == {}


def _cli(*args: str) -> subprocess.Popen[str]:
    """``python -m crmframe.sandbox --port 0 *args``."""
    return subprocess.Popen([sys.executable, "-m", "crmframe.sandbox", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _banner(proc: subprocess.Popen[str]) -> tuple[list[str], str]:
    """The CLI's start-up lines (through the Ctrl-C hint) and the URL on the first one."""
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while "Ctrl-C" not in lines[-1] and lines[-1]:
        lines.append(proc.stdout.readline())
    found = re.search(r"http://127\.0\.0\.1:\d+", lines[0])
    assert found, lines
    return lines, found.group(0)


def test_cli_runs_until_terminated() -> None:
    proc = _cli("--records", "10")
    try:
        lines, url = _banner(proc)
        r = requests.get(url + "/crm/v8/Leads", timeout=10)
        assert r.status_code == 401
        assert r.json()["code"] == "AUTHENTICATION_FAILURE"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert any('"refresh_token"' in line for line in lines)


def test_cli_main_parses_options() -> None:
    from crmframe.sandbox.cli import build_parser

    args = build_parser().parse_args(["--port", "0", "--failure-rate", "0.5", "--no-flags"])
    assert args.port == 0
    assert args.failure_rate == 0.5
    assert args.no_flags


def test_cli_says_what_is_wrong_with_its_options(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --db that cannot be opened was a sqlite3 traceback; a share above 1 or a negative
    record count started a server that failed every call or seeded nothing, silently."""
    from crmframe.sandbox.cli import main

    missing = tmp_path / "no such folder" / "sandbox.db"
    assert main(["--db", str(missing), "--port", "0", "--records", "5"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"--db {missing}" in err
    assert "unable to open database file" in err
    not_sqlite = tmp_path / "notes.db"
    not_sqlite.write_text("not a database", encoding="utf-8")
    assert main(["--db", str(not_sqlite), "--port", "0", "--records", "5"]) == 2
    assert "file is not a database" in capsys.readouterr().err
    for option, value in (("--failure-rate", "2"), ("--drop-rate", "-0.1"),
                          ("--records", "-5"), ("--latency", "-1"), ("--port", "70000"),
                          ("--port", "-1")):
        with pytest.raises(SystemExit) as exit_:
            main(["--port", "0", option, value])
        assert exit_.value.code == 2
        assert f"argument {option}" in capsys.readouterr().err


def test_sandbox_imports_only_what_it_may() -> None:
    allowed_crmframe = {"crmframe.core.fieldtypes"}
    for path in SANDBOX_DIR.glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                top = name.split(".")[0]
                assert top not in ("pandas", "numpy", "requests"), (path.name, name)
                if top == "crmframe":
                    assert name.startswith("crmframe.sandbox") or name in allowed_crmframe, (
                        path.name, name)


def test_leaked_server_is_visible_in_repr() -> None:
    server = SandboxServer(records=5)
    assert "running" in repr(server)
    server.stop()
    assert "stopped" in repr(server)


def test_a_killed_server_loses_no_acknowledged_write(tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    proc = _cli("--records", "30", "--db", str(db))
    try:
        lines, url = _banner(proc)
        creds = json.loads("".join(lines[2:-1]))
        token = requests.post(url + "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"],
            "refresh_token": creds["refresh_token"]}, timeout=10).json()["access_token"]
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        r = requests.post(url + "/crm/v8/Leads", headers=headers, timeout=10,
                          json={"data": [{"Last_Name": f"Durable {n}"} for n in range(20)]})
        assert r.status_code == 201
        new_ids = [item["details"]["id"] for item in r.json()["data"]]
    finally:
        proc.kill()  # SIGKILL: no shutdown, no checkpoint
        proc.communicate(timeout=60)
    with start(db=str(db)) as again:
        assert [again.get_record("Leads", i)["Last_Name"] for i in new_ids] == [
            f"Durable {n}" for n in range(20)]


def test_the_cli_keeps_freed_memory_instead_of_trimming_after_each_answer() -> None:
    """The CLI's process is the sandbox's own: glibc keeps what it frees (a page of full
    records is half a megabyte) instead of returning it and faulting it back in at the
    next answer. Checked in a child process: an embedded sandbox leaves its host alone."""
    code = ("from crmframe.sandbox.cli import keep_freed_memory; "
            "import crmframe.sandbox.server; print(keep_freed_memory())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, check=True)
    assert out.stdout.strip() == ("True" if sys.platform == "linux" else "False")
    assert "keep_freed_memory()" in (SANDBOX_DIR / "cli.py").read_text(encoding="utf-8")
