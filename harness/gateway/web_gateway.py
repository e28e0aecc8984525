"""The gateway's aiohttp application: routes, the request-id/CORS middleware, the chat handler.

``POST /api/v1/chat`` follows docs/architecture.md: request id → auth → validation (400 before any
stream) → SSE opened and flushed → heartbeat → memory (raced) → upstream relay → telemetry.

Mock scenario selection through the gateway: the gateway passes its incoming ``X-Mock-Scenario``
and ``X-Mock-Session`` headers on to the upstream (``forward_mock_headers``), so a test or a load
run picks the mock's scenario and attempt counter per request. Pointing ``OPENAI_BASE_URL`` at
``http://HOST:PORT/s/<scenario>/v1`` selects one scenario for every request instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from . import telemetry
from .auth import AuthError, Principal, TokenCache
from .cors import cors_headers, preflight_headers
from .failures import INTERNAL_ERROR, Failure
from .logs import REQUEST_ID, gateway_logger, request_id_for
from .memory import Recall, build_messages, recall
from .relay import CallResult, ClientGone, relay
from .retry_policy import RetryPolicy
from .settings import GatewaySettings
from .store import GatewayStore
from .upstream import Upstream, UpstreamCall, forwarded_headers, open_chat_stream
from .validation import ValidationError, parse_chat_body
from .web_sse import ChatSink, SSEChannel

SETTINGS = web.AppKey("gateway_settings", GatewaySettings)
STORE = web.AppKey("gateway_store", GatewayStore)
UPSTREAM = web.AppKey("gateway_upstream", Upstream)
TOKENS = web.AppKey("gateway_tokens", TokenCache)
POLICY = web.AppKey("gateway_retry_policy", RetryPolicy)

RESPONSE_HEADERS = web.RequestKey("gateway_response_headers", dict)  # X-Request-Id and CORS headers
log = gateway_logger()


def json_error(
    status: int,
    message: str,
    *,
    type_: str,
    param: str | None = None,
    code: str | None = None,
    headers: dict[str, str] | None = None,
) -> web.Response:
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return web.json_response(body, status=status, headers=headers)


@web.middleware
async def gateway_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
):
    request_id = request_id_for(request.headers.get("X-Request-Id"))
    token = REQUEST_ID.set(request_id)
    allowed = request.app[SETTINGS].cors_origins
    origin = request.headers.get("Origin")
    extra = {"X-Request-Id": request_id, **cors_headers(origin, allowed)}
    request[RESPONSE_HEADERS] = extra
    try:
        if request.method == "OPTIONS":  # answered here for every path, before routing and auth
            return preflight(request_id, origin, allowed)
        try:
            response = await handler(request)
        except AuthError as exc:
            log.info("unauthorized: %s", exc.code)
            response = unauthorized(exc)
        except ValidationError as exc:
            log.info("invalid request: %s (%s)", exc.param, exc.code)
            response = json_error(
                400, exc.message, type_="invalid_request_error", param=exc.param, code=exc.code
            )
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            response = json_error(
                exc.status,
                f"{exc.reason}: {request.method} {request.path}",
                type_="invalid_request_error",
                code=exc.reason.lower().replace(" ", "_"),
            )
        if not response.prepared:
            response.headers.update(extra)
        return response
    finally:
        REQUEST_ID.reset(token)


def preflight(request_id: str, origin: str | None, allowed: tuple[str, ...]) -> web.Response:
    headers = preflight_headers(origin, allowed)
    if headers is None:
        log.info("CORS preflight refused for origin %s", origin)
        return json_error(
            403,
            f"Origin {origin!r} is not allowed (CORS_ORIGINS).",
            type_="cors_error",
            code="origin_not_allowed",
            headers={"X-Request-Id": request_id},
        )
    return web.Response(status=204, headers={**headers, "X-Request-Id": request_id})


def principal_of(request: web.Request) -> Principal:
    """The authenticated user, or :class:`AuthError` (answered 401 by the middleware)."""
    return request.app[TOKENS].authenticate(request.headers.get("Authorization"))


def unauthorized(exc: AuthError) -> web.Response:
    return json_error(
        401,
        exc.message,
        type_="authentication_error",
        code=exc.code,
        headers={"WWW-Authenticate": f'Bearer error="{exc.code}"'},
    )


# --- handlers -----------------------------------------------------------------------------------


async def health(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    return web.json_response({"status": "ok", "model": settings.model})


async def auth_ping(request: web.Request) -> web.Response:
    principal = principal_of(request)
    return web.json_response({"ok": True, "sub": principal.sub, "exp": principal.claims.get("exp")})


async def chat(request: web.Request) -> web.StreamResponse:
    app = request.app
    settings = app[SETTINGS]
    principal = principal_of(request)
    body = parse_chat_body(await request.read(), settings.max_message_chars)
    request_id = REQUEST_ID.get()
    t0 = time.perf_counter()
    channel = SSEChannel(request, request[RESPONSE_HEADERS], settings.heartbeat_ms / 1000)
    sink = ChatSink(channel, settings.model)
    memory = Recall()
    result = CallResult()
    outcome = "complete"
    try:
        await channel.open()
        if body.use_memory:
            memory = await recall(
                app[STORE],
                principal.sub,
                body.session_id,
                settings.memory_max_turns,
                settings.memory_timeout_ms / 1000,
            )
        call = UpstreamCall(
            model=settings.model,
            messages=build_messages(memory.turns, body.message),
            headers=forwarded_headers(request.headers, settings),
        )
        upstream = app[UPSTREAM]
        await relay(
            lambda retries: open_chat_stream(upstream, call, retries),
            sink,
            app[POLICY],
            settings.first_token_timeout_ms / 1000,
            result=result,
        )
        outcome = "error" if result.failure else "complete"
    except (ClientGone, ConnectionError):  # a write found the client gone
        outcome = "client_gone"
        log.info("client went away after %.0f ms; upstream call closed", (time.perf_counter() - t0) * 1000)
        return channel.response
    except asyncio.CancelledError:  # the server cancelled the handler: the client disconnected
        outcome = "client_gone"
        log.info("client went away after %.0f ms; upstream call cancelled", (time.perf_counter() - t0) * 1000)
        raise
    except Exception:  # a bug: logged with its traceback, reported in-band, never on the wire
        outcome = "error"
        log.exception("chat stream failed")
        await report_internal_error(sink, result)
    finally:
        await channel.stop_heartbeat()
        record(
            app[STORE], result, request_id, settings.model, principal.sub, body.session_id, outcome, memory
        )
        if outcome == "complete" and body.session_id:
            app[STORE].add_turns(
                principal.sub, body.session_id, [("user", body.message), ("assistant", result.text)]
            )
    # one line per request (a second one cost as much CPU as verifying the token)
    log.info(
        "chat completion finished: user=%s session=%s useMemory=%s chars=%d finish_reason=%s "
        "retries=%d ttft_ms=%s total_ms=%.0f",
        principal.sub,
        body.session_id,
        body.use_memory,
        len(body.message),
        result.finish_reason,
        result.provider_retry_count,
        None if result.ttft_ms is None else round(result.ttft_ms),
        result.total_ms,
    )
    await channel.close()
    return channel.response


async def report_internal_error(sink: ChatSink, result: CallResult) -> None:
    result.failure, result.finish_reason = Failure(INTERNAL_ERROR), "error"
    with contextlib.suppress(ClientGone):
        if not sink.channel.response.prepared:
            await sink.channel.open()
        await sink.error(result.failure)
        await sink.done("error", result.provider_retry_count)


def record(
    store: GatewayStore,
    result: CallResult,
    request_id: str,
    model: str,
    user: str,
    session_id: str | None,
    outcome: str,
    memory: Recall,
) -> None:
    """Queue the telemetry rows (never awaited: a cancelled request still leaves its row)."""
    store.add_event(
        telemetry.OPENAI_CALL,
        telemetry.call_payload(
            result,
            request_id=request_id,
            model=model,
            user=user,
            session_id=session_id,
            outcome=outcome,
            memory_turns=len(memory.turns),
            memory_ms=memory.elapsed_ms if memory.elapsed_ms else None,
        ),
    )
    error = telemetry.error_payload(result, request_id=request_id, model=model)
    if error is not None:
        store.add_event(telemetry.ERROR, error)


# --- the application --------------------------------------------------------------------------


def create_gateway_app(
    settings: GatewaySettings,
    *,
    store: GatewayStore | None = None,
    upstream: Upstream | None = None,
) -> web.Application:
    """The gateway app. ``store`` and ``upstream`` default to ones built from ``settings``; the
    app owns (and closes) the ones it builds."""
    settings.check()
    app = web.Application(
        middlewares=[gateway_middleware],
        client_max_size=1024 * 1024,
        # header lines up to 16 KiB reach the handler, so an oversized token gets the JSON 401
        # that names it rather than aiohttp's plain-text 400 (and a logged traceback)
        handler_args={"max_line_size": 16_384, "max_field_size": 16_384},
    )
    app[SETTINGS] = settings
    app[POLICY] = RetryPolicy.from_settings(settings)
    app[STORE] = store or GatewayStore(settings.telemetry_db)
    app[TOKENS] = TokenCache(
        settings.jwt_secret or "", settings.jwt_audience, max_ttl_s=settings.jwt_max_ttl_s
    )

    async def lifecycle(app: web.Application):
        # the request template comes from one in-memory SDK call: paid at start-up, not in the
        # first user's time to first token
        app[UPSTREAM] = upstream or await Upstream.start(settings)
        yield
        if upstream is None:
            await app[UPSTREAM].close()
        if store is None:
            app[STORE].close()

    app.cleanup_ctx.append(lifecycle)
    app.router.add_get("/health", health)
    app.router.add_get("/api/v1/auth/ping", auth_ping)
    app.router.add_post("/api/v1/chat", chat)
    return app
