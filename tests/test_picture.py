"""The mock's images are real PNGs: read back here by a small reader that shares no code with
the writer (chunks, CRCs, zlib, filter-type-0 scanlines), and by Pillow as a second opinion."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from dataclasses import dataclass

import pytest
from PIL import Image

from mockserver import webp
from mockserver.picture import encoded_format, render_b64
from mockserver.picture import render as render_png

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@dataclass
class Decoded:
    width: int
    height: int
    channels: int
    chunks: list[bytes]
    rows: list[bytes]  # one per scanline, filter byte removed

    @property
    def pixels(self) -> bytes:
        return b"".join(self.rows)


def read_png(data: bytes) -> Decoded:
    """Decode an 8-bit, non-interlaced RGB/RGBA PNG whose scanlines all use filter type 0."""
    assert data[:8] == PNG_SIGNATURE, "not a PNG signature"
    pos, chunks, idat, header = 8, [], b"", None
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])
        assert crc == zlib.crc32(kind + body) & 0xFFFFFFFF, f"bad CRC in {kind!r}"
        chunks.append(kind)
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    assert pos == len(data), "trailing bytes after the last chunk"
    assert header is not None
    width, height, depth, colour, compression, filtering, interlace = header
    assert (depth, compression, filtering, interlace) == (8, 0, 0, 0)
    channels = {2: 3, 6: 4}[colour]
    raw = zlib.decompress(idat)
    stride = 1 + width * channels
    assert len(raw) == stride * height, "IDAT does not hold exactly height scanlines"
    rows = []
    for y in range(height):
        line = raw[y * stride : (y + 1) * stride]
        assert line[0] == 0, f"scanline {y} uses filter type {line[0]}, not 0"
        rows.append(line[1:])
    return Decoded(width, height, channels, chunks, rows)


def distance(a: bytes, b: bytes) -> int:
    """Sum of absolute channel differences between two equally sized images."""
    assert len(a) == len(b)
    return sum(abs(x - y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ("1024x1024", (1024, 1024)),
        ("1024x1536", (1024, 1536)),
        ("1536x1024", (1536, 1024)),
        ("256x256", (256, 256)),
        ("512x512", (512, 512)),
        ("auto", (1024, 1024)),
    ],
)
def test_every_supported_size_decodes_to_its_dimensions(size, expected):
    img = read_png(render_png(7, "a lighthouse at dusk", size))
    assert (img.width, img.height) == expected
    assert img.chunks == [b"IHDR", b"IDAT", b"IEND"]
    assert img.channels == 3


def test_pillow_reads_the_same_pixels():
    data = render_png(3, "a red fox", "512x512", background="transparent")
    ours = read_png(data)
    with Image.open(io.BytesIO(data)) as pil:
        pil.load()
        assert (pil.format, pil.mode, pil.size) == ("PNG", "RGBA", (512, 512))
        assert pil.tobytes() == ours.pixels


def test_transparent_background_is_rgba_with_clear_sky_and_solid_subject():
    img = read_png(render_png(11, "a hot-air balloon", "256x256", background="transparent"))
    assert img.channels == 4
    alphas = set(img.pixels[3::4])
    assert 0 in alphas and 255 in alphas


def test_opaque_and_auto_backgrounds_are_rgb():
    for background in ("opaque", "auto"):
        assert read_png(render_png(11, "a hot-air balloon", "256x256", background=background)).channels == 3


def test_same_seed_and_key_give_the_same_bytes_and_others_differ():
    first = render_png(5, "a teapot", "256x256")
    assert render_png(5, "a teapot", "256x256") == first
    assert render_png(5, "a kettle", "256x256") != first
    assert render_png(6, "a teapot", "256x256") != first
    assert read_png(first).pixels != read_png(render_png(5, "a kettle", "256x256")).pixels


def test_the_picture_has_detail_not_one_flat_colour():
    img = read_png(render_png(2, "a city skyline", "256x256"))
    assert len(set(img.rows)) > 10
    assert len({img.rows[128][i : i + 3] for i in range(0, len(img.rows[128]), 3)}) > 1


@pytest.mark.parametrize("seed", [0, 1, 42])
def test_each_partial_image_is_closer_to_the_final_than_the_one_before(seed):
    final = read_png(render_png(seed, "a sailing boat", "256x256")).pixels
    partials = [
        read_png(render_png(seed, "a sailing boat", "256x256", progress=p)).pixels
        for p in (0.0, 0.25, 0.5, 0.75)
    ]
    gaps = [distance(p, final) for p in partials]
    assert all(earlier > later for earlier, later in zip(gaps, gaps[1:], strict=False)), gaps
    assert gaps[-1] > 0, "a partial image must not already be the final one"
    assert render_png(seed, "a sailing boat", "256x256", progress=1.0) == render_png(
        seed, "a sailing boat", "256x256"
    )


def test_partial_images_keep_size_and_mode():
    img = read_png(render_png(9, "a dragon", "1536x1024", progress=0.5, background="transparent"))
    assert (img.width, img.height, img.channels) == (1536, 1024, 4)


def test_render_b64_is_the_png_in_base64():
    args = (4, "a waterfall", "512x512", 0.5, "png", "opaque")
    assert base64.b64decode(render_b64(*args)) == render_png(*args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"size": "640x480"}, "unsupported image size '640x480'"),
        ({"background": "striped"}, "unsupported background 'striped'"),
        ({"output_format": "gif"}, "unsupported output_format 'gif'"),
        ({"progress": 1.5}, "progress must be a number between 0 and 1"),
        ({"progress": -0.1}, "progress must be a number between 0 and 1"),
    ],
)
def test_bad_arguments_are_refused_with_a_clear_message(kwargs, message):
    with pytest.raises(ValueError, match=message):
        render_png(1, "anything", **kwargs)


@pytest.mark.parametrize(
    ("output_format", "pil_format", "background", "mode", "tolerance", "size"),
    [
        ("jpeg", "JPEG", "opaque", "RGB", 2, "512x512"),
        ("jpeg", "JPEG", "opaque", "RGB", 2, "1536x1024"),
        ("webp", "WEBP", "opaque", "RGB", 0, "512x512"),
        ("webp", "WEBP", "transparent", "RGBA", 0, "1024x1536"),
    ],
)
def test_jpeg_and_webp_are_real_files_of_the_same_picture(
    output_format, pil_format, background, mode, tolerance, size
):
    args = (8, "a paper boat", size, 0.5)
    data = render_png(*args, output_format=output_format, background=background)
    reference = read_png(render_png(*args, output_format="png", background=background)).pixels
    with Image.open(io.BytesIO(data)) as pil:
        pil.load()
        assert (pil.format, pil.mode, f"{pil.width}x{pil.height}") == (pil_format, mode, size)
        pixels = pil.tobytes()
    assert max(abs(a - b) for a, b in zip(pixels[::61], reference[::61], strict=True)) <= tolerance


def test_jpeg_partials_also_progress_towards_the_final():
    def pixels(progress: float) -> bytes:
        data = render_png(1, "a red barn", "256x256", progress=progress, output_format="jpeg")
        with Image.open(io.BytesIO(data)) as pil:
            return pil.tobytes()

    final = pixels(1.0)
    gaps = [distance(pixels(p), final) for p in (0.25, 0.5, 0.75)]
    assert gaps[0] > gaps[1] > gaps[2] > 0, gaps


def test_encoded_format_is_the_format_asked_for():
    assert [encoded_format(f) for f in ("png", "jpeg", "webp")] == ["png", "jpeg", "webp"]
    assert render_png(1, "x", "256x256", output_format="jpeg")[:3] == b"\xff\xd8\xff"
    webp = render_png(1, "x", "256x256", output_format="webp")
    assert webp[:4] == b"RIFF" and webp[8:16] == b"WEBPVP8L"


def test_a_transparent_jpeg_is_refused():
    with pytest.raises(ValueError, match="transparent background needs output_format 'png' or 'webp'"):
        render_png(1, "x", "256x256", output_format="jpeg", background="transparent")


def test_webp_fixed_green_code_is_the_canonical_code_of_its_lengths():
    lengths = {s: 9 for s in range(256)} | {256 + p: 6 for p in range(16)} | {272 + p: 5 for p in range(8)}
    assert sum(2**-n for n in lengths.values()) == 1, "a complete prefix code"
    assert webp.canonical(lengths) == {s: webp.green_code(s) for s in range(280)}


def test_webp_prefix_coding_round_trips_every_copy_length():
    for value in range(1, webp.MAX_COPY + 1):
        prefix, extra_bits, extra = webp.prefix_of(value)
        if prefix < 4:
            decoded = prefix + 1
        else:  # the decoder's formula, as the VP8L specification writes it
            n = (prefix - 2) >> 1
            decoded = ((2 + (prefix & 1)) << n) + extra + 1
            assert n == extra_bits and 0 <= extra < (1 << n)
        assert decoded == value and prefix < 24
