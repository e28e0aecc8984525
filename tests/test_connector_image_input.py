"""Image input normalisation (seed 000, "Image Input Format Errors"): every accepted format and
every refusal, URL fetching against a small aiohttp server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import struct
import zlib

import pytest
from aiohttp import web

from harness.connectors.image_input import (
    FetchLimits,
    ImageInputError,
    normalize_image,
    normalize_image_input,
    sniff_mime,
)


def tiny_png() -> bytes:
    """A real 1x1 red PNG."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = tiny_png()
JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" + b"\x00" * 32
WEBP = b"RIFF\x24\x00\x00\x00WEBPVP8 " + b"\x00" * 32


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_magic_bytes_are_sniffed():
    assert sniff_mime(PNG) == "image/png"
    assert sniff_mime(JPEG) == "image/jpeg"
    assert sniff_mime(WEBP) == "image/webp"
    assert sniff_mime(b"GIF89a" + b"\x00" * 10) is None


async def test_data_url_is_returned_as_is():
    url = "data:image/png;base64," + b64(PNG)
    assert await normalize_image_input(url) == url
    image = await normalize_image(url)
    assert image.data == PNG and image.mime == "image/png"


@pytest.mark.parametrize(("data", "mime"), [(PNG, "image/png"), (JPEG, "image/jpeg"), (WEBP, "image/webp")])
async def test_raw_base64_becomes_a_data_url_with_the_sniffed_mime(data, mime):
    assert await normalize_image_input(b64(data)) == f"data:{mime};base64,{b64(data)}"


async def test_raw_base64_with_line_breaks_is_accepted():
    wrapped = "\n".join(b64(PNG)[i : i + 20] for i in range(0, len(b64(PNG)), 20))
    assert (await normalize_image(wrapped)).data == PNG


@pytest.mark.parametrize("template", ["{{image}}", "{{ input_image }}"])
async def test_template_variable_fails_naming_the_variable(template):
    with pytest.raises(ImageInputError) as err:
        await normalize_image_input(template)
    name = template.strip("{} ")
    assert str(err.value).startswith(f"Image conversion failed: Failed to parse URL from {template}")
    assert f"unresolved template variable '{name}'" in str(err.value)


@pytest.mark.parametrize(
    "value", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://x/y", "javascript:alert(1)"]
)
async def test_other_schemes_are_refused_without_fetching(value):
    with pytest.raises(ImageInputError, match=r"^Image conversion failed: URL scheme '\w+:' is not allowed"):
        await normalize_image_input(value)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("", "no image given"),
        ("hello", "neither a data URL"),
        ("this is definitely not base64 !!", "neither a data URL"),
        (b64(b"GIF89a" + b"\x00" * 30), "not a PNG, JPEG or WebP"),
        ("data:text/plain;base64,aGVsbG8=", "data URL is not of the form"),
        ("data:image/png;base64,@@@", "not hold valid base64"),
        (None, "expected an image as a string"),
    ],
)
async def test_anything_else_is_a_clear_error(value, why):
    with pytest.raises(ImageInputError, match="^Image conversion failed: ") as err:
        await normalize_image_input(value)
    assert why in str(err.value)


@pytest.fixture
async def image_host(aiohttp_server):
    async def png(request):
        return web.Response(body=PNG, content_type="image/png")

    async def big(request):
        return web.Response(body=PNG + b"\x00" * 5000, content_type="image/png")

    async def chunked_big(request):
        resp = web.StreamResponse()
        await resp.prepare(request)
        await resp.write(PNG)
        for _ in range(10):
            await resp.write(b"\x00" * 1000)
        return resp

    async def slow(request):
        await asyncio.sleep(0.5)
        return web.Response(body=PNG)

    async def text(request):
        return web.Response(text="<html>not an image</html>", content_type="text/html")

    async def missing(request):
        return web.Response(status=404)

    async def to_file(request):
        raise web.HTTPFound("file:///etc/passwd")

    app = web.Application()
    for path, handler in [
        ("/a.png", png),
        ("/big.png", big),
        ("/chunked.png", chunked_big),
        ("/slow.png", slow),
        ("/page", text),
        ("/missing.png", missing),
        ("/to-file", to_file),
    ]:
        app.router.add_get(path, handler)
    return await aiohttp_server(app, host="127.0.0.1")


LOOPBACK = FetchLimits(allow_private=True)  # the test's image host is on 127.0.0.1


