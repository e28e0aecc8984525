"""Resilient streaming (seed 002): reconnect with backoff (chat restarts and says so), the bounded
stream pool, the event debugger and stream metrics, through the real SDK."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import httpx2
import openai
import pytest
from openai.types.chat import ChatCompletionChunk

from harness.connectors import (
    Backoff,
    ResilientStream,
    StreamEventDebugger,
    StreamGaveUp,
    StreamMetrics,
    StreamPool,
    StreamRestarted,
)
from harness.connectors.resilient_stream import StreamIncomplete, is_retryable

MSG = [{"role": "user", "content": "Tell me a story"}]
FAST = Backoff(initial_ms=1, multiplier=2, max_ms=4, max_retries=3)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


# --- backoff policy -------------------------------------------------------------------------


def test_backoff_doubles_and_caps():
    b = Backoff(initial_ms=100, multiplier=2, max_ms=350, max_retries=4)
    assert [b.delay_ms(n) for n in (1, 2, 3, 4)] == [100, 200, 350, 350]
    assert b.allows(4) and not b.allows(5)
    with pytest.raises(ValueError):
        Backoff(multiplier=0.5)


def status_error(status: int) -> openai.APIStatusError:
    response = httpx2.Response(status, request=httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions"))
    return openai.APIStatusError(f"HTTP {status}", response=response, body=None)


@pytest.mark.parametrize(
    ("exc", "retry"),
    [
        (StreamIncomplete("ended before [DONE]"), True),
        (openai.APIConnectionError(request=httpx2.Request("POST", "http://127.0.0.1/")), True),
        (status_error(429), True),
        (status_error(503), True),
        (status_error(408), True),
        (status_error(400), False),
        (status_error(401), False),
        (status_error(404), False),
        (ValueError("a bug"), False),
    ],
)
def test_what_is_worth_reconnecting_for(exc, retry):
    assert is_retryable(exc) is retry


# --- chat: restart and say so ---------------------------------------------------------------


@pytest.fixture
async def on_scenario(mock_openai):
    """A factory of SDK clients bound to one scenario and this test's session."""
    clients: list[openai.AsyncOpenAI] = []

    def make(name: str) -> openai.AsyncOpenAI:
        clients.append(mock_openai.async_client(name, max_retries=0))
        return clients[-1]

    yield make
    for c in clients:
        await c.close()


async def test_a_dropped_chat_stream_restarts_and_yields_a_restart_marker(on_scenario):
    seen = []
    stream = ResilientStream.chat(
        on_scenario("connector-chat-drop-once"),
        backoff=FAST,
        on_reconnect=seen.append,
        model="gpt-4o",
        messages=MSG,
    )
    text = ""
    markers = []
    debugger = StreamEventDebugger()
    async for item in debugger.wrap(stream):
        if isinstance(item, StreamRestarted):
            markers.append(item)
            text = ""  # chat cannot resume: what came before is discarded
            continue
        ChatCompletionChunk.model_validate(item.model_dump())
        text += item.choices[0].delta.content or ""
    assert text == "Once upon a time there was a stream."
    assert [(m.retry, m.discarded_events) for m in markers] == [(1, 3)]
    assert debugger.report.counts["stream.restarted"] == 1
    assert [(r.kind, r.retry, r.delay_ms, r.starting_after) for r in seen] == [("restart", 1, 1, None)]
    assert "APIConnectionError" in seen[0].reason and "peer closed connection" in seen[0].reason


async def test_reconnects_stop_at_the_backoff_limit(on_scenario, mock_openai):
    stream = ResilientStream.chat(
        on_scenario("connector-chat-always-drops"),
        backoff=Backoff(initial_ms=1, max_ms=2, max_retries=2),
        model="gpt-4o",
        messages=MSG,
    )
    with pytest.raises(StreamGaveUp, match="stream failed after 2 reconnects"):
        async for _ in stream:
            pass
    assert [r.delay_ms for r in stream.reconnects] == [1, 2]
    assert [e["ended"] for e in mock_openai.journal()] == ["dropped"] * 3


async def test_a_dropped_background_response_stream_is_resumed_by_sequence_number(
    on_scenario, aclient, mock_openai
):
    params = {"model": "gpt-4.1", "input": "Tell me a story", "background": True}
    stream = ResilientStream.responses(on_scenario("connector-responses-drop-resume"), backoff=FAST, **params)
    events = [e async for e in stream]
    seqs = [e.sequence_number for e in events]
    assert seqs == list(range(len(events))) and events[-1].type == "response.completed"
    ((kind, after),) = [(r.kind, r.starting_after) for r in stream.reconnects]
    assert (kind, after) == ("resume", 6)
    created, resumed = mock_openai.journal()
    assert (created["ended"], resumed["endpoint"]) == ("dropped", "responses.retrieve")
    assert resumed["path"].endswith("/" + stream.response_id)
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    direct = await aclient.responses.create(**params, stream=True)
    assert text == "".join([e.delta async for e in direct if e.type == "response.output_text.delta"])


async def test_a_non_retryable_error_is_raised_at_once(aclient):
    stream = ResilientStream.chat(aclient, backoff=FAST, model="no-such-model", messages=MSG)
    with pytest.raises(openai.NotFoundError):
        async for _ in stream:
            pass
    assert stream.reconnects == []


async def test_a_healthy_stream_passes_through_unchanged(aclient):
    stream = ResilientStream.chat(aclient, backoff=FAST, model="gpt-4o", messages=MSG)
    items = [c async for c in stream]
    direct = [
        c async for c in await aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    ]
    assert [c.choices[0].delta.content for c in items] == [c.choices[0].delta.content for c in direct]
    assert stream.reconnects == [] and items[-1].choices[0].finish_reason == "stop"


