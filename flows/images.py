"""Images against AliExpress's upload rules, and a JPEG copy that passes them.

AliExpress takes jpg, jpeg, bmp, gif and png attachments, each under 2 MB. The
bot flags anything else and, for images it can download (Telegram's bot API
stops at 20 MB), makes a compliant JPEG with compress_for_aliexpress.

Plain synchronous code: the bot runs the decoding in a worker thread
(asyncio.to_thread), so nothing here may import aiogram or touch the database.
"""
from __future__ import annotations

import io
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from PIL import Image, ImageOps

ACCEPTED_EXTENSIONS = frozenset({"jpg", "jpeg", "bmp", "gif", "png"})
ACCEPTED_MIME_TYPES = frozenset({"image/jpeg", "image/bmp", "image/gif", "image/png", "image/x-ms-bmp"})
ALIEXPRESS_MAX_BYTES = 2 * 1024 * 1024
TELEGRAM_DOWNLOAD_LIMIT = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # decompression-bomb guard: ~7300x5500, beyond any phone camera
# The most pixels actually decoded into memory (~8 bytes a pixel while converting):
# a JPEG above it is decoded at 1/2, 1/4 or 1/8 scale (draft), anything else refused.
MAX_DECODE_PIXELS = 16_000_000
# Decodes running at once, process-wide: each may hold ~130 MB at the cap.
MAX_CONCURRENT_DECODES = 2
_decoding = threading.BoundedSemaphore(MAX_CONCURRENT_DECODES)

# Process-wide on purpose: any Pillow decode in the bot gets the same guard.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

# Extensions a buyer's image file may carry; AliExpress accepts only some of them.
IMAGE_EXTENSIONS = ACCEPTED_EXTENSIONS | {"webp", "heic", "heif", "tif", "tiff"}

# Only these decoders ever see the buyer's bytes: a smaller attack surface, and
# no Pillow plugin that shells out (EPS runs Ghostscript). "JPEG" also opens
# phone MPO files. HEIC needs a plugin we don't ship: it comes back "corrupt".
READABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP", "TIFF")

WORK_LONG_SIDE = 4000   # decode/downscale to this first: bigger only costs time
MIN_LONG_SIDE = 800     # below this a photo stops being useful evidence
SCALE_STEP = 0.8
QUALITIES = (90, 85, 80, 70, 60, 50)

ImageErrorCode = Literal["corrupt", "too_large_to_download", "bomb", "too_many_pixels", "cannot_fit"]


class ImageError(ValueError):
    """Why an image couldn't be made AliExpress-ready; see .code."""

    def __init__(self, code: ImageErrorCode) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class ImageCheck:
    accepted_format: bool  # extension/mime is one AliExpress takes
    within_size: bool      # size known and < ALIEXPRESS_MAX_BYTES (unknown size → True)

    @property
    def ok(self) -> bool:
        return self.accepted_format and self.within_size


def _extension(file_name: str | None) -> str | None:
    if not file_name or "." not in file_name:
        return None
    return file_name.rsplit(".", 1)[1].strip().lower() or None


def _mime(mime_type: str | None) -> str | None:
    mime = (mime_type or "").split(";", 1)[0].strip().lower()
    # Clients send octet-stream when they don't know: that says nothing either way.
    return None if mime in ("", "application/octet-stream") else mime


def is_image(file_name: str | None, mime_type: str | None) -> bool:
    """Whether a document is meant as an image at all (accepted by AliExpress or not)."""
    mime = _mime(mime_type)
    return (mime is not None and mime.startswith("image/")) or _extension(file_name) in IMAGE_EXTENSIONS


def check_image(file_name: str | None, mime_type: str | None, size: int | None) -> ImageCheck:
    """The image against AliExpress's rules, from what Telegram tells us about it.

    The format is accepted when every known hint (extension, mime) is one
    AliExpress takes and at least one is known: AliExpress's picker goes by the
    extension, and a mismatched mime means the content isn't what the name says.
    """
    ext, mime = _extension(file_name), _mime(mime_type)
    accepted = ((ext is not None or mime is not None)
                and (ext is None or ext in ACCEPTED_EXTENSIONS)
                and (mime is None or mime in ACCEPTED_MIME_TYPES))
    # Unknown size → don't nag; the limit is strict ("under 2 MB").
    within = size is None or size < ALIEXPRESS_MAX_BYTES
    return ImageCheck(accepted_format=accepted, within_size=within)


def can_download(size: int | None) -> bool:
    """Whether the bot API will hand us the file (unknown size: don't try)."""
    return size is not None and size <= TELEGRAM_DOWNLOAD_LIMIT


def compress_for_aliexpress(data: bytes, limit: int = ALIEXPRESS_MAX_BYTES) -> bytes:
    """A metadata-free JPEG of the image, strictly under `limit` bytes.

    Tries the best quality first, then smaller sizes; raises ImageError with
    code "too_large_to_download", "corrupt", "bomb", "too_many_pixels" or "cannot_fit".
    At most MAX_CONCURRENT_DECODES run at once (callers' threads wait their turn).
    """
    if len(data) > TELEGRAM_DOWNLOAD_LIMIT:
        raise ImageError("too_large_to_download")
    with _decoding:
        return _compress(data, limit)


