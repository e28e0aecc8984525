"""Image input normalisation for img2img jobs: whatever the job carries becomes a data URL.

Accepted: a ``data:image/...;base64,`` URL, raw base64, and an ``http(s)`` URL (fetched with a
size and a time limit); whatever the source, the bytes must be a PNG, JPEG or WebP image (sniffed
from the magic bytes, never taken on trust from a declared type) and within the same size cap.
Refused with an ``ImageInputError`` whose message starts with ``Image conversion failed:``: an
unresolved template variable such as ``{{image}}``, any other URL scheme (``file:``, ``ftp:``
...), a URL with credentials in it, a URL (or a redirect) to a loopback, private or link-local
address unless :attr:`FetchLimits.allow_private` says so, and anything else.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import re
import socket
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

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

    max_bytes: int = 20 * 1024 * 1024  # also the cap on data URLs and raw base64
    timeout_s: float = 10.0
    max_redirects: int = 3
    # a job's URL is someone else's input: reaching this machine or its network through it
    # (127.0.0.1, 10.x, 169.254.169.254 ...) is opt-in (tests serve images on loopback)
    allow_private: bool = False


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


def check_size(encoded: str, limits: FetchLimits, what: str) -> None:
    """Refuse base64 text whose decoded size is over the cap, before decoding it."""
    size = len(encoded) * 3 // 4
    if size > limits.max_bytes:
        raise ImageInputError(f"{what} holds about {size} bytes, over the {limits.max_bytes}-byte limit")


def parse_data_url(value: str, limits: FetchLimits = FetchLimits()) -> ImageData:
    m = DATA_URL.match(value)
    if m is None:
        raise ImageInputError("data URL is not of the form data:image/<type>;base64,<data>")
    check_size(m.group(2), limits, "data URL")
    try:
        data = _b64decode(m.group(2))
    except (binascii.Error, ValueError):
        raise ImageInputError("data URL does not hold valid base64") from None
    declared, mime = m.group(1).lower(), sniff_mime(data)
    if mime is None:
        raise ImageInputError(f"data URL declares {declared} but holds no PNG, JPEG or WebP image")
    if mime != declared:  # the bytes decide: send the type they are
        return ImageData(to_data_url(data, mime), mime, data)
    return ImageData(value, mime, data)


def parse_base64(value: str, limits: FetchLimits = FetchLimits()) -> ImageData:
    """Raw base64 of a PNG, JPEG or WebP image → an ImageData with a sniffed MIME type."""
    check_size(value, limits, "base64 input")
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


def _blocked(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not ip.is_global or ip.is_multicast


async def check_target(url: str, limits: FetchLimits) -> None:
    """Refuse a URL with credentials, and (unless allowed) one whose host is or resolves to a
    loopback, private, link-local or otherwise non-public address."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        raise ImageInputError(
            f"URL {parts.scheme}://…@{parts.hostname}/… carries credentials; they are not sent"
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ImageInputError(f"URL {url!r} is not an http(s) URL with a host")
    if limits.allow_private:
        return
    host = parts.hostname
    try:
        addresses = [host] if _is_ip(host) else await _resolve(host, parts.port)
    except OSError as exc:
        raise ImageInputError(f"fetching {url} failed: cannot resolve {host}: {exc}") from None
    bad = [a for a in addresses if _blocked(a)]
    if bad:
        raise ImageInputError(
            f"URL {url} points at {bad[0]}, a loopback/private/link-local address: refused "
            "(FetchLimits(allow_private=True) allows it)"
        )


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


async def _resolve(host: str, port: int | None) -> list[str]:
    infos = await asyncio.get_running_loop().getaddrinfo(host, port or 80, type=socket.SOCK_STREAM)
    return sorted({info[4][0] for info in infos})


async def fetch_image(
    url: str, limits: FetchLimits = FetchLimits(), session: aiohttp.ClientSession | None = None
) -> ImageData:
    """GET an http(s) image URL within ``limits``; the body must be a PNG, JPEG or WebP. Each
    redirect is followed by hand, so every hop's target is checked like the first."""
    timeout = aiohttp.ClientTimeout(total=limits.timeout_s)
    own = session is None
    session = session or aiohttp.ClientSession()
    first = url
    try:
        async with asyncio.timeout(limits.timeout_s):
            for _ in range(limits.max_redirects + 1):
                await check_target(url, limits)
                async with session.get(url, timeout=timeout, allow_redirects=False) as resp:
                    if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                        url = urljoin(url, resp.headers["Location"])
                        continue
                    if resp.status != 200:
                        raise ImageInputError(f"fetching {url} answered HTTP {resp.status}")
                    if resp.content_length is not None and resp.content_length > limits.max_bytes:
                        raise ImageInputError(
                            f"image at {url} is {resp.content_length} bytes, over the "
                            f"{limits.max_bytes}-byte limit"
                        )
                    body = bytearray()
                    async for chunk in resp.content.iter_chunked(64 * 1024):
                        body.extend(chunk)
                        if len(body) > limits.max_bytes:
                            raise ImageInputError(f"image at {url} is over the {limits.max_bytes}-byte limit")
                    break
            else:
                raise ImageInputError(
                    f"fetching {first} was redirected more than {limits.max_redirects} times"
                )
    except TimeoutError:
        raise ImageInputError(f"fetching {first} took longer than {limits.timeout_s:g} s") from None
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
        return parse_data_url(text, limits)
    if kind == "url":
        return await fetch_image(text, limits, session)
    return parse_base64(text, limits)


async def normalize_image_input(value: object, limits: FetchLimits = FetchLimits()) -> str:
    """Any accepted input → a data URL (a data URL comes back unchanged)."""
    return (await normalize_image(value, limits)).data_url
