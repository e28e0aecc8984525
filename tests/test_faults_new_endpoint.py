"""A new endpoint is one new API module: this throwaway one (a "ticker" stream with its own error
shape) gets every fault working on it without a line of the fault code knowing it exists."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from mockserver.config import MockConfig
from mockserver.reply import Reply, StreamEvent, Vocabulary
from mockserver.scenario import faults as F
from mockserver.scenario.ratelimit import RateLimits
from mockserver.web_app import create_app, plan, send
from mockserver.web_runner import MockServer
from servekit.sse import SSEReader

# --- the throwaway API module ------------------------------------------------------------------


def ticker_error(error: dict[str, Any], previous: list[StreamEvent]) -> StreamEvent:
    return StreamEvent(
        {"kind": "tick.failed", "why": error["message"]},
        event="tick.failed",
        type="tick.failed",
        terminal=True,
    )


TICKER = Vocabulary(
    "ticker",
    error_event=ticker_error,
    tokens=lambda reply: len(reply.events or ()),
    malformed='{"kind": "tick", "n": ',
)


def ticker_reply(n: int = 6) -> Reply:
    events = [
        StreamEvent({"kind": "tick", "n": i}, event="tick", type="tick", content=True, delay_ms=5)
        for i in range(n)
    ]
    events.append(StreamEvent({"kind": "tick.end"}, event="tick.end", type="tick.end", terminal=True))
    return Reply(events=events, vocabulary=TICKER)


async def ticker(request: web.Request) -> web.StreamResponse:
    step = plan(request, "ticker", stream=True, model=None)
    return await send(request, step, ticker_reply())


# --- every fault, as a transform of the new API's reply -----------------------------------------

PARAMS: dict[str, dict[str, Any]] = {
    "rate_limit": {"rpm": 1},
    "http_error": {"status": 503},
    "drop": {"after_events": 2},
    "reset": {"after_events": 2},
    "truncate": {"after_events": 2},
    "stall": {"after_events": 2, "duration_ms": 50},
    "error_event": {"after_events": 2, "message": "ticker broke"},
    "omit": {"types": ["tick"]},
    "malformed": {"after_events": 1},
    "duplicate": {"after_events": 1, "count": 2},
    "heartbeat": {"interval_ms": 10},
    "slow": {"ttft_ms": 20, "inter_token_ms": 5},
    "html_error": {"status": 502},
}


@pytest.mark.parametrize("name", sorted(F.FAULTS))
def test_every_fault_transforms_the_new_apis_reply(name):
    fault = F.FAULTS[name](**PARAMS.get(name, {}))
    fc = F.FaultContext(rng=random.Random(1), key=("ticker", "s"), now_ms=0.0, limits=RateLimits())
    before = ticker_reply()
    out = fault.apply(before, fc)
    if name == "rate_limit":
        out = fault.apply(ticker_reply(), fc)  # the second request in the minute is refused
    assert isinstance(out, Reply)
    assert out != ticker_reply() or name in ("out_of_order",)  # each one changed something
    if out.events is not None:
        for ev in out.events:
            ev.encode()  # every event it produced can be written


def test_the_new_apis_own_shapes_are_what_the_faults_produce():
    fc = F.FaultContext(rng=random.Random(1), key=("ticker", "s"), now_ms=0.0, limits=RateLimits())
    errored = F.ErrorEvent(after_events=2, message="ticker broke").apply(ticker_reply(), fc)
    assert errored.events[-1].data == {"kind": "tick.failed", "why": "ticker broke"}
    assert F.Malformed(after_events=1).apply(ticker_reply(), fc).events[1].data == TICKER.malformed
    assert F.tokens_of(ticker_reply(3)) == 4  # the API's own count, not a guess from its events
    assert F.Hang().apply(ticker_reply(), fc).hangs


# --- and over the wire, through the engine and delivery like any endpoint --------------------------


@pytest.fixture
def ticker_mock(tmp_path):
    (tmp_path / "ticker-breaks.yaml").write_text(
        "description: The ticker stream breaks after two ticks, then drops.\n"
        "attempts:\n"
        "  - {fault: error_event, after_events: 2, message: ticker broke}\n"
        "  - {fault: drop, after_events: 3}\n"
        "then: ok\n"
    )
    app = create_app(MockConfig(port=0, scenario_paths=[str(tmp_path)]))
    app.router.add_get("/v1/ticker", ticker)
    with MockServer(MockConfig(port=0), app=app) as server:
        yield server


async def test_the_new_endpoint_breaks_as_its_scenario_says(ticker_mock):
    headers = {"Authorization": "Bearer sk-x", "X-Mock-Scenario": "ticker-breaks", "X-Mock-Session": "t1"}
    seen = []
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(ticker_mock.url + "/v1/ticker", headers=headers) as resp:
                try:
                    body = await resp.read()
                except aiohttp.ClientPayloadError:
                    body = b"(cut)"
                seen.append(body)
    first = [json.loads(f.data) for f in SSEReader().feed(seen[0]) if f.data]
    assert first[-1] == {"kind": "tick.failed", "why": "ticker broke"} and len(first) == 3
    assert seen[1] == b"(cut)" or b"tick.end" not in seen[1]
    names = [f.event for f in SSEReader().feed(seen[2])]
    assert names.count("tick") == 6 and b"tick.end" in seen[2]