def decode_bounded(data: bytes) -> Image.Image:
    """The image upright in RGB, within the same pixel cap and decode slots as the AliExpress copy
    (the dossier's photos use it too). Raises ImageError like compress_for_aliexpress."""
    if len(data) > TELEGRAM_DOWNLOAD_LIMIT:
        raise ImageError("too_large_to_download")
    with _decoding:
        return _decode(data)


def _compress(data: bytes, limit: int) -> bytes:
    base = _decode(data)
    icc = base.info.get("icc_profile")
    if not (isinstance(icc, bytes) and icc[16:20] == b"RGB "):
        icc = None  # a CMYK or grey profile would misdescribe the RGB pixels
    # Nothing from the original (EXIF with GPS, XMP, comments) reaches the copy.
    base.info = {}
    for size in _sizes(base.size):
        im = base if size == base.size else base.resize(size, Image.Resampling.LANCZOS)
        # One encode at the lowest quality tells whether this size can fit at all.
        floor = _jpeg(im, QUALITIES[-1], icc)
        if len(floor) >= limit:
            continue
        for quality in QUALITIES[:-1]:
            out = _jpeg(im, quality, icc)
            if len(out) < limit:
                return out
        return floor
    raise ImageError("cannot_fit")


def _decode(data: bytes) -> Image.Image:
    """The image upright, in RGB, long side at most WORK_LONG_SIDE."""
    # catch_warnings swaps process-wide filters, so a concurrent call could lose
    # the "error" filter; the explicit pixel check below is the real guard.
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            im = Image.open(io.BytesIO(data), formats=READABLE_FORMATS)
            if im.width * im.height > MAX_PIXELS:
                raise ImageError("bomb")
            if max(im.size) > WORK_LONG_SIDE or im.width * im.height > MAX_DECODE_PIXELS:
                # JPEG can decode at 1/2, 1/4, 1/8 scale: far less memory and time.
                im.draft(None, _draft_target(im.size))
            # Checked on the size about to be decoded (after draft), before any pixel is:
            # a 6300x6300 PNG of 131 KB would otherwise take ~300 MB here.
            if im.width * im.height > MAX_DECODE_PIXELS:
                raise ImageError("too_many_pixels")
            if max(im.size) > WORK_LONG_SIDE:
                im.thumbnail((WORK_LONG_SIDE, WORK_LONG_SIDE), Image.Resampling.LANCZOS)
            im.load()
            # Phones store photos sideways plus an orientation tag; the copy
            # loses the tag, so turn the pixels instead.
            return _to_rgb(ImageOps.exif_transpose(im))
        except ImageError:
            raise
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as e:
            raise ImageError("bomb") from e
        except Exception as e:  # Pillow raises a zoo of types on hostile bytes
            raise ImageError("corrupt") from e


def _to_rgb(im: Image.Image) -> Image.Image:
    """RGB for JPEG; transparent areas become white, not black."""
    if im.has_transparency_data:
        rgba = im.convert("RGBA")
        white = Image.new("RGB", rgba.size, "white")
        white.paste(rgba, mask=rgba.getchannel("A"))
        white.info = dict(im.info)  # keep the ICC profile for the caller
        return white
    return im.convert("RGB")


def _draft_target(size: tuple[int, int]) -> tuple[int, int]:
    """The size to ask draft() for. It decodes at the strongest reduction (1/2, 1/4, 1/8)
    that still gives at least this size, which can hold up to 4 times its pixels: for an
    image over MAX_DECODE_PIXELS, ask for at most a quarter of that, so what is decoded
    stays within it."""
    w, h = _fit(size, WORK_LONG_SIDE)
    if size[0] * size[1] > MAX_DECODE_PIXELS and w * h > MAX_DECODE_PIXELS // 4:
        scale = (MAX_DECODE_PIXELS // 4 / (w * h)) ** 0.5
        w, h = max(1, int(w * scale)), max(1, int(h * scale))
    return w, h


def _fit(size: tuple[int, int], long_side: int) -> tuple[int, int]:
    w, h = size
    scale = long_side / max(w, h)
    return max(1, round(w * scale)), max(1, round(h * scale))


def _sizes(size: tuple[int, int]) -> Iterator[tuple[int, int]]:
    """The full size, then ~0.8 steps down to a long side of MIN_LONG_SIDE."""
    long_side = max(size)
    while True:
        yield _fit(size, long_side) if long_side != max(size) else size
        if long_side <= MIN_LONG_SIDE:
            return
        long_side = max(int(long_side * SCALE_STEP), MIN_LONG_SIDE)


def _jpeg(im: Image.Image, quality: int, icc: bytes | None) -> bytes:
    buf = io.BytesIO()
    # No exif= argument: Pillow then writes none. Progressive loads nicer on
    # slow connections and is usually a little smaller.
    im.save(buf, "JPEG", quality=quality, optimize=True, progressive=True, icc_profile=icc)
    return buf.getvalue()
