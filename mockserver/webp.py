"""Lossless WebP (VP8L) for pictures made of flat cells, in pure Python.

:mod:`mockserver.picture` draws on a grid of square cells, so the picture compresses to literal
pixels and LZ77 copies: each cell's first pixel is a literal and the rest of the cell's row is a
copy of the pixel to its left; a pixel row equal to the one above is one copy of the row above.
The prefix codes are fixed (8 bits per colour channel, 9 per green literal), which keeps the
encoder tiny; the output is an ordinary ``RIFF/WEBP/VP8L`` file that any decoder reads, with
exactly the pixels given.

The VP8L bit stream is least-significant-bit first; it is built here as a string of bits in
stream order and turned into bytes once at the end.
"""

from __future__ import annotations

import functools
import struct

MAX_COPY = 4096  # longest backward reference VP8L can code
CODE_LENGTH_ORDER = (17, 18, 0, 1, 2, 3, 4, 5, 16, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
DIST_ABOVE, DIST_LEFT = 1, 2  # distance codes of the pixel above and the pixel to the left
REPEAT = 16  # code-length symbol: repeat the previous length 3..6 times


def bits(value: int, n: int) -> str:
    """``value`` as ``n`` extra bits in stream order (least significant first)."""
    return format(value, f"0{n}b")[::-1] if n else ""


def prefix_of(value: int) -> tuple[int, int, int]:
    """VP8L prefix coding of a length or distance code: (prefix symbol, extra bit count, extra)."""
    x = value - 1
    if x < 4:
        return x, 0, 0
    high = x.bit_length() - 1
    second = (x >> (high - 1)) & 1
    extra_bits = high - 1
    return 2 * high + second, extra_bits, x - ((2 + second) << extra_bits)


# --- the fixed prefix codes ------------------------------------------------------------------
# green: literals 0..255 at 9 bits, length prefixes 256..271 at 6 bits and 272..279 at 5 bits;
# red, blue, alpha: 8 bits each; distance: a simple code of the two prefixes 0 and 1.


def green_code(symbol: int) -> str:
    if symbol < 256:
        return format(256 + symbol, "09b")
    p = symbol - 256
    return format(16 + p, "06b") if p < 16 else format(p - 16, "05b")


def _lengths_run(length: int, count: int, code: dict[int, str]) -> str:
    """``count`` symbols of code length ``length``: one literal, then repeats of it."""
    out, left = [code[length]], count - 1
    while 0 < left < 3:  # a repeat codes at least 3
        out.append(code[length])
        left -= 1
    while left:
        n = min(6, left)
        if left - n in (1, 2):  # a repeat codes at least 3
            n = left - 3
        out.append(code[REPEAT] + bits(n - 3, 2))
        left -= n
    return "".join(out)


def _normal_code(code_length_lengths: dict[int, int], runs: list[tuple[int, int]]) -> str:
    """A normal prefix code: its code-length code, then the code lengths as runs."""
    last = max(CODE_LENGTH_ORDER.index(s) for s in code_length_lengths)
    head = "0" + bits(last + 1 - 4, 4)
    head += "".join(bits(code_length_lengths.get(s, 0), 3) for s in CODE_LENGTH_ORDER[: last + 1])
    head += "0"  # max_symbol: the whole alphabet
    code = canonical(code_length_lengths)
    return head + "".join(_lengths_run(length, count, code) for length, count in runs)


def canonical(lengths: dict[int, int]) -> dict[int, str]:
    """Canonical prefix codes (shorter first, then by symbol) for ``{symbol: code length}``."""
    codes, value, previous = {}, 0, 0
    for symbol, length in sorted(lengths.items(), key=lambda item: (item[1], item[0])):
        value <<= length - previous
        codes[symbol] = format(value, f"0{length}b")
        value, previous = value + 1, length
    return codes


GREEN_TREE = _normal_code({5: 2, 6: 2, 9: 2, REPEAT: 2}, [(9, 256), (6, 16), (5, 8)])
BYTE_TREE = _normal_code({8: 1, REPEAT: 1}, [(8, 256)])
DIST_TREE = "1" + "1" + "0" + "0" + bits(1, 8)  # simple, two symbols: 0 (1 bit), 1 (8 bits)


@functools.lru_cache(maxsize=4096)
def copy(length: int, distance_code: int) -> str:
    """A backward reference: length prefix (green alphabet), extra bits, distance prefix, extra."""
    out = []
    while length:
        n = min(length, MAX_COPY)
        p, nbits, extra = prefix_of(n)
        d, dbits, dextra = prefix_of(distance_code)
        out.append(green_code(256 + p) + bits(extra, nbits) + str(d) + bits(dextra, dbits))
        length -= n
    return "".join(out)


@functools.lru_cache(maxsize=65536)
def literal(pixel: bytes) -> str:
    """One pixel (RGB or RGBA bytes) as green, red, blue, alpha codes."""
    r, g, b = pixel[0], pixel[1], pixel[2]
    a = pixel[3] if len(pixel) == 4 else 255
    return green_code(g) + format(r, "08b") + format(b, "08b") + format(a, "08b")


def _row(row: bytes, cell: int, bpp: int) -> str:
    tail = copy(cell - 1, DIST_LEFT) if cell > 1 else ""
    return "".join(literal(row[i : i + bpp]) + tail for i in range(0, len(row), bpp))


def encode_cells(rows: tuple[bytes, ...], cell: int, bpp: int = 3) -> bytes:
    """A lossless WebP of ``rows`` of cells (RGB, or RGBA when ``bpp`` is 4), ``cell`` pixels square."""
    if not rows:
        raise ValueError("no rows to encode")
    gw = len(rows[0]) // bpp
    width, height = gw * cell, len(rows) * cell
    if width > 16384 or height > 16384:
        raise ValueError("WebP images are at most 16384 pixels on a side")
    head = bits(width - 1, 14) + bits(height - 1, 14) + ("1" if bpp == 4 else "0") + bits(0, 3)
    head += "0"  # no transforms
    head += "0" + "0"  # no colour cache, no meta prefix codes
    head += GREEN_TREE + BYTE_TREE + BYTE_TREE + BYTE_TREE + DIST_TREE
    body, previous = [head], None
    for row in rows:
        first = copy(width, DIST_ABOVE) if row == previous else _row(row, cell, bpp)
        body.append(first)
        if cell > 1:
            body.append(copy(width * (cell - 1), DIST_ABOVE))
        previous = row
    stream = "".join(body)
    stream += "0" * (-len(stream) % 8)
    data = b"\x2f" + int(stream[::-1], 2).to_bytes(len(stream) // 8, "little")
    if len(data) % 2:
        data += b"\x00"  # RIFF chunks are padded to an even size (the pad is not counted)
        size = len(data) - 1
    else:
        size = len(data)
    chunk = b"VP8L" + struct.pack("<I", size) + data
    return b"RIFF" + struct.pack("<I", 4 + len(chunk)) + b"WEBP" + chunk
