"""Saliency pictures: original | heatmap | overlay rows, grids of maps, and PNG-ready arrays."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.figures.results import show_image


def symmetric_limit(saliency: np.ndarray, floor: float = 1e-12) -> float:
    """The largest |value| of a map, at least `floor`: the ends of its diverging colour scale."""
    return max(float(np.abs(saliency).max()), floor)


def overlay_rgba(saliency: np.ndarray, limit: float) -> np.ndarray:
    """Positive saliency as colour whose opacity grows with it; zero stays transparent."""
    strength = np.clip(saliency / limit, 0.0, 1.0)
    rgba = plt.get_cmap("inferno")(strength)
    rgba[..., 3] = 0.75 * strength
    return rgba


def panels(rows: int, cols: int, title: str):
    """A rows x cols grid of square panels with room for titles and colour bars.

    Laid out by fixed margins rather than matplotlib's constrained layout, which costs
    seconds per figure once every panel has a colour bar."""
    head, width, height = 0.6, 2.15 * cols + 0.1, 2.1 * rows + 0.6
    fig = plt.figure(figsize=(width, height))
    axes = fig.subplots(rows, cols, squeeze=False)
    fig.subplots_adjust(left=0.1 / width, right=1 - 0.45 / width, bottom=0.05 / height, top=1 - head / height,
                        wspace=0.42, hspace=0.38)
    fig.suptitle(title, fontsize=9, y=1 - 0.08 / height, va="top")
    return fig, axes


def colour_bar(fig, ax, mappable) -> None:
    bar = fig.colorbar(mappable, cax=ax.inset_axes([1.04, 0.0, 0.06, 1.0]))
    bar.ax.tick_params(labelsize=5)
    bar.ax.yaxis.get_offset_text().set_fontsize(5)


def saliency_figure(images: np.ndarray, maps: np.ndarray, row_titles: Sequence[str],
                    map_titles: Sequence[str], title: str, unit: str = "drop in p(true class)"):
    """images: uint8 N x C x H x W; maps: N x H x W, signed.

    Each row gets its own symmetric colour scale (and colorbar): a confident model's
    maps can be orders of magnitude apart, and one shared scale hides the small ones.
    """
    n = len(images)
    fig, axes = panels(n, 3, f"{title}\nheatmap: {unit}, red = evidence for the class")
    for row in range(n):
        ax_img, ax_map, ax_over = axes[row]
        limit = symmetric_limit(maps[row], floor=1e-6)
        show_image(ax_img, images[row])
        ax_img.set_title(row_titles[row], fontsize=7)
        heat = ax_map.imshow(maps[row], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax_map.set_xticks([])
        ax_map.set_yticks([])
        ax_map.set_title(map_titles[row], fontsize=7)
        colour_bar(fig, ax_map, heat)
        show_image(ax_over, images[row])
        ax_over.imshow(overlay_rgba(maps[row], limit))
        ax_over.set_title("overlay (where it helps)", fontsize=7)
    return fig


def grey(image: np.ndarray) -> np.ndarray:
    """uint8 C x H x W -> H x W luminance in [0, 1], the backdrop a coloured map stays legible on."""
    return image.astype(np.float32).mean(0) / 255.0


def draw_map(fig, ax, image: np.ndarray, saliency: np.ndarray, title: str) -> None:
    """A signed map over the image in grey, one symmetric diverging scale with its colour bar."""
    limit = symmetric_limit(saliency)
    ax.imshow(grey(image), cmap="gray", vmin=0, vmax=1)
    heat = ax.imshow(saliency, cmap="RdBu_r", vmin=-limit, vmax=limit, alpha=0.65)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_title(title, fontsize=7)
    colour_bar(fig, ax, heat)


def map_grid(images: np.ndarray, columns: Sequence[tuple[str, np.ndarray]], row_titles: Sequence[str],
             title: str):
    """One row per image: the image, then one map per column (column title, N x H x W maps).
    Serves methods side by side, target classes side by side and predicted vs true class."""
    fig, axes = panels(len(images), len(columns) + 1,
                       f"{title}\nred = evidence for the class, blue = against (each map its own scale)")
    for row in range(len(images)):
        show_image(axes[row][0], images[row])
        axes[row][0].set_title(row_titles[row], fontsize=7)
        for col, (name, maps) in enumerate(columns, start=1):
            draw_map(fig, axes[row][col], images[row], maps[row], name)
    return fig


def heatmap_rgb(saliency: np.ndarray) -> np.ndarray:
    """H x W signed map -> H x W x 3 uint8, diverging around zero on a symmetric scale."""
    limit = symmetric_limit(saliency)
    rgba = plt.get_cmap("RdBu_r")((saliency / limit + 1) / 2)
    return (rgba[..., :3] * 255).round().astype(np.uint8)


def overlay_rgb(image: np.ndarray, saliency: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """uint8 C x H x W image in grey under the diverging map, blended: H x W x 3 uint8."""
    backdrop = np.repeat((grey(image) * 255)[..., None], 3, axis=2)
    strength = opacity * np.clip(np.abs(saliency) / symmetric_limit(saliency), 0, 1)[..., None]
    return (backdrop * (1 - strength) + heatmap_rgb(saliency) * strength).round().astype(np.uint8)
