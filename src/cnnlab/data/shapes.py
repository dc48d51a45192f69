"""`shapes`: a synthetic dataset whose answer to "where is the evidence?" is known.

Each image holds one object (circle, square, triangle or cross: its class) of random
size, colour and position on a cluttered background (smooth colour noise, pixel
noise and line segments as stark as the object), and the object's mask is kept. Saliency methods can
then be scored on whether they point at the object (the pointing game), which no
natural dataset here can do. Generated from the seed, offline, in a second or two.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from cnnlab.data.canonical import ImageSet

SHAPES = ["circle", "square", "triangle", "cross"]
MIN_SIZE = 16  # below this, a cross and a square are a few pixels apart


def shape_mask(kind: str, size: int, cx: float, cy: float, r: float) -> np.ndarray:
    """H x W bool: the pixels of one shape of 'radius' r centred at (cx, cy)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) + 0.5
    dx, dy = x - cx, y - cy
    if kind == "circle":
        return dx * dx + dy * dy <= r * r
    if kind == "square":
        return (np.abs(dx) <= 0.8 * r) & (np.abs(dy) <= 0.8 * r)
    if kind == "triangle":  # apex up, base at the bottom
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2)
    if kind == "cross":
        arm = r / 3
        return ((np.abs(dx) <= arm) & (np.abs(dy) <= r)) | ((np.abs(dy) <= arm) & (np.abs(dx) <= r))
    raise ValueError(kind)


def clutter(rng: np.random.Generator, size: int) -> np.ndarray:
    """3 x H x W floats in [0, 1]: smooth colour noise, pixel noise and a few line segments."""
    coarse = torch.from_numpy(rng.uniform(0.1, 0.6, (1, 3, 4, 4)).astype(np.float32))
    image = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)[0].numpy()
    image += rng.normal(0, 0.05, image.shape).astype(np.float32)
    thickness = max(1, size // 16)
    for _ in range(3):
        # Segments as sharp and as bright (or dark) as an object: edges alone do not find it.
        (x0, y0), (x1, y1) = rng.uniform(0, size, (2, 2))
        steps = np.linspace(0, 1, 2 * size)
        colour = extreme_colour(rng)[:, None]
        for offset in range(thickness):
            xs = np.clip((x0 + (x1 - x0) * steps).astype(int) + offset, 0, size - 1)
            ys = np.clip((y0 + (y1 - y0) * steps).astype(int), 0, size - 1)
            image[:, ys, xs] = colour
    return image


def extreme_colour(rng: np.random.Generator) -> np.ndarray:
    """A light or a dark colour, so the shape stands out from the mid-tone clutter."""
    return rng.uniform(0.65, 1.0, 3) if rng.random() < 0.5 else rng.uniform(0.0, 0.1, 3)


def make_shapes(count: int, image_size: int, seed: int) -> ImageSet:
    """count images, classes balanced in turn, with each object's mask."""
    if image_size < MIN_SIZE:
        raise ValueError(f"shapes needs image_size >= {MIN_SIZE}")
    rng = np.random.default_rng(seed)
    images = np.empty((count, 3, image_size, image_size), dtype=np.uint8)
    masks = np.empty((count, image_size, image_size), dtype=bool)
    labels = np.arange(count) % len(SHAPES)
    for i, label in enumerate(labels):
        r = rng.uniform(image_size / 7, image_size / 4.5)
        cx, cy = rng.uniform(r, image_size - r, 2)
        mask = shape_mask(SHAPES[label], image_size, cx, cy, r)
        image = clutter(rng, image_size)
        image[:, mask] = extreme_colour(rng)[:, None]
        images[i] = np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
        masks[i] = mask
    return ImageSet(torch.from_numpy(images), torch.from_numpy(labels.astype(np.int64)), list(SHAPES),
                    torch.zeros(count, dtype=torch.bool), f"shapes (synthetic, seed {seed})",
                    masks=torch.from_numpy(masks))
