"""``POST /v1/embeddings``: unit-length vectors, deterministic from (seed, model, input).

The body is the real API's ``{"object": "list", "data": [{"object": "embedding", "index",
"embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}``. ``encoding_format:
"base64"`` sends each vector as little-endian float32 bytes in base64 (what the SDKs ask for by
default and decode themselves); ``float`` (the API's default) sends the same float32 values as
numbers. ``dimensions`` shortens a text-embedding-3 vector as the real models do: the first
``dimensions`` values of the full vector, scaled back to unit length.
"""

from __future__ import annotations

import base64
import math
import struct
from typing import Any

from aiohttp import web

from .. import errors
from ..app_keys import CTX
from ..content import count_tokens, rng_for
from ..endpoints import EMBEDDINGS
from ..reply import Reply
from ..web_handling import check_model, plan, read_json, send
from . import params

# native sizes; the models that take ``dimensions`` (text-embedding-3 and later)
MODEL_DIMENSIONS = {
    "text-embedding-3-small": 1536,
    "text-embedding-3-large": 3072,
    "text-embedding-ada-002": 1536,
}
TAKES_DIMENSIONS = ("text-embedding-3-small", "text-embedding-3-large")
MAX_INPUTS = 2048
MAX_INPUT_TOKENS = 8192
MAX_REQUEST_TOKENS = 300_000
FIELDS = ("model", "input", "encoding_format", "dimensions", "user")


def _invalid_input() -> errors.ApiError:
    return errors.invalid_value(
        "input",
        "'$.input' is invalid. Please check the API reference: https://platform.openai.com/docs/api-reference.",
    )


def parse_inputs(value: Any) -> list[tuple[Any, int]]:
    """Each input as (the key its vector is drawn from, its token count); OpenAI's 400 naming
    ``input`` for anything else than a string, strings, token ids or lists of token ids."""
    if value is None:
        raise errors.missing_param("input")
    if isinstance(value, str):
        value = [value]
    elif not isinstance(value, list):
        raise errors.invalid_type("input", "a string or an array", value)
    elif not value:
        raise _invalid_input()
    elif all(_is_int(v) for v in value):
        value = [value]
    if len(value) > MAX_INPUTS:
        raise errors.invalid_value(
            "input",
            f"'$.input' is invalid: an array of at most {MAX_INPUTS} inputs is allowed, got {len(value)}.",
        )
    out: list[tuple[Any, int]] = []
    for item in value:
        if isinstance(item, str):
            if not item:
                raise _invalid_input()
            out.append((item, max(1, count_tokens(item))))
        elif isinstance(item, list) and item and all(_is_int(t) and t >= 0 for t in item):
            out.append((tuple(item), len(item)))
        else:
            raise _invalid_input()
    for _, tokens in out:
        if tokens > MAX_INPUT_TOKENS:
            raise errors.ApiError(
                400,
                f"This model's maximum context length is {MAX_INPUT_TOKENS} tokens, however you requested "
                f"{tokens} tokens ({tokens} in your prompt; 0 for the completion). Please reduce your "
                "prompt; or completion length.",
                param="input",
                code="context_length_exceeded",
            )
    total = sum(tokens for _, tokens in out)
    if total > MAX_REQUEST_TOKENS:
        raise errors.invalid_value(
            "input",
            f"Requested {total} tokens, max {MAX_REQUEST_TOKENS} tokens per request",
        )
    return out


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def vector(seed: int, model: str, key: Any, dims: int, size: int) -> list[float]:
    """The full ``dims``-long vector for (seed, model, key), cut to ``size`` and scaled to unit
    length, as float32 values (so the float and base64 answers carry the same numbers)."""
    raw = rng_for(seed, "embedding", model, key).randbytes(2 * dims)
    values = struct.unpack(f"<{dims}h", raw)[:size]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def encode(values: list[float], encoding: str) -> Any:
    packed = struct.pack(f"<{len(values)}f", *values)
    if encoding == "base64":
        return base64.b64encode(packed).decode("ascii")
    return list(struct.unpack(f"<{len(values)}f", packed))


async def create(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    model = params.required(body, "model", str)
    inputs = parse_inputs(body.get("input"))
    encoding = params.one_of(body, "encoding_format", ("float", "base64"), "float")
    dimensions = params.optional(body, "dimensions", int)
    params.optional(body, "user", str)
    for name in body:
        if name not in FIELDS:
            raise errors.unknown_param(name)
    check_model(request, model)
    native = MODEL_DIMENSIONS.get(model)
    if native is None:
        raise errors.invalid_value("model", f"The model `{model}` does not support embeddings.")
    if dimensions is not None:
        if model not in TAKES_DIMENSIONS:
            raise errors.ApiError(
                400, "This model does not support specifying dimensions.", param="dimensions"
            )
        if not 1 <= dimensions <= native:
            raise errors.invalid_value(
                "dimensions",
                f"Invalid 'dimensions': expected a value between 1 and {native}, but got {dimensions} instead.",
            )
    step = plan(request, EMBEDDINGS, False, model)
    seed = request[CTX].seed
    size = dimensions or native
    data = [
        {
            "object": "embedding",
            "index": i,
            "embedding": encode(vector(seed, model, key, native, size), encoding),
        }
        for i, (key, _) in enumerate(inputs)
    ]
    tokens = sum(t for _, t in inputs)
    reply_body = {
        "object": "list",
        "data": data,
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
    return await send(request, step, Reply(body=reply_body, model=model))


ROUTES = [("POST", "/embeddings", create)]
