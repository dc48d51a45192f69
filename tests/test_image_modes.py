"""Every image mode decoded as a person would see it: scaled, upright, composited, first frame."""

import io

import numpy as np
import pytest
from PIL import Image

from cnnlab.data.decode import BACKGROUND, decode


def encoded(img: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format=fmt, **kw)
    return buf.getvalue()


def test_16_bit_grey_is_scaled_by_its_range_not_clipped_to_white():
    values = np.array([[0, 257, 32896, 65535]] * 4, dtype=np.uint16)  # 0, 1, 128, 255 once scaled
    data = encoded(Image.fromarray(values))
    assert Image.open(io.BytesIO(data)).mode.startswith("I")
    out = decode(data, 4, "L")
    assert out.shape == (1, 4, 4) and out[0, 0].tolist() == [0, 1, 128, 255]
    assert decode(data, 4, "RGB")[:, 0, 2].tolist() == [128, 128, 128]


@pytest.mark.parametrize("values, expected", [
    (np.array([[1000, 1500, 2000, 2000]] * 4, dtype=np.int32), [0, 128, 255, 255]),  # I: its own range
    (np.array([[-1.0, 0.0, 1.0, 1.0]] * 4, dtype=np.float32), [0, 128, 255, 255]),  # F: its own range
])
def test_32_bit_and_float_greys_are_scaled_by_the_images_range(values, expected):
    img = Image.fromarray(values)
    assert img.mode in ("I", "F")
    assert decode(encoded(img, "TIFF"), 4, "L")[0, 0].tolist() == expected


def test_exif_orientation_is_applied():
    pixels = np.zeros((6, 6, 3), dtype=np.uint8)
    pixels[0, 0] = [255, 0, 0]  # a red mark at the stored top-left
    img = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display"
    out = decode(encoded(img, exif=exif), 6, "RGB").transpose(1, 2, 0)
    upright = np.asarray(img.transpose(Image.Transpose.ROTATE_270))
    assert np.array_equal(out, upright)
    assert out[0, 5].tolist() == [255, 0, 0]  # the mark is now top-right


@pytest.mark.parametrize("mode", ["RGBA", "LA"])
def test_transparent_pixels_are_composited_on_the_fixed_background(mode):
    img = Image.new(mode, (4, 4), (10, 20, 30, 255) if mode == "RGBA" else (40, 255))
    img.putpixel((0, 0), (10, 20, 30, 0) if mode == "RGBA" else (40, 0))
    out = decode(encoded(img), 4, "RGB")
    assert out[:, 0, 0].tolist() == list(BACKGROUND)
    assert out[:, 3, 3].tolist() == ([10, 20, 30] if mode == "RGBA" else [40, 40, 40])


def test_palette_images_with_and_without_transparency():
    img = Image.new("P", (4, 4), 1)
    img.putpalette([0, 0, 0, 200, 50, 50] + [0] * 762)
    img.putpixel((0, 0), 0)
    plain = decode(encoded(img), 4, "RGB")
    assert plain[:, 0, 0].tolist() == [0, 0, 0] and plain[:, 1, 1].tolist() == [200, 50, 50]
    see_through = decode(encoded(img, transparency=0), 4, "RGB")
    assert see_through[:, 0, 0].tolist() == list(BACKGROUND) and see_through[:, 1, 1].tolist() == [200, 50, 50]


def test_animated_gif_is_read_from_its_first_frame():
    frames = [Image.new("RGB", (4, 4), c) for c in ((255, 0, 0), (0, 0, 255))]
    data = encoded(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100)
    assert Image.open(io.BytesIO(data)).n_frames == 2
    out = decode(data, 4, "RGB")
    assert out[0].min() > 200 and out[2].max() < 50


def test_cmyk_and_one_bit_images():
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # pure red
    assert decode(encoded(cmyk, "TIFF"), 4, "RGB")[:, 0, 0].tolist() == [255, 0, 0]
    bits = Image.new("1", (4, 4), 0)
    bits.putpixel((1, 1), 1)
    out = decode(encoded(bits), 4, "L")[0]
    assert out[1, 1] == 255 and out[0, 0] == 0
