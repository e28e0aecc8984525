"""The reference SSE chat gateway of seed 004: ``POST /api/v1/chat`` streaming seed 004's events.

Modules: :mod:`.settings` (environment), :mod:`.auth` (HS256 JWT), :mod:`.validation` (the body),
:mod:`.retry_policy` and :mod:`.failures` (policy), :mod:`.upstream` (the SDK call),
:mod:`.relay` (one turn, retries before the first token), :mod:`.memory`, :mod:`.store` and
:mod:`.telemetry` (SQLite), :mod:`.web_sse` and :mod:`.web_gateway` (transport),
:mod:`.runner` (in-process on a free port).

A test or a load run selects the mock's scenario through the gateway with the ``X-Mock-Scenario``
and ``X-Mock-Session`` request headers: the gateway forwards both to the upstream as they are.
"""
