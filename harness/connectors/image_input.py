"""Image input normalisation for img2img jobs: whatever the job carries becomes a data URL.

Accepted: a ``data:image/...;base64,`` URL (kept as is), raw base64 of a PNG, JPEG or WebP
(the MIME type is sniffed from the magic bytes), and an ``http(s)`` URL (fetched with a size
and a time limit). Refused with an ``ImageInputError`` whose message starts with
``Image conversion failed:``: an unresolved template variable such as ``{{image}}``, any other
URL scheme (``file:``, ``ftp:`` ...), and anything else.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass

import aiohttp

PREFIX = "Image conversion failed: "
TEMPLATE = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.-]*):")
DATA_URL = re.compile(r"^data:(image/[a-zA-Z0-9.+-]+);base64,(.*)$", re.DOTALL)
BASE64 = re.compile(r"^[A-Za-z0-9+/_-]+={0,2}$")
MIN_BASE64_CHARS = 16  # shorter strings are words, not images


class ImageInputError(ValueError):
    """The job's image could not be turned into image data; the message says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(PREFIX + reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Bounds for fetching an image URL."""

    max_bytes: int = 20 * 1024 * 1024
    timeout_s: float = 10.0
    max_redirects: int = 3


@dataclass(frozen=True, slots=True)
class ImageData:
    """A normalised image: the data URL to send, and its decoded bytes and MIME type."""

    data_url: str
    mime: str
    data: bytes

    @property
    def extension(self) -> str:
        return {"image/jpeg": "jpg"}.get(self.mime, self.mime.split("/")[-1])


def sniff_mime(data: bytes) -> str | None:
    """The image type from its magic bytes: PNG, JPEG or WebP; None for anything else."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def to_data_url(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def image_from_bytes(data: bytes, origin: str) -> ImageData:
    mime = sniff_mime(data)
    if mime is None:
        raise ImageInputError(f"{origin} is not a PNG, JPEG or WebP image")
    return ImageData(to_data_url(data, mime), mime, data)


def _b64decode(text: str) -> bytes:
    compact = re.sub(r"\s+", "", text)
    if not BASE64.match(compact):
        raise binascii.Error("not base64")
    compact += "=" * (-len(compact) % 4)
    altchars = b"-_" if ("-" in compact or "_" in compact) else None
    return base64.b64decode(compact, altchars=altchars, validate=True)


def parse_data_url(value: str) -> ImageData:
    m = DATA_URL.match(value)
    if m is None:
        raise ImageInputError("data URL is not of the form data:image/<type>;base64,<data>")
    try:
        data = _b64decode(m.group(2))
    except (binascii.Error, ValueError):
        raise ImageInputError("data URL does not hold valid base64") from None
    return ImageData(value, m.group(1), data)


def parse_base64(value: str) -> ImageData:
    """Raw base64 of a PNG, JPEG or WebP image → an ImageData with a sniffed MIME type."""
    try:
        data = _b64decode(value)
    except (binascii.Error, ValueError):
        raise ImageInputError(
            f"input is neither a data URL, an http(s) URL nor base64 image data (starts with {value[:24]!r})"
        ) from None
    return image_from_bytes(data, "base64 input")


def check_template(value: str) -> None:
    m = TEMPLATE.search(value)
    if m is not None:
        name = m.group(1) or "<empty>"
        raise ImageInputError(
            f"Failed to parse URL from {value}: unresolved template variable "
            f"'{name}' (resolve it before submitting the job)"
        )


def classify(value: object) -> str:
    """Which kind of input this is: "data_url", "url", "base64"; raises for refused input."""
    if not isinstance(value, str):
        raise ImageInputError(f"expected an image as a string, got {type(value).__name__}")
    text = value.strip()
    if not text:
        raise ImageInputError("no image given (empty string)")
    check_template(text)
    m = SCHEME.match(text)
    if m is not None:
        scheme = m.group(1).lower()
        if scheme == "data":
            return "data_url"
        if scheme in ("http", "https"):
            return "url"
        raise ImageInputError(
            f"URL scheme '{scheme}:' is not allowed; only http(s) URLs, data URLs "
            "and base64 image data are accepted"
        )
    if len(text) < MIN_BASE64_CHARS:
        raise ImageInputError(f"input {text!r} is neither a data URL, an http(s) URL nor base64 image data")
    return "base64"


async def fetch_image(
    url: str, limits: FetchLimits = FetchLimits(), session: aiohttp.ClientSession | None = None
) -> ImageData:
    """GET an http(s) image URL within ``limits``; the body must be a PNG, JPEG or WebP."""
    timeout = aiohttp.ClientTimeout(total=limits.timeout_s)
    own = session is None
    session = session or aiohttp.ClientSession()
    try:
        async with session.get(url, timeout=timeout, max_redirects=limits.max_redirects) as resp:
            if resp.status != 200:
                raise ImageInputError(f"fetching {url} answered HTTP {resp.status}")
            if resp.content_length is not None and resp.content_length > limits.max_bytes:
                raise ImageInputError(
                    f"image at {url} is {resp.content_length} bytes, over the {limits.max_bytes}-byte limit"
                )
            body = bytearray()
            async for chunk in resp.content.iter_chunked(64 * 1024):
                body.extend(chunk)
                if len(body) > limits.max_bytes:
                    raise ImageInputError(f"image at {url} is over the {limits.max_bytes}-byte limit")
    except TimeoutError:
        raise ImageInputError(f"fetching {url} took longer than {limits.timeout_s:g} s") from None
    except aiohttp.TooManyRedirects:
        raise ImageInputError(
            f"fetching {url} was redirected more than {limits.max_redirects} times"
        ) from None
    except aiohttp.ClientError as exc:
        raise ImageInputError(f"fetching {url} failed: {exc}") from None
    finally:
        if own:
            await session.close()
    return image_from_bytes(bytes(body), f"content at {url}")


async def normalize_image(
    value: object, limits: FetchLimits = FetchLimits(), session: aiohttp.ClientSession | None = None
) -> ImageData:
    """Any accepted input → :class:`ImageData`; raises :class:`ImageInputError` otherwise."""
    kind = classify(value)
    text = str(value).strip()
    if kind == "data_url":
        return parse_data_url(text)
    if kind == "url":
        return await fetch_image(text, limits, session)
    return parse_base64(text)


async def normalize_image_input(value: object, limits: FetchLimits = FetchLimits()) -> str:
    """Any accepted input → a data URL (a data URL comes back unchanged)."""
    return (await normalize_image(value, limits)).data_url
