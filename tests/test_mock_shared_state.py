"""The state ``serve --workers N`` shares, with two mock apps in this process on one database
(two "workers" on two ports): what one does, the other sees."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest
from scenario_files import scenario_folder

from mockserver import shared_state
from mockserver.web_runner import MockServer

SCENARIOS = {
    "s-rpm": "match: {endpoint: chat.completions}\nfaults:\n  - {fault: rate_limit, rpm: 3}\n",
    "s-hang": "match: {endpoint: chat.completions}\nattempts:\n  - {fault: hang}\nthen: ok\n",
}
CHAT = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
JOURNAL_SIZE = 8


@pytest.fixture(scope="module")
def pair(tmp_path_factory, mock_openai_server_factory):
    folder = scenario_folder(
        tmp_path_factory,
        {name: f"description: shared state, {name}.\n{body}" for name, body in SCENARIOS.items()},
    )
    db = str(tmp_path_factory.mktemp("shared") / "state.sqlite3")
    shared_state.create(db)
    settings = {"scenario_paths": [folder], "shared_state": db, "journal_size": JOURNAL_SIZE}
    return mock_openai_server_factory(worker=1, **settings), mock_openai_server_factory(worker=2, **settings)


def call(mock: MockServer, session: str, scenario: str | None = None, timeout: float = 10.0):
    headers = {"Authorization": "Bearer sk-x", "X-Mock-Session": session, "Content-Type": "application/json"}
    if scenario:
        headers["X-Mock-Scenario"] = scenario
    req = urllib.request.Request(
        mock.base_url + "/chat/completions", data=json.dumps(CHAT).encode(), headers=headers
    )
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def admin(mock: MockServer, path: str) -> str:
    with urllib.request.urlopen(mock.url + path, timeout=10) as r:
        return r.read().decode()


def test_the_rate_limit_bucket_is_one_for_both_workers(pair, mock_openai):
    one, two = pair
    replies = [call(mock, mock_openai.session, "s-rpm") for mock in (one, two, one, two)]
    assert [status for status, _ in replies] == [200, 200, 200, 429]
    assert [h["x-ratelimit-remaining-requests"] for _, h in replies] == ["2", "1", "0", "0"]


def test_the_journal_stays_bounded_and_the_metrics_count_what_left_it(pair, mock_openai):
    one, two = pair

    def chat_200s() -> int:
        for line in admin(one, "/_mock/metrics").splitlines():
            if line.startswith('mockopenai_requests_total{endpoint="chat.completions",status="200"}'):
                return int(line.rsplit(" ", 1)[1])
        return 0

    before = chat_200s()
    for i in range(30):
        assert call((one, two)[i % 2], mock_openai.session)[0] == 200
    entries = json.loads(admin(two, f"/_mock/journal?session={mock_openai.session}"))
    # each worker checks the bound every JOURNAL_SIZE // 4 of its inserts
    assert JOURNAL_SIZE <= len(entries) <= JOURNAL_SIZE + 2 * (JOURNAL_SIZE // 4)
    assert [e["id"] for e in entries] == sorted(e["id"] for e in entries)
    assert {e["worker"] for e in entries} == {1, 2}
    assert chat_200s() - before == 30  # the trimmed entries are still counted
    assert admin(one, "/_mock/metrics") == admin(two, "/_mock/metrics")


def test_a_request_hanging_on_one_worker_shows_as_hang_on_the_other(pair, mock_openai):
    one, two = pair
    with pytest.raises(TimeoutError):
        call(one, mock_openai.session, "s-hang", timeout=0.3)
    entries = json.loads(admin(two, f"/_mock/journal?session={mock_openai.session}"))
    assert [(e["attempt"], e["worker"]) for e in entries] == [(1, 1)]
    assert entries[0]["ended"] in ("hang", "client_gone")
    assert call(two, mock_openai.session, "s-hang")[0] == 200  # attempt 2, counted on the other worker
