"""One image file's bytes -> the picture a person sees, or the plain reason it is not one.

Used for every folder source and for `cnnlab explain`, so an image means the same in
training and in an explanation.
"""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

# The default limit against decompression bombs: PIL's own. decode() checks each image's
# size against the limit it is given, before any pixel is decoded, so PIL's global guard
# (which would refuse anything above twice its limit, whatever data.max_image_pixels says)
# is switched off in favour of it.
MAX_IMAGE_PIXELS = 89_478_485
Image.MAX_IMAGE_PIXELS = None
# Transparent pixels are composited on this colour, the same for every image.
BACKGROUND = (255, 255, 255)
# The kinds of bad file, each counted on its own in the download stage's metrics.
BAD_KINDS = ("empty", "not_an_image", "truncated", "too_large")


class BadImage(Exception):
    """A file that is not a usable image: `kind` (one of BAD_KINDS) and a plain `reason`."""

    def __init__(self, kind: str, reason: str):
        super().__init__(reason)
        self.kind = kind
        self.reason = reason


def to_8bit(img: Image.Image) -> Image.Image:
    """16-bit, 32-bit and float greys as 8-bit grey, scaled rather than clipped: I;16
    by its type's range (0..65535), I and F by the image's own range (they carry any
    scale). PIL's own convert("L") clips these, which turns most 16-bit scans white."""
    if img.mode.startswith("I;16"):
        values = np.asarray(img, dtype=np.float64) / 257.0
    else:
        values = np.asarray(img, dtype=np.float64)
        low, high = float(values.min()), float(values.max())
        values = (values - low) * (255.0 / (high - low)) if high > low else np.zeros_like(values)
    return Image.fromarray(np.clip(np.rint(values), 0, 255).astype(np.uint8), mode="L")


def faithful(img: Image.Image, mode: str) -> Image.Image:
    """The picture as a person sees it, in `mode` (RGB or L): upright per its EXIF
    orientation, high-bit-depth greys scaled, transparency over a fixed background."""
    img = ImageOps.exif_transpose(img)
    if img.mode in ("I", "F") or img.mode.startswith("I;16"):
        img = to_8bit(img)
    if img.mode == "P" and "transparency" in img.info:
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        backdrop = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
        img = Image.alpha_composite(backdrop, rgba)
    return img.convert(mode)


# How common image files start: one that starts so but does not open is damaged, not foreign.
SIGNATURES = {b"\xff\xd8\xff": "JPEG", b"\x89PNG\r\n\x1a\n": "PNG", b"GIF87a": "GIF", b"GIF89a": "GIF",
              b"BM": "BMP", b"II*\x00": "TIFF", b"MM\x00*": "TIFF", b"RIFF": "WebP"}


def opened(data: bytes, max_pixels: int) -> Image.Image:
    """The image in data, header read, pixels not yet decoded; BadImage when it is none."""
    if not data:
        raise BadImage("empty", "empty file (0 bytes)")
    try:
        img = Image.open(io.BytesIO(data))
    except (UnidentifiedImageError, OSError, ValueError):
        kind = next((name for magic, name in SIGNATURES.items() if data.startswith(magic)), None)
        if kind:
            raise BadImage("truncated", f"truncated or damaged: starts as a {kind} file but its header "
                                        f"cannot be read") from None
        raise BadImage("not_an_image", "not an image: no image format Pillow knows starts this "
                                       "file") from None
    width, height = img.size
    if width * height > max_pixels:
        img.close()
        raise BadImage("too_large", f"too large: {width}x{height} = {width * height:,} pixels, above "
                                    f"data.max_image_pixels ({max_pixels:,})")
    return img


def decode(data: bytes, size: int, mode: str, max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Decode (an animation's first frame), make it faithful, resize the shorter side to
    `size` and centre-crop square: uint8 C x size x size. BadImage says why it cannot."""
    with opened(data, max_pixels) as img:
        try:
            img.draft(mode, (size, size))  # JPEG: decode at reduced scale when much larger
            img = faithful(img, mode)
        except (OSError, ValueError, SyntaxError) as exc:
            # PIL's messages here are plain ("image file is truncated (12 bytes not processed)").
            raise BadImage("truncated", f"truncated or damaged: {exc}") from None
        if img.size != (size, size):
            img = ImageOps.fit(img, (size, size), method=Image.Resampling.BILINEAR)
        arr = np.asarray(img, dtype=np.uint8)
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)
