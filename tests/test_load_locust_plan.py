"""The Locust command lines a load run builds: bounded, headless, loopback-only, secrets kept off them."""

from __future__ import annotations

import pytest

from harness.load.locust_run import LocustPlan, parse_duration


def plan(**kw) -> LocustPlan:
    base = dict(
        user="gateway",
        users=100,
        spawn_rate=50,
        run_time="15s",
        results_json="/r.json",
        options={"gateway_url": "http://127.0.0.1:3000", "scenario": "load-brownout-2pct-429"},
        env={"JWT_SECRET": "s" * 40},
    )
    return LocustPlan(**(base | kw))


def test_local_run_is_headless_and_bounded_in_users_and_time():
    argv = plan().local_argv()
    assert argv[1:3] == ["-m", "locust"]
    joined = " ".join(argv)
    for part in (
        "--headless",
        "-u 100",
        "-r 50",
        "-t 15s",
        "--results-json /r.json",
        "--gateway-url http://127.0.0.1:3000",
        "--scenario load-brownout-2pct-429",
    ):
        assert part in joined
    assert argv[-1] == "GatewayChatUser"
    assert "s" * 40 not in joined  # the JWT secret travels in the environment, not on the command line


def test_distributed_master_and_workers_talk_over_loopback():
    p = plan(workers=3, master_port=5599, user="mock")
    master, worker = " ".join(p.master_argv()), " ".join(p.worker_argv())
    assert "--master --master-bind-host 127.0.0.1 --master-bind-port 5599 --expect-workers 3" in master
    assert "--headless" in master and "-t 15s" in master
    assert "--worker --master-host 127.0.0.1 --master-port 5599" in worker
    assert "--headless" not in worker  # workers take users, run time and options from the master
    assert master.endswith("MockChatUser") and worker.endswith("MockChatUser")


@pytest.mark.parametrize(
    ("text", "seconds"), [("15s", 15), ("2m", 120), ("1m30s", 90), ("90", 90), ("1h", 3600)]
)
def test_run_time_is_read_like_locust_reads_it(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"user": "browser"}, "unknown user 'browser'"),
        ({"users": 0}, "users must be >= 1"),
        ({"workers": -1}, "workers must be >= 0"),
        ({"run_time": "soon"}, "invalid run time 'soon'"),
    ],
)
def test_bad_plans_are_refused_with_a_clear_message(kw, message):
    with pytest.raises(ValueError, match=message):
        plan(**kw)
