"""The mock's pictures: real, decodable images, deterministic from a seed and a key, encoded as PNG,
JPEG or WebP (:mod:`.png`, :mod:`.jpeg`, :mod:`.webp`) as the request asks.

The picture is a small design grid (a sky gradient with a few shaded discs and blocks, one
grid cell per 8 or 16 pixels) scaled up with byte operations, so a 1024x1024 image is built
without a per-pixel loop. The same arguments always give the same bytes.

Partial images (``progress < 1``) show the final picture resolved from the top down to
``progress`` of its height; below that they show a coarse, washed-out mosaic of it. Each partial
is therefore closer to the final image than the one before it, and ``progress=1`` is the final.

``background="transparent"`` gives an RGBA image whose sky is fully transparent; ``"opaque"``
and ``"auto"`` give RGB.

``output_format`` picks the encoding, and the bytes are always in the format asked for:
``"png"`` (8-bit RGB/RGBA, zlib, CRCs, filter type 0), ``"jpeg"`` (baseline JFIF,
:mod:`mockserver.jpeg`; no alpha channel, so a transparent background is refused) or ``"webp"``
(lossless VP8L, :mod:`mockserver.webp`). ``render_png`` keeps its name for all three.
"""

from __future__ import annotations

import base64
import functools
import math

from . import jpeg, png, webp
from .content import rng_for

# The sizes OpenAI's image models produce ("auto" is resolved to a square image).
SIZES: dict[str, tuple[int, int]] = {
    "256x256": (256, 256),
    "512x512": (512, 512),
    "1024x1024": (1024, 1024),
    "1024x1536": (1024, 1536),
    "1536x1024": (1536, 1024),
    "1792x1024": (1792, 1024),
    "1024x1792": (1024, 1792),
}
AUTO_SIZE = "1024x1024"
OUTPUT_FORMATS = ("png", "jpeg", "webp")
BACKGROUNDS = ("transparent", "opaque", "auto")

