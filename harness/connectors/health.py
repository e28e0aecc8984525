"""Health check of an OpenAI-compatible endpoint (seed 001).

Three steps, each with its own verdict: ``GET /models``, a non-streaming chat completion and a
streaming one. Failures carry the specific message for what went wrong (connection refused,
401, 404, a non-SSE reply, an empty stream). The check never switches models: it uses the model
it was given, or, without one, the first model ``/models`` lists.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import openai

from servekit.sse import SSEReader

CONNECT_FAILED = (
    "Failed to connect to OpenAI compatible endpoint. Please check your API URL and network connection."
)
INVALID_KEY = "Invalid API key for OpenAI compatible endpoint. Please check your credentials."
NOT_FOUND = "OpenAI compatible endpoint not found. Please verify your base URL."
INVALID_STREAM = "Invalid streaming format"
NO_STREAM_DATA = "No streaming data received"
STREAM_CUT = "Streaming response ended before data: [DONE]"
PROMPT = [{"role": "user", "content": "Say OK."}]

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"


@dataclass(frozen=True, slots=True)
class StepVerdict:
    step: str  # "models" | "chat" | "chat_stream"
    verdict: str  # PASS | FAIL | SKIP
    message: str
    detail: str = ""
    elapsed_ms: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict == PASS


@dataclass
class HealthReport:
    base_url: str
    model: str | None
    steps: list[StepVerdict] = field(default_factory=list)
    models: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(s.ok for s in self.steps)

    def step(self, name: str) -> StepVerdict:
        return next(s for s in self.steps if s.step == name)

    def format(self) -> str:
        lines = [f"OpenAI-compatible health check of {self.base_url} (model: {self.model or 'none'})"]
        for s in self.steps:
            line = f"  {s.verdict:<4}  {s.step:<12} {s.message}"
            if s.detail:
                line += f" [{s.detail}]"
            lines.append(line)
        lines.append("HEALTHY" if self.ok else "UNHEALTHY")
        return "\n".join(lines)


def explain(exc: BaseException, model: str | None = None) -> tuple[str, str]:
    """(message, detail) for a failed call: the specific sentence seed 001 asks for."""
    if isinstance(exc, openai.APITimeoutError):
        return "OpenAI compatible endpoint timed out.", str(exc)
    if isinstance(exc, openai.APIConnectionError):
        cause = exc.__cause__ or exc.__context__
        return CONNECT_FAILED, f"{type(cause).__name__}: {cause}" if cause else str(exc)
    if isinstance(exc, openai.APIStatusError):
        status = exc.status_code
        detail = f"Connection failed: {status}"
        if status == 401:
            return INVALID_KEY, detail
        if status == 404:
            code = _error_code(exc.body)
            if code == "model_not_found" and model:
                return (
                    f"Model '{model}' not found at the OpenAI compatible endpoint (models are "
                    "never switched automatically; pick one /models lists)."
                ), detail
            return NOT_FOUND, detail
        return f"OpenAI compatible endpoint answered HTTP {status}: {exc.message}", detail
    return f"Unexpected reply from OpenAI compatible endpoint: {type(exc).__name__}: {exc}", ""


def _error_code(body: Any) -> str | None:
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict):
            return err.get("code")
    return None


def check_sse_lines(content_type: str, lines: list[str]) -> tuple[str, str] | None:
    """Judge a streaming reply from its content type and lines; None when it is a good stream."""
    if "text/event-stream" not in content_type.lower():
        return INVALID_STREAM, f"content-type is {content_type or 'missing'}, expected text/event-stream"
    reader = SSEReader()
    frames = [f for line in lines for f in reader.feed(line.encode() + b"\n")]
    frames += reader.feed(b"\n")  # the end of the stream ends its last frame
    if reader.unknown:
        return INVALID_STREAM, f"line is not an SSE field: {reader.unknown[0][:80]!r}"
    data = [f.data.strip() for f in frames if not f.is_comment]
    if not data:
        return NO_STREAM_DATA, "the stream closed without any data: line"
    for payload in data:
        if payload == "[DONE]":
            continue
        try:
            chunk = json.loads(payload)
        except ValueError:
            return INVALID_STREAM, f"data is not JSON: {payload[:80]!r}"
        if not isinstance(chunk, dict) or "choices" not in chunk:
            return INVALID_STREAM, f"data is not a chat.completion.chunk: {payload[:80]!r}"
    if data[-1] != "[DONE]":
        return STREAM_CUT, f"{len(data)} data lines, none of them [DONE]"
    return None


async def _timed(
    name: str,
    action: Callable[[], Awaitable[tuple[str, str] | None]],
    model: str | None,
    ok_message: Callable[[], str],
) -> StepVerdict:
    t0 = time.perf_counter()
    try:
        problem = await action()
    except Exception as exc:  # every failure becomes a verdict, never a traceback
        message, detail = explain(exc, model)
        return StepVerdict(name, FAIL, message, detail, (time.perf_counter() - t0) * 1000)
    elapsed = (time.perf_counter() - t0) * 1000
    if problem is not None:
        return StepVerdict(name, FAIL, problem[0], problem[1], elapsed)
    return StepVerdict(name, PASS, ok_message(), "", elapsed)


async def check_openai_compatible(
    base_url: str,
    api_key: str,
    model: str | None = None,
    *,
    timeout_s: float = 15.0,
    client: openai.AsyncOpenAI | None = None,
) -> HealthReport:
    """Run the three steps against ``base_url`` and return their verdicts."""
    own = client is None
    client = client or openai.AsyncOpenAI(
        base_url=base_url, api_key=api_key, max_retries=0, timeout=timeout_s
    )
    report = HealthReport(base_url=base_url, model=model)
    try:

        async def models_step() -> None:
            page = await client.models.list()
            report.models = [m.id for m in page.data]

        report.steps.append(
            await _timed("models", models_step, None, lambda: f"/models lists {len(report.models)} models")
        )
        if report.model is None and report.models:
            report.model = report.models[0]
        chosen = report.model
        if chosen is None:
            why = "no model given and /models listed none to test with"
            report.steps += [StepVerdict("chat", SKIP, why), StepVerdict("chat_stream", SKIP, why)]
            return report

        async def chat_step() -> None:
            completion = await client.chat.completions.create(model=chosen, messages=PROMPT, max_tokens=16)
            if not completion.choices:
                raise ValueError("the completion has no choices")

        report.steps.append(await _timed("chat", chat_step, chosen, lambda: f"chat completion from {chosen}"))

        async def stream_step() -> tuple[str, str] | None:
            async with client.chat.completions.with_streaming_response.create(
                model=chosen, messages=PROMPT, max_tokens=16, stream=True
            ) as resp:
                content_type = resp.headers.get("content-type", "")
                if "text/event-stream" not in content_type.lower():
                    return check_sse_lines(content_type, [])
                lines: list[str] = []
                try:
                    async for line in resp.iter_lines():
                        lines.append(line)
                except Exception as exc:  # the connection broke mid-stream
                    return STREAM_CUT, f"connection lost after {len(lines)} lines ({type(exc).__name__})"
            return check_sse_lines(content_type, lines)

        report.steps.append(
            await _timed(
                "chat_stream", stream_step, chosen, lambda: f"streamed chat completion from {chosen}"
            )
        )
        return report
    finally:
        if own:
            await client.close()
