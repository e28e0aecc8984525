"""The one error-body builder: ``{"error": {"message", "type", "param", "code"}}``.

Messages and codes are the ones OpenAI's API sends, so an SDK's typed exception and a user's
log line read the same against the mock as against the real thing.
"""

from __future__ import annotations

from typing import Any

OPENAI_DOCS_KEYS = "https://platform.openai.com/account/api-keys"


def error_body(
    message: str, type: str = "invalid_request_error", param: str | None = None, code: str | None = None
) -> dict[str, Any]:
    return {"error": {"message": message, "type": type, "param": param, "code": code}}


class ApiError(Exception):
    """Raised by a handler to answer with an OpenAI-shaped error; caught by the app."""

    def __init__(
        self,
        status: int,
        message: str,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = error_body(message, type, param, code)
        self.headers = dict(headers or {})


# --- the errors the real API gives, by name -------------------------------------------------


def missing_api_key() -> ApiError:
    """No key at all: the real API's long message, and no ``code`` (``invalid_api_key`` is for a
    key that is present and wrong)."""
    return ApiError(
        401,
        "You didn't provide an API key. You need to provide your API key in an "
        "Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY), "
        "or as the password field (with blank username) if you're accessing the API from "
        "your browser and are prompted for a username and password. "
        f"You can obtain an API key from {OPENAI_DOCS_KEYS}.",
    )


def mask_key(key: str) -> str:
    """A key as the real API shows it back: the first 8 characters, a star for each hidden one,
    the last 4 (``sk-proj-****…WIcA``); a key too short to hide anything is shown as it came."""
    hidden = len(key) - 12
    return key if hidden < 1 else key[:8] + "*" * hidden + key[-4:]


def invalid_api_key(key: str) -> ApiError:
    return ApiError(
        401,
        f"Incorrect API key provided: {mask_key(key)}. You can find your API key at {OPENAI_DOCS_KEYS}.",
        code="invalid_api_key",
    )


def model_not_found(model: str) -> ApiError:
    return ApiError(
        404, f"The model `{model}` does not exist or you do not have access to it.", code="model_not_found"
    )


def responses_model_not_found(model: str) -> ApiError:
    """The Responses API answers an unknown model with a 400 naming ``model`` (Chat Completions
    and ``GET /v1/models/{id}`` answer 404)."""
    return ApiError(
        400, f"The requested model '{model}' does not exist.", param="model", code="model_not_found"
    )


def not_found(what: str, ident: str, param: str | None = None) -> ApiError:
    return ApiError(404, f"No {what} found with id '{ident}'.", param=param, code=None)


def invalid_json() -> ApiError:
    return ApiError(
        400,
        "We could not parse the JSON body of your request. (HINT: This likely means"
        " you aren't using your HTTP library correctly. The OpenAI API expects a JSON "
        "payload, but what was sent was not valid JSON.)",
    )


def missing_param(param: str) -> ApiError:
    return ApiError(
        400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter"
    )


def invalid_type(param: str, expected: str, got: Any) -> ApiError:
    return ApiError(
        400,
        f"Invalid type for '{param}': expected {expected}, but got {describe_type(got)} instead.",
        param=param,
        code="invalid_type",
    )


def invalid_value(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param, code="invalid_value")


def unknown_param(param: str) -> ApiError:
    return ApiError(
        400, f"Unrecognized request argument supplied: {param}", param=param, code="unknown_parameter"
    )


def rate_limited(
    model: str,
    kind: str = "requests",
    limit: int = 0,
    used: int = 0,
    retry_s: float = 1.0,
    requested: int = 1,
) -> ApiError:
    unit = "requests per min (RPM)" if kind == "requests" else "tokens per min (TPM)"
    return ApiError(
        429,
        f"Rate limit reached for {model} in organization org-mock on {unit}: "
        f"Limit {limit}, Used {used}, Requested {requested}. Please try again in {retry_s:g}s. "
        "Visit https://platform.openai.com/account/rate-limits to learn more.",
        type=kind if kind in ("requests", "tokens") else "requests",
        code="rate_limit_exceeded",
    )


# Default bodies for statuses a scenario asks for without giving a message.
STATUS_DEFAULTS: dict[int, tuple[str, str, str | None]] = {
    400: ("Bad request.", "invalid_request_error", None),
    401: ("Incorrect API key provided.", "invalid_request_error", "invalid_api_key"),
    403: ("You are not allowed to sample from this model", "invalid_request_error", None),
    404: (
        "The model does not exist or you do not have access to it.",
        "invalid_request_error",
        "model_not_found",
    ),
    408: ("Request timed out.", "timeout", None),
    409: ("The request conflicted with another request.", "invalid_request_error", None),
    429: (
        "Rate limit reached for requests. Please try again in 1s. Visit "
        "https://platform.openai.com/account/rate-limits to learn more.",
        "requests",
        "rate_limit_exceeded",
    ),
    500: (
        "The server had an error while processing your request. Sorry about that!",
        "server_error",
        "server_error",
    ),
    502: ("Bad gateway.", "server_error", None),
    503: ("The engine is currently overloaded, please try again later.", "server_error", None),
    504: ("Gateway timeout.", "server_error", None),
}


def for_status(
    status: int, message: str | None = None, code: str | None = None, type: str | None = None
) -> dict[str, Any]:
    d_msg, d_type, d_code = STATUS_DEFAULTS.get(
        status, ("The server had an error processing your request.", "server_error", None)
    )
    return error_body(message or d_msg, type or d_type, None, code if code is not None else d_code)


def describe_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --- what a malformed or oversized request gets (never a 500) ---------------------------------


def request_too_large(limit: int) -> ApiError:
    return ApiError(
        413,
        f"The request body is too large: at most {limit // (1024 * 1024)} MB is accepted.",
        code="request_too_large",
    )


def invalid_multipart(detail: str) -> ApiError:
    return ApiError(400, f"Could not parse the multipart/form-data body of your request: {detail}.")


def server_error() -> ApiError:
    """A bug of the mock's own, answered the way the real API answers its own (and logged)."""
    return ApiError(
        500,
        "The server had an error while processing your request. Sorry about that!",
        type="server_error",
    )
