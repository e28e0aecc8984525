"""Many streams at once through the async SDK all complete."""

from __future__ import annotations

import asyncio


async def test_200_concurrent_streams_all_complete(aclient):
    async def one(i: int) -> tuple[str, str | None]:
        stream = await aclient.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": f"q{i}"}], stream=True
        )
        text, finish = "", None
        async for chunk in stream:
            if chunk.choices:
                text += chunk.choices[0].delta.content or ""
                finish = chunk.choices[0].finish_reason or finish
        return text, finish

    results = await asyncio.gather(*(one(i) for i in range(200)))
    assert len(results) == 200
    assert all(text and finish == "stop" for text, finish in results)
    assert len({text for text, _ in results}) > 100  # each request got its own content
