"""Baseline JPEG for pictures made of flat cells, in pure Python.

:mod:`mockserver.picture` draws on a grid of square cells whose side is a multiple of 8 pixels, so
every 8x8 block of the picture is one colour. A flat block has a single DCT coefficient (DC), so
the file needs no AC data at all: each block is its DC difference and an end-of-block code. The
result is an ordinary baseline JFIF file (4:4:4, Huffman-coded) that any decoder reads, and
decodes to the cell colours up to the rounding of the YCbCr conversion.
"""

from __future__ import annotations

import functools
import struct

# Standard luminance DC table (ITU T.81, K.3): code lengths 1..16 and the categories 0..11.
DC_COUNTS = (0, 1, 5, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0)
DC_SYMBOLS = tuple(range(12))
# A one-symbol AC table: end-of-block (0x00), coded as the single bit "0".
AC_COUNTS = (1,) + (0,) * 15
AC_SYMBOLS = (0,)
EOB = "0"
DC_QUANT = 8  # 8 * (level - 128) / 8: the DC coefficient is the level itself, exactly


def _canonical_codes(counts: tuple[int, ...], symbols: tuple[int, ...]) -> dict[int, str]:
    codes, code, k = {}, 0, 0
    for length, count in enumerate(counts, start=1):
        for _ in range(count):
            codes[symbols[k]] = format(code, f"0{length}b")
            code, k = code + 1, k + 1
        code <<= 1
    return codes


DC_CODES = _canonical_codes(DC_COUNTS, DC_SYMBOLS)


@functools.lru_cache(maxsize=4096)
def dc_bits(diff: int) -> str:
    """A DC difference as its category's Huffman code, the extra bits, and end-of-block."""
    size = abs(diff).bit_length()
    extra = "" if size == 0 else format(diff if diff > 0 else diff - 1 + (1 << size), f"0{size}b")
    return DC_CODES[size] + extra + EOB


def ycbcr(r: int, g: int, b: int) -> tuple[int, int, int]:
    """JFIF colour conversion, as DC levels centred on 0."""
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = -0.168736 * r - 0.331264 * g + 0.5 * b + 128
    cr = 0.5 * r - 0.418688 * g - 0.081312 * b + 128
    return tuple(min(255, max(0, round(v))) - 128 for v in (y, cb, cr))


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">HH", 0xFF00 | marker, len(payload) + 2) + payload


def _headers(width: int, height: int) -> bytes:
    jfif = _segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")
    dqt = _segment(0xDB, b"\x00" + bytes([DC_QUANT]) * 64)
    sof = _segment(
        0xC0, struct.pack(">BHHB", 8, height, width, 3) + b"".join(bytes([cid, 0x11, 0]) for cid in (1, 2, 3))
    )
    dht = _segment(
        0xC4, b"\x00" + bytes(DC_COUNTS) + bytes(DC_SYMBOLS) + b"\x10" + bytes(AC_COUNTS) + bytes(AC_SYMBOLS)
    )
    sos = _segment(0xDA, b"\x03" + b"".join(bytes([cid, 0x00]) for cid in (1, 2, 3)) + b"\x00\x3f\x00")
    return b"\xff\xd8" + jfif + dqt + sof + dht + sos


def encode_cells(rows: tuple[bytes, ...], cell: int, bpp: int = 3) -> bytes:
    """A JPEG of ``rows`` of RGB cells (``bpp`` bytes each; a 4th byte is ignored), ``cell`` pixels
    square; ``cell`` must be a multiple of 8."""
    if cell % 8:
        raise ValueError(f"cell size must be a multiple of 8, got {cell}")
    if not rows:
        raise ValueError("no rows to encode")
    per_cell = cell // 8
    gw = len(rows[0]) // bpp
    width, height = gw * cell, len(rows) * cell
    bits: list[str] = []
    pred = (0, 0, 0)
    for row in rows:
        levels = [ycbcr(*row[i : i + 3]) for i in range(0, gw * bpp, bpp)]
        body = _row_body(tuple(levels), per_cell)
        for _ in range(per_cell):  # each cell is per_cell block rows high
            first = levels[0]
            bits.append("".join(dc_bits(first[c] - pred[c]) for c in range(3)))
            bits.append(body)
            pred = levels[-1]
    stream = "".join(bits)
    stream += "1" * (-len(stream) % 8)
    data = int(stream, 2).to_bytes(len(stream) // 8, "big").replace(b"\xff", b"\xff\x00")
    return _headers(width, height) + data + b"\xff\xd9"


@functools.lru_cache(maxsize=1024)
def _row_body(levels: tuple[tuple[int, int, int], ...], per_cell: int) -> str:
    """The bits of one block row after its first block: they depend only on the row itself."""
    out = [dc_bits(0) * 3] * (per_cell - 1)
    for prev, cur in zip(levels, levels[1:], strict=False):
        out.append("".join(dc_bits(cur[c] - prev[c]) for c in range(3)))
        out.append(dc_bits(0) * 3 * (per_cell - 1))
    return "".join(out)
