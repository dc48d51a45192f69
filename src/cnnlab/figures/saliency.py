"""Original | heatmap | overlay, one row per explained image."""

from __future__ import annotations

from typing import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.figures.results import show_image


def overlay_rgba(saliency: np.ndarray, limit: float) -> np.ndarray:
    """Positive saliency as colour whose opacity grows with it; zero stays transparent."""
    strength = np.clip(saliency / limit, 0.0, 1.0)
    rgba = plt.get_cmap("inferno")(strength)
    rgba[..., 3] = 0.75 * strength
    return rgba


def saliency_figure(images: np.ndarray, maps: np.ndarray, row_titles: Sequence[str],
                    map_titles: Sequence[str], title: str, unit: str = "drop in p(true class)"):
    """images: uint8 N x C x H x W; maps: N x H x W, signed.

    Each row gets its own symmetric colour scale (and colorbar): a confident model's
    maps can be orders of magnitude apart, and one shared scale hides the small ones.
    """
    n = len(images)
    fig, axes = plt.subplots(n, 3, figsize=(7.6, 2.4 * n + 0.6), squeeze=False, layout="constrained")
    for row in range(n):
        ax_img, ax_map, ax_over = axes[row]
        limit = max(float(np.abs(maps[row]).max()), 1e-6)
        show_image(ax_img, images[row])
        ax_img.set_title(row_titles[row], fontsize=8)
        heat = ax_map.imshow(maps[row], cmap="RdBu_r", vmin=-limit, vmax=limit)
        ax_map.set_xticks([])
        ax_map.set_yticks([])
        ax_map.set_title(map_titles[row], fontsize=8)
        bar = fig.colorbar(heat, ax=ax_map, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=6)
        show_image(ax_over, images[row])
        ax_over.imshow(overlay_rgba(maps[row], limit))
        ax_over.set_title("overlay (where it helps)", fontsize=8)
    fig.suptitle(f"{title}\nheatmap: {unit}, red = evidence for the class", fontsize=10)
    return fig
