"""The ``lost_answer_rate`` fault (a write commits, its answer is lost) and random credentials."""

from __future__ import annotations

import pytest
import requests

from crmframe.sandbox import SandboxServer, start

from .helpers import Api


def test_a_lost_answer_commits_the_write_and_closes_the_connection() -> None:
    with start(records=40, lost_answer_rate=1.0) as server:
        api = Api(server)
        rid = server.ids("Leads")[0]
        try:
            with pytest.raises(requests.ConnectionError):
                api.session.put(f"{server.url}/crm/v8/Leads", timeout=10,
                                json={"data": [{"id": rid, "City": "Lost Answer"}]},
                                headers={"Authorization": f"Zoho-oauthtoken {api.token}"})
            # committed, exactly once, although nobody heard the answer
            assert server.get_record("Leads", rid)["City"] == "Lost Answer"
            assert server.write_counts("Leads") == {rid: 1}
            assert server.answers_lost == 1
            assert server.requests[-1] == ("PUT", "/crm/v8/Leads", -200)
            # reads keep their answers
            got = api.session.get(f"{server.url}/crm/v8/Leads/{rid}", timeout=10,
                                  headers={"Authorization": f"Zoho-oauthtoken {api.token}"})
            assert got.status_code == 200
        finally:
            api.close()


def test_lost_answers_follow_the_seed_and_leave_the_other_faults_alone() -> None:
    def lost(seed: int) -> list[int]:
        with start(records=20, lost_answer_rate=0.5, seed=seed) as server:
            api = Api(server)
            rid = server.ids("Leads")[0]
            for n in range(12):
                try:
                    api.session.put(f"{server.url}/crm/v8/Leads", timeout=10,
                                    json={"data": [{"id": rid, "City": f"c{n}"}]},
                                    headers={"Authorization": f"Zoho-oauthtoken {api.token}"})
                except requests.ConnectionError:
                    api.session.close()
                    api.session = requests.Session()
            api.close()
            assert server.write_counts("Leads")[rid] == 12  # every write committed
            return [status for _, _, status in server.requests if status < 0]

    first = lost(5)
    assert first == lost(5)
    assert 0 < len(first) < 12


def test_credentials_are_random_unless_a_seed_is_asked_for() -> None:
    def creds(**options: object) -> dict[str, str]:
        server = SandboxServer(records=10, **options)  # type: ignore[arg-type]
        try:
            return {k: server.credentials[k] for k in ("client_id", "client_secret",
                                                       "refresh_token")}
        finally:
            server.stop()

    one, two = creds(), creds()
    assert all(one[k] != two[k] for k in one)
    assert creds(credentials_seed=3) == creds(credentials_seed=3)
    with start(records=10) as server:  # random credentials work as before
        token = requests.post(f"{server.url}/oauth/v2/token", timeout=10, data={
            "grant_type": "refresh_token", **{k: server.credentials[k] for k in
                                              ("client_id", "client_secret", "refresh_token")}
        }).json()["access_token"]
        assert token.startswith("1000.")
