"""A logo made small once, at upload, so that every PDF and email embeds a few kilobytes.

A 236 KB PNG can declare 9000×9000 pixels: decoded, that is 240 MB, and every PDF of the
organization paid it again. The size is read from the header before anything is decoded, an
image above `MAX_PIXELS` is refused, and the rest is decoded once, shrunk to fit
`MAX_SIDE`×`MAX_SIDE` and re-encoded without its metadata (EXIF, comments, GPS positions).
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from flask_babel import gettext as _
from PIL import Image, ImageOps, UnidentifiedImageError

from core.errors import ValidationFailed

MAX_PIXELS = 40_000_000
MAX_SIDE = 600
JPEG_QUALITY = 88
_FORMATS = {"PNG": "image/png", "JPEG": "image/jpeg"}


@dataclass(frozen=True)
class Logo:
    data: bytes
    mime: str
    width: int
    height: int


def prepare_logo(data: bytes) -> Logo:
    """The logo as stored: PNG stays PNG (transparency kept), JPEG stays JPEG, at most
    `MAX_SIDE` pixels a side. Raises ValidationFailed (field "logo") for anything else."""
    with _open(data) as image:
        _check_pixels(image)
        kind = "PNG" if image.format == "PNG" else "JPEG"  # JPEG's plugin also opens MPO
        if kind == "JPEG":
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG decodes straight at 1/2…1/8 scale
        small = _shrink(image)
    output = io.BytesIO()
    if kind == "JPEG":
        small.convert("RGB").save(output, "JPEG", quality=JPEG_QUALITY, optimize=True)
    else:
        _png_mode(small).save(output, "PNG", optimize=True)
    return Logo(output.getvalue(), _FORMATS[kind], small.width, small.height)


def _open(data: bytes) -> Image.Image:
    """The image with only its header read; PNG and JPEG alone."""
    try:
        with warnings.catch_warnings():
            # Our own cap is below Pillow's bomb warning, and a corrupt EXIF block only warns:
            # neither may become a 500.
            warnings.simplefilter("ignore")
            image = Image.open(io.BytesIO(data), formats=list(_FORMATS))
    except Image.DecompressionBombError as error:  # beyond twice Pillow's own limit
        raise _too_large(None) from error
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise _not_an_image() from error
    return image


def _check_pixels(image: Image.Image) -> None:
    width, height = image.size
    if width < 1 or height < 1:
        raise _not_an_image()
    if width * height > MAX_PIXELS:
        raise _too_large((width, height))


def _shrink(image: Image.Image) -> Image.Image:
    """Decoded once, turned upright (EXIF orientation), fitted into MAX_SIDE × MAX_SIDE."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            upright = ImageOps.exif_transpose(image)
            upright.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    except (OSError, ValueError, SyntaxError) as error:  # truncated or corrupt pixel data
        raise _not_an_image() from error
    return upright


def _png_mode(image: Image.Image) -> Image.Image:
    """A mode PNG writes as is: palette and grey stay, 16-bit and CMYK-like modes become RGB(A)."""
    if image.mode in ("1", "L", "LA", "P", "RGB", "RGBA"):
        return image
    return image.convert("RGBA" if "A" in image.getbands() else "RGB")


def _too_large(size: tuple[int, int] | None) -> ValidationFailed:
    limit = MAX_PIXELS // 1_000_000
    if size is None:
        message = _(
            "El logo es demasiado grande: subí una imagen de hasta %(megapixels)s megapíxeles "
            "(600 × 600 alcanza).",
            megapixels=limit,
        )
    else:
        message = _(
            "El logo mide %(width)s × %(height)s píxeles: es demasiado grande. Subí una imagen "
            "de hasta %(megapixels)s megapíxeles (600 × 600 alcanza).",
            width=size[0],
            height=size[1],
            megapixels=limit,
        )
    return ValidationFailed(message, field="logo")


def _not_an_image() -> ValidationFailed:
    return ValidationFailed(
        _("El logo tiene que ser una imagen PNG o JPEG que se pueda abrir."), field="logo"
    )
