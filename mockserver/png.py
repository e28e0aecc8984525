"""PNG for pictures made of flat cells (see :mod:`mockserver.picture`), with the standard library.

Each cell row becomes ``cell`` identical scanlines (filter type 0), built once per distinct row,
then one zlib stream in one IDAT chunk: a 1024x1024 picture takes a few milliseconds.
"""

from __future__ import annotations

import struct
import zlib

SIGNATURE = b"\x89PNG\r\n\x1a\n"
LEVEL = 6  # zlib level: small payloads, still a few milliseconds for a 1024x1024 image


def encode_cells(grid: tuple[bytes, ...], cell: int, bpp: int, width: int, height: int, alpha: bool) -> bytes:
    """The PNG file of ``grid`` (rows of cell colours, ``bpp`` bytes each), each cell ``cell`` px."""
    scanlines: dict[bytes, bytes] = {}
    parts = []
    for row in grid:
        block = scanlines.get(row)
        if block is None:
            wide = b"".join(row[i : i + bpp] * cell for i in range(0, len(row), bpp))
            block = scanlines[row] = (b"\x00" + wide) * cell  # filter type 0 (None) per scanline
        parts.append(block)
    return encode_png(width, height, alpha, zlib.compress(b"".join(parts), LEVEL))


def chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data, CRC-32 of type and data."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def encode_png(width: int, height: int, alpha: bool, idat: bytes) -> bytes:
    """Signature, IHDR (8-bit RGB or RGBA, no interlace), one IDAT with ``idat``, IEND."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return SIGNATURE + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
