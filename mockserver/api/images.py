"""``POST /v1/images/generations`` (JSON) and ``POST /v1/images/edits`` (multipart/form-data).

Non-streaming replies are an ``ImagesResponse``: ``created``, ``data: [{"b64_json"}]`` and, for
the GPT image models, the ``background``, ``output_format``, ``quality`` and ``size`` that were
used (``auto`` resolved) and ``usage``. With ``stream: true`` the reply is named SSE events:
``partial_images`` ``image_generation.partial_image`` events (``partial_image_index`` from 0),
then ``image_generation.completed`` with ``usage`` (``image_edit.*`` for edits); each one carries
``type``, ``b64_json``, ``created_at``, ``size``, ``quality``, ``background`` and
``output_format``. Images are real PNG, JPEG or WebP files (as ``output_format`` asks) from
:mod:`mockserver.picture`, deterministic from the seed and the request; the partials progress
towards the final image.

Where the real API is richer than a mock needs to be, these choices hold:

- A request without ``model`` uses ``gpt-image-1`` (the model streaming and partial images need).
- DALL·E models answer ``response_format: "url"`` (their default) with a ``data:image/png`` URL,
  since the mock hosts no files; ``b64_json`` works as for the GPT image models.
- ``output_compression`` is checked (0-100) but changes nothing: the pictures are flat cells
  that every format encodes exactly.
- With ``stream: true`` and ``n > 1`` the images are streamed one after another, each with its
  own partial images and its own ``completed`` event (whose usage is that image's share).
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from openai.types.image_generate_params import ImageGenerateParamsNonStreaming, ImageGenerateParamsStreaming

from .. import errors, picture, png
from ..app_keys import CLOCK, CTX
from ..content import count_tokens
from ..endpoints import IMAGES_EDITS, IMAGES_GENERATIONS
from ..reply import Reply, StreamEvent
from ..scenario.specs import ResponseSpec
from ..web_handling import check_model, plan, read_json, send
from . import params, request_types

GENERATIONS, EDITS = IMAGES_GENERATIONS, IMAGES_EDITS
EVENT_PREFIX = {GENERATIONS: "image_generation", EDITS: "image_edit"}
DEFAULT_MODEL = "gpt-image-1"

GPT_IMAGE, DALL_E_2, DALL_E_3 = "gpt-image", "dall-e-2", "dall-e-3"
SIZES = {
    GPT_IMAGE: ("1024x1024", "1536x1024", "1024x1536", "auto"),
    DALL_E_2: ("256x256", "512x512", "1024x1024"),
    DALL_E_3: ("1024x1024", "1792x1024", "1024x1792"),
}
QUALITIES = {
    GPT_IMAGE: ("low", "medium", "high", "auto"),
    DALL_E_2: ("standard", "auto"),
    DALL_E_3: ("standard", "hd", "auto"),
}
BACKGROUNDS = ("transparent", "opaque", "auto")
OUTPUT_FORMATS = ("png", "jpeg", "webp")
MAX_INPUT_IMAGES = 16
# Output tokens per image of the GPT image models, by quality and size (OpenAI's price table).
OUTPUT_TOKENS = {
    "low": {"1024x1024": 272, "1024x1536": 408, "1536x1024": 400},
    "medium": {"1024x1024": 1056, "1024x1536": 1584, "1536x1024": 1568},
    "high": {"1024x1024": 4160, "1024x1536": 6240, "1536x1024": 6208},
}
INPUT_IMAGE_TOKENS = 323  # input tokens an edit's image costs, each
GPT_ONLY = (
    "background",
    "output_format",
    "output_compression",
    "moderation",
    "partial_images",
    "input_fidelity",
)


def family(model: str) -> str:
    return model if model in (DALL_E_2, DALL_E_3) else GPT_IMAGE


# --- parsing ---------------------------------------------------------------------------------


@dataclass(slots=True)
class ImageRequest:
    endpoint: str
    model: str
    prompt: str
    n: int
    size: str  # as asked ("auto" allowed)
    quality: str
    background: str
    output_format: str
    stream: bool
    partial_images: int
    response_format: str
    images: list[bytes] = field(default_factory=list)  # an edit's input images
    mask: bytes | None = None

    @property
    def gpt(self) -> bool:
        return family(self.model) == GPT_IMAGE

    @property
    def resolved_size(self) -> str:
        return picture.AUTO_SIZE if self.size == "auto" else self.size

    @property
    def resolved_quality(self) -> str:
        if not self.gpt:
            return self.quality if self.quality != "auto" else "standard"
        return "high" if self.quality == "auto" else self.quality

    @property
    def resolved_background(self) -> str:
        return "opaque" if self.background == "auto" else self.background


def parse_request(
    body: dict[str, Any], endpoint: str, images: list[bytes] | None = None, mask: bytes | None = None
) -> ImageRequest:
    """Validate like the real endpoint; every failure names the offending ``param``."""
    prompt = params.required(body, "prompt", str)
    if not prompt.strip():
        raise errors.invalid_value(
            "prompt",
            "Invalid 'prompt': empty string. Expected a string with "
            "minimum length 1, but got an empty string instead.",
        )
    model = params.optional(body, "model", str, DEFAULT_MODEL)
    fam = family(model)
    if endpoint == EDITS and fam == DALL_E_3:
        raise errors.invalid_value(
            "model", "Invalid value: 'dall-e-3'. Image edits support 'dall-e-2' and the GPT image models."
        )
    if fam != GPT_IMAGE:
        for name in GPT_ONLY:
            if body.get(name) is not None:
                raise errors.unknown_param(name)
    n = params.number_in(body, "n", 1, 10, default=1, integer=True)
    if fam == DALL_E_3 and n != 1:
        raise errors.invalid_value("n", "Invalid 'n': dall-e-3 supports only n=1.")
    size = params.one_of(body, "size", SIZES[fam], default="auto" if fam == GPT_IMAGE else "1024x1024")
    quality = params.one_of(body, "quality", QUALITIES[fam], default="auto")
    background = params.one_of(body, "background", BACKGROUNDS, default="auto")
    output_format = params.one_of(body, "output_format", OUTPUT_FORMATS, default="png")
    if background == "transparent" and output_format == "jpeg":
        raise errors.invalid_value(
            "background",
            "Transparent background is not supported for the 'jpeg' output format. Use 'png' or 'webp'.",
        )
    params.number_in(body, "output_compression", 0, 100, integer=True)
    params.one_of(body, "moderation", ("low", "auto"))
    params.one_of(body, "input_fidelity", ("high", "low"))
    params.one_of(body, "style", ("vivid", "natural"))
    response_format = params.one_of(
        body, "response_format", ("url", "b64_json"), default="b64_json" if fam == GPT_IMAGE else "url"
    )
    if fam == GPT_IMAGE and response_format == "url":
        raise errors.invalid_value(
            "response_format",
            "Invalid value: 'url'. The GPT image models "
            "always return base64-encoded images; use 'b64_json' or omit it.",
        )
    stream = params.optional(body, "stream", bool, False)
    if stream and fam != GPT_IMAGE:
        raise errors.invalid_value(
            "stream",
            f"Streaming is not supported for model '{model}'; it is available for the GPT image models.",
        )
    partial_images = params.number_in(body, "partial_images", 0, 3, default=0, integer=True)
    images = list(images or [])
    if endpoint == EDITS:
        _check_inputs(images, mask, fam)
    return ImageRequest(
        endpoint=endpoint,
        model=model,
        prompt=prompt,
        n=n,
        size=size,
        quality=quality,
        background=background,
        output_format=output_format,
        stream=stream,
        partial_images=partial_images,
        response_format=response_format,
        images=images,
        mask=mask,
    )


def sniff_format(data: bytes) -> str | None:
    """``png``, ``jpeg`` or ``webp`` from an image file's magic bytes; None for anything else."""
    if data.startswith(png.SIGNATURE):
        return "png"
    if data.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    return None


