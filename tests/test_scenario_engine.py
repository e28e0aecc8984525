"""The engine: attempts per (scenario, session), match, then, reset, seeded probability, windows."""

from __future__ import annotations

import threading

import pytest

from mockserver.clock import Clock
from mockserver.context import RequestContext
from mockserver.journal import JournalEntry
from mockserver.reply import Reply, StreamEvent
from mockserver.scenario.engine import ScenarioEngine
from mockserver.scenario.schema import ResponseSpec, parse_text


class ManualClock(Clock):
    """A clock the test moves by hand (scenario ms = real ms at scale 1)."""

    def __init__(self, time_scale: float = 1.0) -> None:
        super().__init__(time_scale)
        self.now = 1000.0

    def monotonic(self) -> float:  # type: ignore[override]
        return self.now


def engine_of(seed: int = 0, clock: Clock | None = None, **texts: str) -> ScenarioEngine:
    scenarios = {name: parse_text(text, f"{name}.yaml") for name, text in texts.items()}
    return ScenarioEngine(scenarios, seed=seed, clock=clock)


def ctx(scenario: str | None, session: str = "s1") -> RequestContext:
    entry = JournalEntry(id=1, request_id="req_1", method="POST", path="/v1/chat/completions")
    return RequestContext(request_id="req_1", session=session, scenario=scenario, entry=entry, t0=0.0)


SEQUENCE = """\
description: 429, 500, then slow forever.
match: {endpoint: chat.completions, stream: true}
attempts:
  - {fault: http_error, status: 429}
  - {fault: http_error, status: 500}
then: {fault: slow, ttft_ms: 5}
response: {text: "base", tokens: 7}
"""


def fault_names(
    engine: ScenarioEngine, c: RequestContext, endpoint: str = "chat.completions", stream: bool = True
) -> tuple[int, list[str]]:
    step = engine.step(c, endpoint, stream, "gpt-4o")
    return step.attempt, [f.name for f in step.faults]


def test_attempt_n_gets_step_n_then_the_then_step():
    engine = engine_of(seq=SEQUENCE)
    got = [fault_names(engine, ctx("seq")) for _ in range(4)]
    assert got == [(1, ["http_error"]), (2, ["http_error"]), (3, ["slow"]), (4, ["slow"])]


def test_requests_the_match_rejects_are_plain_and_use_no_attempt():
    engine = engine_of(seq=SEQUENCE)
    assert fault_names(engine, ctx("seq"), stream=False) == (0, [])
    assert fault_names(engine, ctx("seq"), endpoint="responses") == (0, [])
    assert fault_names(engine, ctx("seq")) == (1, ["http_error"])
    assert engine.attempts("seq", "s1") == 1


def test_no_scenario_is_plain():
    engine = engine_of(seq=SEQUENCE)
    step = engine.step(ctx(None), "chat.completions", True, "gpt-4o")
    assert (step.attempt, step.faults, step.response) == (0, [], ResponseSpec())


def test_sessions_count_separately_and_reset_clears_one_or_all():
    engine = engine_of(seq=SEQUENCE)
    for session in ("a", "a", "b"):
        engine.step(ctx("seq", session), "chat.completions", True, None)
    assert (engine.attempts("seq", "a"), engine.attempts("seq", "b")) == (2, 1)
    engine.reset("a")
    assert (engine.attempts("seq", "a"), engine.attempts("seq", "b")) == (0, 1)
    engine.reset()
    assert engine.attempts("seq", "b") == 0


def test_counters_hold_under_threads():
    engine = engine_of(seq=SEQUENCE)

    def hammer() -> None:
        for _ in range(200):
            engine.step(ctx("seq", "shared"), "chat.completions", True, None)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert engine.attempts("seq", "shared") == 800


def test_response_merges_the_top_level_block_with_a_steps_override():
    engine = engine_of(
        r="description: d\nresponse: {text: base, ttft_ms: 10}\n"
        "attempts:\n  - response: {text: first}\nthen: ok\n"
    )
    first = engine.step(ctx("r"), "chat.completions", True, None).response
    second = engine.step(ctx("r"), "chat.completions", True, None).response
    assert (first.text, first.ttft_ms) == ("first", 10)
    assert (second.text, second.ttft_ms) == ("base", 10)


BROWNOUT = """\
description: 30 % of requests fail.
faults: [{fault: http_error, status: 503, probability: 0.3}]
"""


def firing_pattern(seed: int, session: str = "s1", n: int = 300) -> list[bool]:
    engine = engine_of(seed=seed, b=BROWNOUT)
    return [bool(engine.step(ctx("b", session), "chat.completions", True, None).faults) for _ in range(n)]


def test_probability_is_seeded_so_a_run_repeats_exactly():
    first = firing_pattern(seed=7)
    assert firing_pattern(seed=7) == first
    assert firing_pattern(seed=8) != first
    assert firing_pattern(seed=7, session="other") != first
    assert 0.2 < sum(first) / len(first) < 0.4


def test_window_is_relative_to_the_first_request_of_the_session_in_scenario_ms():
    clock = ManualClock(time_scale=0.5)
    engine = engine_of(
        clock=clock, w="description: d\nfaults:\n  - {fault: hang, window: {start_ms: 100, end_ms: 200}}\n"
    )
    seen = []
    for real_ms in (0, 49, 51, 99, 101):  # at scale 0.5: scenario ms 0, 98, 102, 198, 202
        clock.now = 1000.0 + real_ms / 1000.0
        seen.append(bool(engine.step(ctx("w"), "chat.completions", True, None).faults))
    assert seen == [False, False, True, True, False]
    engine.reset("s1")  # the window starts again at the next first request
    clock.now += 10
    assert not engine.step(ctx("w"), "chat.completions", True, None).faults


def test_the_fault_free_path_hands_the_reply_back_untouched():
    engine = engine_of(plain="description: No faults at all.\n", seq=SEQUENCE)
    reply = Reply(events=[StreamEvent({"a": 1}, type="x")])
    for name in ("plain", None):
        step = engine.step(ctx(name), "chat.completions", True, None)
        assert step.faults == [] and step.context is None
        assert engine.apply(step, reply, ctx(name)) is reply
    assert reply.faults == []


def test_apply_records_the_faults_that_fired_in_run_order():
    engine = engine_of(
        mix="description: d\nthen:\n  faults:\n    - {fault: drop, after_events: 1}\n"
        "    - {fault: slow, ttft_ms: 5}\n"
    )
    step = engine.step(ctx("mix"), "chat.completions", True, None)
    events = [StreamEvent({"i": i}, type="t", content=True) for i in range(3)]
    out = engine.apply(step, Reply(events=events), ctx("mix"))
    assert out.faults == ["slow", "drop"]
    assert [e.data for e in out.events] == [{"i": 0}]
    assert out.events[0].delay_ms == 5


@pytest.mark.parametrize("selected", ["seq", "missing"])
def test_has_and_names(selected):
    engine = engine_of(seq=SEQUENCE)
    assert engine.names() == ["seq"]
    assert engine.has(selected) is (selected == "seq")
