"""``stack.drive: health``: the OpenAI-compatible health check (seed 001) against a base URL.

``stack.input``: ``base_url`` (``{mock}`` is the mock's root URL, ``{closed_port}`` a loopback
port nothing listens on; default the mock's ``/v1``), ``model``, ``api_key``. Facts under
``health``: ok, model (the one it tested: never switched), and per step (models, chat,
chat_stream) its verdict, message and detail.
"""

from __future__ import annotations

from harness.connectors.health import check_openai_compatible

from ..context import RunContext, StackRun


async def run(ctx: RunContext) -> StackRun:
    inp = ctx.input
    base_url = ctx.url(inp.get("base_url"))
    timeout_s = ctx.real_s(inp.get("timeout_ms", 60_000))
    report = await check_openai_compatible(
        base_url, inp.get("api_key", "sk-repro"), inp.get("model"), timeout_s=timeout_s
    )
    steps = {s.step: {"verdict": s.verdict, "message": s.message, "detail": s.detail} for s in report.steps}
    facts = {"ok": report.ok, "model": report.model, **steps}
    return StackRun({"health": facts}, report.format().splitlines())