def _check_inputs(images: list[bytes], mask: bytes | None, fam: str) -> None:
    if not images:
        raise errors.missing_param("image")
    limit = 1 if fam == DALL_E_2 else MAX_INPUT_IMAGES
    if len(images) > limit:
        raise errors.invalid_value(
            "image",
            f"Invalid 'image': too many images. Expected at most {limit}, but got {len(images)} instead.",
        )
    allowed = ("png",) if fam == DALL_E_2 else ("png", "jpeg", "webp")
    for i, data in enumerate(images):
        if sniff_format(data) not in allowed:
            param = "image" if len(images) == 1 else f"image[{i}]"
            kinds = ", ".join(f"'image/{a}'" for a in allowed)
            raise errors.invalid_value(
                param,
                f"Invalid file '{param}': unsupported image format. Supported file formats are {kinds}.",
            )
    if mask is not None and sniff_format(mask) != "png":
        raise errors.invalid_value(
            "mask", "Invalid file 'mask': the mask must be a PNG image with an alpha channel."
        )


def form_body(fields: dict[str, str]) -> dict[str, Any]:
    """A multipart form's text fields, typed the way the JSON endpoint receives them."""
    body: dict[str, Any] = dict(fields)
    for name in ("n", "partial_images", "output_compression"):
        if name in body:
            text = body[name].strip()
            if not text.lstrip("-").isdigit():
                raise errors.invalid_type(name, "an integer", text)
            if len(text) > 9:  # int() refuses 4,300+ digits, and no such count makes sense
                raise errors.invalid_value(name, f"Invalid '{name}': integer out of range, got {text[:12]}….")
            body[name] = int(text)
    if "stream" in body:
        text = body["stream"].strip().lower()
        if text not in ("true", "false"):
            raise errors.invalid_type("stream", "a boolean", text)
        body["stream"] = text == "true"
    return body