_WASH = bytes(64 + c // 2 for c in range(256))  # lowers contrast: the mosaic of a partial image


def resolve_size(size: str) -> tuple[int, int]:
    """``"WxH"`` (or ``"auto"``) as ``(width, height)``; ValueError for a size not in SIZES."""
    if size == "auto":
        size = AUTO_SIZE
    try:
        return SIZES[size]
    except KeyError:
        known = ", ".join(["auto", *SIZES])
        raise ValueError(f"unsupported image size {size!r}; expected one of: {known}") from None


def encoded_format(output_format: str) -> str:
    """The format of the bytes :func:`render` returns when ``output_format`` is asked for
    (the same: every format is really encoded); ValueError for a format the API does not know."""
    _check_choice("output_format", output_format, OUTPUT_FORMATS)
    return output_format


def render(
    seed: int,
    key: str,
    size: str = "1024x1024",
    progress: float = 1.0,
    output_format: str = "png",
    background: str = "opaque",
) -> bytes:
    """The image of ``size`` (in :func:`encoded_format` of ``output_format``); ``progress`` in
    [0, 1] picks a partial image (1: the final one)."""
    width, height = resolve_size(size)
    fmt = encoded_format(output_format)
    _check_choice("background", background, BACKGROUNDS)
    if not isinstance(progress, (int, float)) or not 0.0 <= progress <= 1.0:
        raise ValueError(f"progress must be a number between 0 and 1, got {progress!r}")
    alpha = background == "transparent"
    if alpha and fmt == "jpeg":
        raise ValueError("a transparent background needs output_format 'png' or 'webp' (jpeg has no alpha)")
    return _render(seed, str(key), width, height, float(progress), alpha, fmt)


def render_b64(
    seed: int,
    key: str,
    size: str = "1024x1024",
    progress: float = 1.0,
    output_format: str = "png",
    background: str = "opaque",
) -> str:
    """:func:`render` as base64 text, the way the API's ``b64_json`` fields carry it."""
    return base64.b64encode(render(seed, key, size, progress, output_format, background)).decode()


def _check_choice(name: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise ValueError(f"unsupported {name} {value!r}; expected one of: {', '.join(allowed)}")


# --- the picture, on a grid of cells ---------------------------------------------------------


def _cell_px(width: int, height: int) -> int:
    return max(8, min(width, height) // 64)


@functools.lru_cache(maxsize=64)
def _design(seed: int, key: str, gw: int, gh: int, alpha: bool) -> tuple[bytes, ...]:
    """The final picture as ``gh`` rows of ``gw`` pixels (RGB, or RGBA when ``alpha``)."""
    rng = rng_for(seed, "png", key)
    bpp = 4 if alpha else 3

    def colour(lo: int = 0, hi: int = 255) -> tuple[int, int, int]:
        return rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi)

    def px(rgb: tuple[int, int, int], a: int = 255) -> bytes:
        return bytes((*rgb, a)) if alpha else bytes(rgb)

    top, bottom = colour(0, 120), colour(130, 255)
    unit = min(gw, gh)
    shapes = []  # (kind, cx, cy, rx, ry, rgb), in grid cells
    for _ in range(rng.randint(4, 7)):
        kind = rng.choice(("disc", "disc", "block"))
        cx, cy = rng.uniform(0.1, 0.9) * gw, rng.uniform(0.15, 0.9) * gh
        rx = rng.uniform(0.08, 0.25) * unit
        ry = rx if kind == "disc" else rng.uniform(0.05, 0.2) * unit
        shapes.append((kind, cx, cy, rx, ry, colour()))

    rows = []
    for gy in range(gh):
        t = gy / max(1, gh - 1)
        sky = tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True))
        row = bytearray(px(sky, 0 if alpha else 255) * gw)
        y = gy + 0.5
        for kind, cx, cy, rx, ry, rgb in shapes:
            dy = y - cy
            if abs(dy) >= ry:
                continue
            half = math.sqrt(rx * rx - dy * dy) if kind == "disc" else rx
            x0, x1 = max(0, round(cx - half)), min(gw, round(cx + half))
            if x1 <= x0:
                continue
            shade = 0.65 + 0.35 * (1 - (dy + ry) / (2 * ry))  # lit from above
            row[x0 * bpp : x1 * bpp] = px(tuple(min(255, round(c * shade)) for c in rgb)) * (x1 - x0)
        rows.append(bytes(row))
    return tuple(rows)


@functools.lru_cache(maxsize=64)
def _mosaic(seed: int, key: str, gw: int, gh: int, alpha: bool) -> tuple[bytes, ...]:
    """The coarse, washed-out preview the unresolved part of a partial image shows."""
    design = _design(seed, key, gw, gh, alpha)
    bpp = 4 if alpha else 3
    block = max(2, min(gw, gh) // 8)
    rows = []
    for gy in range(gh):
        src = design[min(gh - 1, gy // block * block + block // 2)]
        pieces = []
        for bx in range(0, gw, block):
            sx = min(gw - 1, bx + block // 2) * bpp
            pieces.append(src[sx : sx + bpp] * min(block, gw - bx))
        rows.append(b"".join(pieces).translate(_WASH))
    return tuple(rows)


@functools.lru_cache(maxsize=128)
def _render(seed: int, key: str, width: int, height: int, progress: float, alpha: bool, fmt: str) -> bytes:
    cell = _cell_px(width, height)
    grid = _grid(seed, key, width // cell, height // cell, progress, alpha)
    bpp = 4 if alpha else 3
    if fmt == "jpeg":
        return jpeg.encode_cells(grid, cell, bpp)
    if fmt == "webp":
        return webp.encode_cells(grid, cell, bpp)
    return png.encode_cells(grid, cell, bpp, width, height, alpha)


def _grid(seed: int, key: str, gw: int, gh: int, progress: float, alpha: bool) -> tuple[bytes, ...]:
    """The picture's cell rows at ``progress``: resolved from the top, the mosaic below."""
    final = _design(seed, key, gw, gh, alpha)
    resolved = gh if progress >= 1.0 else int(progress * gh)
    if resolved >= gh:
        return final
    return final[:resolved] + _mosaic(seed, key, gw, gh, alpha)[resolved:]
