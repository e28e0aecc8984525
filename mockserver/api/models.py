"""``GET /v1/models`` and ``GET /v1/models/{model}``."""

from __future__ import annotations

from aiohttp import web

from .. import errors
from ..app_keys import CONFIG
from ..endpoints import MODELS
from ..reply import Reply
from ..web_handling import plan, send

CREATED = 1_700_000_000  # a fixed date: model objects never change between runs


def model_object(model_id: str) -> dict:
    owner = "openai" if model_id.startswith(("dall-e", "gpt-image")) else "system"
    return {"id": model_id, "object": "model", "created": CREATED, "owned_by": owner}


async def list_models(request: web.Request) -> web.StreamResponse:
    step = plan(request, MODELS, False, None)
    data = [model_object(m) for m in request.app[CONFIG].models]
    return await send(request, step, Reply(body={"object": "list", "data": data}))


async def retrieve_model(request: web.Request) -> web.StreamResponse:
    model = request.match_info["model"]
    step = plan(request, MODELS, False, model)
    if model not in request.app[CONFIG].models:
        raise errors.model_not_found(model)
    return await send(request, step, Reply(body=model_object(model)))


ROUTES = [
    ("GET", "/models", list_models),
    ("GET", "/models/{model}", retrieve_model),
]