async def read_form(request: web.Request) -> tuple[dict[str, str], list[bytes], bytes | None]:
    """Text fields, the ``image`` / ``image[]`` files in order, and the ``mask`` of a multipart body."""
    if request.content_type != "multipart/form-data":
        raise errors.ApiError(
            400,
            f"Invalid Content-Type header ({request.content_type or 'none'}), expected multipart/form-data.",
        )
    fields: dict[str, str] = {}
    images: list[bytes] = []
    mask: bytes | None = None
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            name = part.name or ""
            if not name.isprintable():
                raise errors.invalid_multipart(f"a part's name holds a control character ({name!r})")
            if name == "image" or (name.startswith("image[") and name.endswith("]")):  # image[], image[0]
                images.append(bytes(await part.read()))
            elif name == "mask":
                mask = bytes(await part.read())
            elif name:
                raw = bytes(await part.read())
                try:
                    fields[name] = raw.decode(part.get_charset("utf-8"))
                except (UnicodeDecodeError, LookupError):
                    raise errors.invalid_value(
                        name, f"Invalid '{name}': the text is not valid UTF-8."
                    ) from None
    except errors.ApiError:
        raise
    except (ValueError, HttpProcessingError) as exc:  # no or a wrong boundary, a cut body, a bad header
        raise errors.invalid_multipart(str(exc).strip() or type(exc).__name__) from None
    return fields, images, mask


# --- pure builders ---------------------------------------------------------------------------


def image_key(req: ImageRequest, index: int) -> str:
    """What makes an image what it is: the request's content (and its inputs, for an edit)."""
    digest = hashlib.sha256()
    for data in (*req.images, req.mask or b""):
        digest.update(len(data).to_bytes(8, "big") + data)
    inputs = digest.hexdigest()[:16]
    return f"{req.endpoint}|{req.model}|{req.prompt}|{req.resolved_size}|{inputs}|{index}"


def render(req: ImageRequest, seed: int, index: int, progress: float = 1.0) -> str:
    return picture.render_b64(
        seed, image_key(req, index), req.resolved_size, progress, req.output_format, req.resolved_background
    )


def usage_of(req: ImageRequest, images: int, details: bool = True) -> dict[str, Any]:
    text_tokens = count_tokens(req.prompt)
    image_tokens = INPUT_IMAGE_TOKENS * len(req.images)
    per_image = OUTPUT_TOKENS[req.resolved_quality].get(req.resolved_size, 0)
    output = per_image * images
    usage: dict[str, Any] = {
        "input_tokens": text_tokens + image_tokens,
        "output_tokens": output,
        "total_tokens": text_tokens + image_tokens + output,
        "input_tokens_details": {"text_tokens": text_tokens, "image_tokens": image_tokens},
    }
    if details:
        usage["output_tokens_details"] = {"image_tokens": output, "text_tokens": 0}
    return usage


def response_body(req: ImageRequest, seed: int, created: int) -> dict[str, Any]:
    """The non-streaming ``ImagesResponse``."""
    data = []
    for i in range(req.n):
        b64 = render(req, seed, i)
        item: dict[str, Any] = (
            {"b64_json": b64}
            if req.response_format == "b64_json"
            else {"url": "data:image/png;base64," + b64}
        )
        if family(req.model) == DALL_E_3:
            item["revised_prompt"] = req.prompt
        data.append(item)
    body: dict[str, Any] = {"created": created, "data": data}
    if req.gpt:
        body.update(
            background=req.resolved_background,
            output_format=picture.encoded_format(req.output_format),
            quality=req.resolved_quality,
            size=req.resolved_size,
            usage=usage_of(req, req.n),
        )
    return body


def stream_events(req: ImageRequest, spec: ResponseSpec, seed: int, created: int) -> list[StreamEvent]:
    """Per image: ``partial_images`` partial-image events, then its completed event."""
    prefix = EVENT_PREFIX[req.endpoint]
    common = {
        "created_at": created,
        "size": req.resolved_size,
        "quality": req.resolved_quality,
        "background": req.resolved_background,
        "output_format": picture.encoded_format(req.output_format),
    }
    events: list[StreamEvent] = []

    def add(kind: str, data: dict[str, Any], terminal: bool = False) -> None:
        delay = spec.ttft_ms if not events else spec.inter_token_ms
        events.append(
            StreamEvent(data, event=kind, type=kind, delay_ms=delay, content=True, terminal=terminal)
        )

    for i in range(req.n):
        steps = req.partial_images
        for k in range(steps):
            kind = f"{prefix}.partial_image"
            add(
                kind,
                {
                    "type": kind,
                    "b64_json": render(req, seed, i, (k + 1) / (steps + 1)),
                    **common,
                    "partial_image_index": k,
                },
            )
        kind = f"{prefix}.completed"
        usage = usage_of(req, 1, details=False)
        add(
            kind,
            {"type": kind, "b64_json": render(req, seed, i), **common, "usage": usage},
            terminal=i == req.n - 1,
        )
    return events


# --- the handlers ----------------------------------------------------------------------------


def build_reply(req: ImageRequest, spec: ResponseSpec, seed: int, created: int) -> Reply:
    """The whole reply, images included: events when streaming, else one ``ImagesResponse``."""
    if req.stream:
        return Reply(events=stream_events(req, spec, seed, created), model=req.model)
    delay = spec.ttft_ms + spec.inter_token_ms * (req.n - 1)
    return Reply(body=response_body(req, seed, created), delay_ms=delay, model=req.model)


async def _answer(request: web.Request, req: ImageRequest) -> web.StreamResponse:
    check_model(request, req.model)
    step = plan(request, req.endpoint, req.stream, req.model)
    created = int(request.app[CLOCK].wall())
    # Encoding up to n x (partial_images + 1) images takes a while: off the event loop, so the
    # other streams the mock is serving keep their timing.
    reply = await asyncio.to_thread(build_reply, req, step.response, request[CTX].seed, created)
    return await send(request, step, reply)


async def generate(request: web.Request) -> web.StreamResponse:
    body = await read_json(request)
    req = parse_request(body, GENERATIONS)
    request_types.check(body, ImageGenerateParamsStreaming if req.stream else ImageGenerateParamsNonStreaming)
    return await _answer(request, req)


async def edit(request: web.Request) -> web.StreamResponse:
    fields, images, mask = await read_form(request)
    return await _answer(request, parse_request(form_body(fields), EDITS, images, mask))


ROUTES = [("POST", "/images/generations", generate), ("POST", "/images/edits", edit)]
