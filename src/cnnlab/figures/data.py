"""Figures of the data itself: images per class and split, and sample images per class."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np

from cnnlab.figures.results import show_image


def class_counts_figure(classes: Sequence[str], counts: dict[str, np.ndarray]):
    """Horizontal bars, one per class, stacked by split."""
    height = min(30.0, max(2.8, 1.2 + 0.28 * len(classes)))
    fig, ax = plt.subplots(figsize=(8, height))
    left = np.zeros(len(classes))
    y = np.arange(len(classes))[::-1]  # the first class on top
    for i, (split, n) in enumerate(counts.items()):
        ax.barh(y, n, left=left, color=f"C{i}", label=split)
        left += n
    ax.set_yticks(y, [str(c) for c in classes], fontsize=8 if len(classes) <= 40 else 5)
    ax.set_xlabel("images")
    ax.set_title(f"images per class ({int(left.sum()):,} in all)")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def samples_figure(rows: Sequence[tuple[str, np.ndarray]], title: str):
    """A row of uint8 C x H x W images per class, the class named on the left."""
    columns = max([len(images) for _, images in rows] + [1])
    fig, axes = plt.subplots(len(rows), columns, figsize=(0.9 * columns + 1.2, 0.9 * len(rows) + 0.6),
                             squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for r, (name, images) in enumerate(rows):
        for c, image in enumerate(images):
            show_image(axes[r, c], image)
            axes[r, c].axis("off")
        axes[r, 0].text(-0.1, 0.5, name, transform=axes[r, 0].transAxes, ha="right", va="center", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig
