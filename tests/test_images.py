"""flows.images: AliExpress's upload rules and the compliant JPEG copy.

Test images are made in memory; random noise keeps JPEGs big, the way a
detailed photo would be.
"""
from __future__ import annotations

import io
import os
import struct
import subprocess
import sys
import time
import warnings
import zlib

import pytest
from PIL import Image

from flows.images import (ALIEXPRESS_MAX_BYTES, MAX_PIXELS, TELEGRAM_DOWNLOAD_LIMIT, ImageCheck, ImageError,
                          can_download, check_image, compress_for_aliexpress, is_image)

MB = 1024 * 1024
GPS = 0x8825
ORIENTATION = 0x0112


def noise(w: int, h: int, mode: str = "RGB") -> Image.Image:
    return Image.frombytes(mode, (w, h), os.urandom(w * h * len(mode)))


def encode(im: Image.Image, fmt: str, **params) -> bytes:
    buf = io.BytesIO()
    im.save(buf, fmt, **params)
    return buf.getvalue()


def opened(data: bytes) -> Image.Image:
    im = Image.open(io.BytesIO(data))
    im.load()
    return im


def crafted_png(w: int, h: int) -> bytes:
    """A PNG whose header declares w x h pixels, with a token 1-bit IDAT.

    Pillow refuses at the header, so the body never needs to be right.
    """
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">IIBBBBB", w, h, 1, 0, 0, 0, 0)  # 1-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def code_of(data: bytes, **kw) -> str:
    with pytest.raises(ImageError) as e:
        compress_for_aliexpress(data, **kw)
    return e.value.code


# --- rules -----------------------------------------------------------------

@pytest.mark.parametrize("name, mime, expected", [
    ("photo.jpg", "image/jpeg", True),
    ("PHOTO.JPG", None, True),
    ("scan.jpeg", None, True),
    ("a.png", "image/png", True),
    ("a.gif", "image/gif", True),
    ("a.bmp", "image/x-ms-bmp", True),
    (None, "image/bmp", True),
    (None, "image/jpeg", True),                      # a Telegram photo
    ("photo.jpg", "application/octet-stream", True),  # the client didn't know
    ("noextension", "image/png", True),
    ("a.webp", "image/webp", False),
    ("a.heic", "image/heic", False),
    ("a.tiff", None, False),
    ("a.jpg", "image/webp", False),                   # content isn't what the name says
    ("a.webp", "image/jpeg", False),                  # AliExpress's picker goes by the name
    (None, None, False),                              # nothing to go on
])
def test_accepted_format(name, mime, expected):
    assert check_image(name, mime, 1000).accepted_format is expected


@pytest.mark.parametrize("size, expected", [
    (None, True),
    (0, True),
    (ALIEXPRESS_MAX_BYTES - 1, True),
    (ALIEXPRESS_MAX_BYTES, False),  # "under 2 MB": exactly 2 MB is too big
    (5 * MB, False),
])
def test_within_size(size, expected):
    assert check_image("a.jpg", "image/jpeg", size).within_size is expected


def test_ok_needs_both():
    assert check_image("a.jpg", "image/jpeg", 100).ok
    assert not check_image("a.jpg", "image/jpeg", 3 * MB).ok
    assert not check_image("a.webp", "image/webp", 100).ok
    assert ImageCheck(accepted_format=True, within_size=True).ok


@pytest.mark.parametrize("name, mime, expected", [
    ("a.jpg", None, True),
    ("A.HEIC", None, True),
    ("a.webp", None, True),
    ("a.tif", None, True),
    (None, "image/webp", True),
    (None, "image/svg+xml", True),    # an image, even if we can't convert it
    ("setup.exe", "application/x-msdownload", False),
    ("notes.pdf", "application/pdf", False),
    ("photo.jpg.exe", None, False),
    (None, None, False),
    ("clip.mp4", "video/mp4", False),
])
def test_is_image(name, mime, expected):
    assert is_image(name, mime) is expected


@pytest.mark.parametrize("size, expected", [
    (None, False), (0, True), (TELEGRAM_DOWNLOAD_LIMIT, True), (TELEGRAM_DOWNLOAD_LIMIT + 1, False),
])
def test_can_download(size, expected):
    assert can_download(size) is expected


# --- compression -----------------------------------------------------------

def test_oversized_png_becomes_jpeg_under_2mb():
    src = encode(noise(1500, 1500), "PNG", compress_level=1)
    assert ALIEXPRESS_MAX_BYTES < len(src) < TELEGRAM_DOWNLOAD_LIMIT
    out = compress_for_aliexpress(src)
    assert len(out) < ALIEXPRESS_MAX_BYTES
    im = opened(out)
    assert im.format == "JPEG" and im.mode == "RGB"
    assert im.info.get("progressive") or im.info.get("progression")
    assert check_image("copy.jpg", "image/jpeg", len(out)).ok


def test_noisy_photo_is_downscaled_when_quality_is_not_enough():
    src = encode(noise(2400, 1800), "JPEG", quality=95)
    out = compress_for_aliexpress(src, limit=300_000)
    assert len(out) < 300_000
    w, h = opened(out).size
    assert max(w, h) < 2400 and max(w, h) >= 800
    assert abs(w / h - 2400 / 1800) < 0.01  # aspect ratio kept


def test_huge_photo_is_capped_at_4000px():
    # 33M pixels: under the bomb limit, decoded at half scale via draft().
    src = encode(Image.new("RGB", (8200, 4000), "teal"), "JPEG", quality=80)
    out = compress_for_aliexpress(src)
    assert opened(out).size == (4000, 1951)


def test_orientation_applied_and_metadata_stripped():
    # Landscape pixels, white on top, tagged "rotate 90° clockwise to display".
    im = Image.new("RGB", (300, 200), "black")
    im.paste((255, 255, 255), (0, 0, 300, 100))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif[GPS] = {1: "N", 2: (55.0, 45.0, 12.0), 3: "E", 4: (37.0, 37.0, 0.0)}
    src = encode(im, "JPEG", quality=95, exif=exif, comment=b"home address",
                 xmp=b'<x:xmpmeta xmlns:x="adobe:ns:meta/">GPSLatitude 55,45</x:xmpmeta>')
    assert opened(src).getexif().get_ifd(GPS)  # the source really carries GPS

    out = compress_for_aliexpress(src)
    result = opened(out)
    assert result.size == (200, 300)  # upright: width and height swapped
    assert result.getpixel((190, 150))[0] > 200  # what was the top is now on the right
    assert result.getpixel((10, 150))[0] < 50
    assert not result.getexif()
    assert not {"exif", "xmp", "comment"} & result.info.keys()
    assert b"GPS" not in out and b"home address" not in out and b"Exif" not in out


def test_small_rgba_png_flattened_on_white():
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    im.paste((255, 0, 0, 255), (16, 16, 48, 48))
    out = compress_for_aliexpress(encode(im, "PNG"))
    result = opened(out)
    assert result.format == "JPEG" and result.size == (64, 64)
    assert min(result.getpixel((2, 2))) > 240  # transparent → white, not black
    r, g, b = result.getpixel((32, 32))
    assert r > 200 and g < 60 and b < 60


def test_palette_gif_with_transparency_and_webp():
    gif = Image.new("P", (40, 40), 0)
    gif.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    gif.paste(1, (10, 10, 30, 30))
    out = opened(compress_for_aliexpress(encode(gif, "GIF", transparency=0)))
    assert min(out.getpixel((1, 1))) > 240 and out.getpixel((20, 20))[2] > 200
    webp = encode(noise(100, 80), "WEBP")
    assert opened(compress_for_aliexpress(webp)).size == (100, 80)


@pytest.mark.parametrize("data", [
    b"",
    b"not an image at all",
    b"\xff\xd8\xff\xe0" + b"\0" * 100,  # a JPEG that stops after its first marker
])
def test_corrupt(data):
    assert code_of(data) == "corrupt"


def test_truncated_jpeg_is_corrupt():
    src = encode(noise(200, 200), "JPEG")
    assert code_of(src[: len(src) // 2]) == "corrupt"


def test_unsupported_decoders_are_not_used():
    # A real image, but in a format we never decode (ICO): refused, not parsed.
    assert code_of(encode(Image.new("RGB", (32, 32)), "ICO")) == "corrupt"


@pytest.mark.parametrize("w, h", [
    (50_000, 50_000),  # far over: Pillow raises DecompressionBombError
    (7_000, 7_000),    # 49M pixels: Pillow only warns; we refuse it anyway
])
def test_decompression_bomb(w, h):
    data = crafted_png(w, h)
    assert len(data) < 200
    filters = list(warnings.filters)
    start = time.perf_counter()
    assert code_of(data) == "bomb"
    assert time.perf_counter() - start < 0.5  # refused at the header, nothing decoded
    assert warnings.filters == filters  # the "error" filter didn't leak out


def test_bomb_refused_even_if_pillow_limit_is_lifted(monkeypatch):
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    assert code_of(crafted_png(MAX_PIXELS // 1000 + 1, 1000)) == "bomb"


def test_real_bomb_png_compresses_tiny():
    # An actual 1-bit image past the limit that Pillow wrote itself: ~8 KB of PNG.
    data = encode(Image.new("1", (8000, 6000)), "PNG")
    assert len(data) < 50_000
    assert code_of(data) == "bomb"


def test_over_telegram_limit_refused_before_decoding():
    # Garbage bytes: were they decoded, this would say "corrupt".
    assert code_of(b"\0" * (TELEGRAM_DOWNLOAD_LIMIT + 1)) == "too_large_to_download"


def test_cannot_fit():
    assert code_of(encode(noise(1000, 1000), "PNG", compress_level=1), limit=10_000) == "cannot_fit"


def test_image_error_is_a_value_error():
    e = ImageError("corrupt")
    assert isinstance(e, ValueError) and e.code == "corrupt" and str(e) == "corrupt"


def test_module_stays_free_of_bot_and_database():
    code = ("import sys, flows.images; "
            "bad = {'aiogram', 'aiosqlite', 'sqlite3', 'asyncio'} & set(sys.modules); "
            "sys.exit(sorted(bad) or 0)")
    done = subprocess.run([sys.executable, "-c", code], cwd=os.path.dirname(os.path.dirname(__file__)),
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stdout + done.stderr
