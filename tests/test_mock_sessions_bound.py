"""Sessions are bounded: one-off X-Mock-Session values (a load run, a fuzzer) cannot grow the
mock's memory for good; the least recently used session leaves first and still counts."""

from __future__ import annotations

import urllib.request

from mockserver.journal import Journal
from mockserver.scenario.engine import Attempts


def opened(journal: Journal, session: str, n: int = 1) -> None:
    for i in range(n):
        entry = journal.open(f"req_{session}_{i}", "POST", "/v1/chat/completions", session, 0.0, 0.0)
        entry.endpoint, entry.status, entry.ended = "chat.completions", 200, "complete"


def test_the_least_recently_used_session_leaves_first_and_still_counts():
    journal = Journal(max_per_session=10, max_sessions=3)
    for name in ("a", "b", "c"):
        opened(journal, name)
    opened(journal, "a")  # a is used again: b is now the oldest
    opened(journal, "d")
    assert journal.session_count() == 3
    assert journal.entries("b") == [] and len(journal.entries("a")) == 2
    assert sum(journal.metrics().requests.values()) == 5  # b's request still counts


def test_attempt_counters_are_bounded_the_same_way():
    attempts = Attempts(max_keys=2)
    assert attempts.next(("s", "one"), 0.0)[0] == 1
    assert attempts.next(("s", "two"), 0.0)[0] == 1
    assert attempts.next(("s", "one"), 0.0)[0] == 2  # used again: "two" is now the oldest
    attempts.next(("s", "three"), 0.0)
    assert attempts.get(("s", "two")) == 0 and attempts.get(("s", "one")) == 2


def test_the_session_count_is_in_the_metrics(mock_openai):
    mock_openai.client(max_retries=0).models.list()
    with urllib.request.urlopen(mock_openai.url + "/_mock/metrics", timeout=5) as resp:
        text = resp.read().decode()
    [line] = [line for line in text.splitlines() if line.startswith("mockopenai_sessions ")]
    assert int(line.split()[1]) >= 1
    assert "# TYPE mockopenai_sessions gauge" in text