async def test_http_url_is_fetched_and_sniffed(image_host):
    url = str(image_host.make_url("/a.png"))
    assert await normalize_image_input(url, LOOPBACK) == "data:image/png;base64," + b64(PNG)


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("/big.png", "over the 1000-byte limit"),
        ("/chunked.png", "over the 1000-byte limit"),
        ("/slow.png", "took longer than 0.1 s"),
        ("/page", "is not a PNG, JPEG or WebP image"),
        ("/missing.png", "answered HTTP 404"),
        ("/to-file", "is not an http(s) URL"),
    ],
)
async def test_fetch_limits_and_bad_content_are_clear_errors(image_host, path, why):
    # a tight time limit only where it is the point: on a busy machine 0.1 s is a real wait
    limits = FetchLimits(max_bytes=1000, timeout_s=0.1 if path == "/slow.png" else 5.0, allow_private=True)
    with pytest.raises(ImageInputError, match="^Image conversion failed: ") as err:
        await normalize_image_input(str(image_host.make_url(path)), limits)
    assert why in str(err.value)


async def test_connection_refused_is_a_clear_error(unused_tcp_port):
    with pytest.raises(ImageInputError, match="failed"):
        await normalize_image_input(f"http://127.0.0.1:{unused_tcp_port}/a.png", LOOPBACK)


# --- hostile image input: refused, and the refusal says why ---------------------------------


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 40
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("data:image/png;base64," + b64(ELF), "declares image/png but holds no PNG, JPEG or WebP image"),
        ("data:image/png;base64," + b64(b"just some text, not an image at all"), "holds no PNG"),
        ("data:image/svg+xml;base64," + b64(SVG), "declares image/svg+xml but holds no PNG"),
        ("data:image/x-evil;base64," + b64(ELF), "declares image/x-evil"),
    ],
)
async def test_a_data_url_is_sniffed_not_trusted(value, why):
    with pytest.raises(ImageInputError, match="^Image conversion failed: ") as err:
        await normalize_image_input(value)
    assert why in str(err.value)


async def test_a_data_url_whose_type_is_wrong_is_sent_as_what_it_holds():
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 32
    image = await normalize_image("data:image/png;base64," + b64(jpeg))
    assert image.mime == "image/jpeg" and image.data_url.startswith("data:image/jpeg;base64,")


@pytest.mark.parametrize("wrap", [lambda d: "data:image/png;base64," + b64(d), b64])
async def test_data_urls_and_raw_base64_have_the_fetch_size_cap(wrap):
    big = PNG + b"\x00" * 5000
    with pytest.raises(ImageInputError, match="over the 1000-byte limit"):
        await normalize_image_input(wrap(big), FetchLimits(max_bytes=1000))


async def test_url_credentials_are_refused_not_forwarded(image_host):
    url = str(image_host.make_url("/a.png")).replace("http://", "http://user:secret@")
    with pytest.raises(ImageInputError, match="carries credentials") as err:
        await normalize_image_input(url, LOOPBACK)
    assert "secret" not in str(err.value)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:1/a.png",
        "http://localhost:1/a.png",
        "http://[::1]:1/a.png",
        "http://10.0.0.7/a.png",
        "http://169.254.169.254/latest/meta-data",
        "http://[::ffff:127.0.0.1]:1/a.png",
    ],
)
async def test_loopback_and_private_targets_are_opt_in(url):
    with pytest.raises(ImageInputError, match="loopback/private/link-local address: refused"):
        await normalize_image_input(url)


async def test_a_redirect_to_loopback_is_refused_at_the_hop(aiohttp_server, image_host, monkeypatch):
    target = str(image_host.make_url("/a.png"))

    async def hop(request):
        raise web.HTTPFound(target)

    app = web.Application()
    app.router.add_get("/hop", hop)
    server = await aiohttp_server(app, host="127.0.0.1")
    from harness.connectors import image_input

    # the first URL is allowed as if it were public; its redirect to loopback is checked again
    checked: list[str] = []
    real = image_input.check_target

    async def first_is_public(url, limits):
        checked.append(url)
        if len(checked) > 1:
            await real(url, FetchLimits())

    monkeypatch.setattr(image_input, "check_target", first_is_public)
    with pytest.raises(ImageInputError, match="loopback/private/link-local address: refused"):
        await normalize_image_input(str(server.make_url("/hop")))
    assert checked == [str(server.make_url("/hop")), target]