# --- the pool -------------------------------------------------------------------------------


async def test_the_pool_bounds_concurrency_and_queues_without_polling():
    pool = StreamPool(max_concurrent=2)
    gates = [asyncio.Event() for _ in range(4)]
    started: list[int] = []

    def factory(i: int):
        async def open_stream():
            async def gen():
                started.append(i)
                await gates[i].wait()
                yield i

            return gen()

        return open_stream

    async def consume(i: int) -> list[int]:
        return [x async for x in pool.stream(f"s{i}", factory(i))]

    tasks = [asyncio.create_task(consume(i)) for i in range(4)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == [0, 1] and pool.active == 2
    gates[1].set()
    assert await tasks[1] == [1]
    for _ in range(5):
        await asyncio.sleep(0)
    assert started == [0, 1, 2] and pool.active_ids() == ["s0", "s2"]
    for g in gates:
        g.set()
    assert [await t for t in tasks] == [[0], [1], [2], [3]]
    assert pool.peak == 2 and pool.active == 0 and pool.opened == 4


async def test_a_consumer_that_stops_early_frees_its_slot(aclient):
    pool = StreamPool(max_concurrent=1)
    factory = lambda: aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)  # noqa: E731
    async with aclosing(pool.stream("first", factory)) as stream:
        async for _ in stream:
            assert pool.active == 1
            break
    assert pool.active == 0
    chunks = [c async for c in pool.stream("second", factory)]
    assert chunks[-1].choices[0].finish_reason == "stop"


async def test_sdk_streams_through_the_pool_all_complete(aclient):
    pool = StreamPool(max_concurrent=2)

    async def run(i: int) -> str:
        factory = lambda: aclient.chat.completions.create(  # noqa: E731
            model="gpt-4o", messages=[{"role": "user", "content": f"story {i}"}], stream=True
        )
        return "".join([c.choices[0].delta.content or "" async for c in pool.stream(f"s{i}", factory)])

    texts = await asyncio.gather(*(run(i) for i in range(5)))
    assert all(texts) and len(set(texts)) == 5
    assert pool.peak <= 2 and pool.opened == 5 and pool.active == 0


def test_pool_rejects_a_bad_size():
    with pytest.raises(ValueError, match="max_concurrent must be >= 1"):
        StreamPool(0)


# --- the debugger and metrics ----------------------------------------------------------------


class Ev:
    def __init__(self, type: str, **kw) -> None:
        self.type = type
        self.__dict__.update(kw)


async def test_debugger_counts_types_and_reports_gaps_over_the_threshold():
    clock = FakeClock()
    debugger = StreamEventDebugger(gap_threshold_ms=500, clock=clock)

    async def events():
        for kind, wait_s in [
            ("response.created", 0.01),
            ("response.output_text.delta", 0.1),
            ("response.output_text.delta", 0.8),
            ("error", 0.05),
        ]:
            clock.now += wait_s
            yield Ev(kind, message="boom")

    out = [e.type async for e in debugger.wrap(events())]
    report = debugger.report
    assert out == ["response.created", "response.output_text.delta", "response.output_text.delta", "error"]
    assert dict(report.counts) == {"response.created": 1, "response.output_text.delta": 2, "error": 1}
    assert [(g.before_event, g.event_type, round(g.ms)) for g in report.gaps] == [
        (2, "response.output_text.delta", 800)
    ]
    assert report.errors == ["error event: boom"]
    assert "response.output_text.delta: 2 events" in report.summary()


async def test_debugger_records_the_exception_that_ended_a_stream():
    debugger = StreamEventDebugger()

    async def broken():
        yield Ev("response.created")
        raise ConnectionResetError("peer went away")

    with pytest.raises(ConnectionResetError):
        async for _ in debugger.wrap(broken()):
            pass
    assert debugger.report.errors == ["ConnectionResetError: peer went away"]


async def test_debugger_on_a_real_chat_stream(aclient):
    debugger = StreamEventDebugger(gap_threshold_ms=30_000)
    stream = await aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    chunks = [c async for c in debugger.wrap(stream)]
    assert debugger.report.counts == {"chat.completion.chunk": len(chunks)}
    assert debugger.report.gaps == []


async def test_metrics_count_chunks_bytes_duration_and_throughput():
    clock = FakeClock()
    metrics = StreamMetrics(clock=clock)

    async def chunks():
        for text in ("abcd", "efgh", "ij"):
            clock.now += 0.5
            yield text

    assert [c async for c in metrics.wrap(chunks())] == ["abcd", "efgh", "ij"]
    snap = metrics.snapshot()
    assert (snap.chunks, snap.bytes, snap.duration_ms, snap.ttfc_ms) == (3, 10, 1500.0, 500.0)
    assert snap.bytes_per_s == pytest.approx(10 / 1.5) and snap.chunks_per_s == pytest.approx(2.0)
    assert snap.avg_chunk_bytes == pytest.approx(10 / 3)
    assert "chunks=3" in snap.format()


async def test_metrics_on_a_real_chat_stream_measure_the_json_payloads(aclient):
    metrics = StreamMetrics()
    stream = await aclient.chat.completions.create(model="gpt-4o", messages=MSG, stream=True)
    chunks = [c async for c in metrics.wrap(stream)]
    snap = metrics.snapshot()
    assert snap.chunks == len(chunks)
    assert snap.bytes == sum(len(c.model_dump_json(exclude_unset=True)) for c in chunks)
    assert snap.ttfc_ms is not None and 0 < snap.ttfc_ms <= snap.duration_ms
