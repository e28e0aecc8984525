"""CORS from ``CORS_ORIGINS``: which headers a response carries for a given ``Origin``."""

from __future__ import annotations

ALLOW_METHODS = "GET, POST, OPTIONS"
ALLOW_HEADERS = "Authorization, Content-Type, Accept, X-Request-Id, X-Mock-Scenario, X-Mock-Session"
EXPOSE_HEADERS = "X-Request-Id"
MAX_AGE_S = "600"


def origin_allowed(origin: str | None, allowed: tuple[str, ...]) -> bool:
    return origin is not None and ("*" in allowed or origin.rstrip("/") in allowed)


def cors_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str]:
    """Headers for an actual request. A listed origin is echoed (credentials allowed); ``*`` in the
    list allows any origin without credentials; an unlisted origin gets nothing."""
    if "*" in allowed and (origin is None or origin.rstrip("/") not in allowed):
        return {"Access-Control-Allow-Origin": "*", "Access-Control-Expose-Headers": EXPOSE_HEADERS}
    if origin is None or not origin_allowed(origin, allowed):
        return {}
    return {
        "Access-Control-Allow-Origin": origin,
        "Access-Control-Allow-Credentials": "true",
        "Access-Control-Expose-Headers": EXPOSE_HEADERS,
        "Vary": "Origin",
    }


def preflight_headers(origin: str | None, allowed: tuple[str, ...]) -> dict[str, str] | None:
    """Headers for an OPTIONS preflight, or None when the origin is not allowed."""
    if not origin_allowed(origin, allowed):
        return None
    headers = cors_headers(origin, allowed)
    headers.update(
        {
            "Access-Control-Allow-Methods": ALLOW_METHODS,
            "Access-Control-Allow-Headers": ALLOW_HEADERS,
            "Access-Control-Max-Age": MAX_AGE_S,
        }
    )
    return headers
