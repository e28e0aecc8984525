"""``useMemory``: earlier turns of the session go upstream with the new message, read from the
gateway's SQLite database and raced against MEMORY_TIMEOUT_MS so a slow store never blocks."""

from __future__ import annotations

import asyncio
import time

from gateway_fixtures import *  # noqa: F403
from gateway_fixtures import auth, chat, gateway_events

from harness.gateway.memory import build_messages, recall
from harness.gateway.store import GatewayStore
from harness.gateway.web_gateway import STORE
from mockserver.content import count_tokens

SESSION = "session-20250819-143022-a1b2"


def prompt_tokens(*contents: str) -> int:
    """How the upstream (the mock, like OpenAI) counts a chat prompt."""
    return 3 + sum(3 + count_tokens(c) for c in contents)


def test_build_messages_puts_history_first():
    history = [("user", "Hi"), ("assistant", "Hello!")]
    assert build_messages(history, "And now?") == [
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "And now?"},
    ]


async def test_recall_keeps_the_latest_turns_in_order():
    store = GatewayStore(":memory:")
    try:
        store.add_turns(
            "u", SESSION, [("user", f"q{i}") if i % 2 == 0 else ("assistant", f"a{i}") for i in range(6)]
        )
        got = await recall(store, "u", SESSION, max_turns=3, timeout_s=1)
        assert got.turns == [("assistant", "a3"), ("user", "q4"), ("assistant", "a5")]
        assert (await recall(store, "someone-else", SESSION, 10, 1)).turns == []
        assert (await recall(store, "u", None, 10, 1)).turns == []
    finally:
        store.close()


async def test_second_turn_carries_the_first(gateway_factory, mock_openai):
    gw = gateway_factory()
    first = await chat(
        gw.url, {"message": "What is SSE?", "sessionId": SESSION}, auth(session=mock_openai.session)
    )
    second = await chat(
        gw.url,
        {"message": "What did we discuss before?", "sessionId": SESSION, "useMemory": True},
        auth(session=mock_openai.session),
    )
    assert second.of("usage")[0].data["tokens_in"] == prompt_tokens(
        "What is SSE?", first.text, "What did we discuss before?"
    )
    without = await chat(
        gw.url,
        {"message": "What did we discuss before?", "sessionId": SESSION},
        auth(session=mock_openai.session),
    )
    assert without.of("usage")[0].data["tokens_in"] == prompt_tokens("What did we discuss before?")
    calls = [e["payload"] for e in gateway_events(gw, "openai_call")]
    assert [c["memory_turns"] for c in calls] == [0, 2, 0]


async def test_memory_is_per_user(gateway_factory, mock_openai):
    gw = gateway_factory()
    await chat(
        gw.url,
        {"message": "my secret plan", "sessionId": SESSION},
        auth(sub="alice", session=mock_openai.session),
    )
    other = await chat(
        gw.url,
        {"message": "what was said?", "sessionId": SESSION, "useMemory": True},
        auth(sub="mallory", session=mock_openai.session),
    )
    assert other.of("usage")[0].data["tokens_in"] == prompt_tokens("what was said?")


async def test_failed_turns_are_not_remembered(gateway_factory, mock_openai):
    gw = gateway_factory()
    failed = await chat(
        gw.url,
        {"message": "doomed", "sessionId": SESSION},
        auth(scenario="gateway-three-500s", session=mock_openai.session),
    )
    assert failed.names == ["error", "done"]
    later = await chat(
        gw.url,
        {"message": "again", "sessionId": SESSION, "useMemory": True},
        auth(session=mock_openai.session),
    )
    assert later.of("usage")[0].data["tokens_in"] == prompt_tokens("again")


async def test_a_slow_store_never_blocks_the_answer(gateway_factory, mock_openai):
    gw = gateway_factory(memory_timeout_ms=150)
    store = gw.app[STORE]
    store.add_turns("test-user", SESSION, [("user", "earlier"), ("assistant", "answer")]).result()

    async def slow_turns(*args):
        await asyncio.sleep(3)
        return [("user", "too late")]

    store.recent_turns = slow_turns  # type: ignore[method-assign]
    t0 = time.perf_counter()
    answer = await chat(
        gw.url,
        {"message": "quick", "sessionId": SESSION, "useMemory": True},
        auth(session=mock_openai.session),
    )
    elapsed = time.perf_counter() - t0
    assert answer.names[-1] == "done" and answer.of("done")[0].data["finish_reason"] == "stop"
    assert answer.of("usage")[0].data["tokens_in"] == prompt_tokens("quick")
    assert 0.15 <= elapsed < 1.5
    [call] = [e["payload"] for e in gateway_events(gw, "openai_call")]
    # the loop's timer fires on its own millisecond clock: up to ~1 ms before perf_counter says
    assert call["memory_turns"] == 0 and call["memory_ms"] >= 145
