"""Pictures of results: confusion matrix, misclassified gallery, training curves."""

from __future__ import annotations

import math
from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np


def show_image(ax, image: np.ndarray) -> None:
    """uint8 C x H x W onto an axis, grey for one channel."""
    if image.shape[0] == 1:
        ax.imshow(image[0], cmap="gray", vmin=0, vmax=255)
    else:
        ax.imshow(image.transpose(1, 2, 0))
    ax.set_xticks([])
    ax.set_yticks([])


def confusion_figure(matrix: np.ndarray, classes: Sequence[str], title: str):
    """Counts written in the cells up to 30 classes; beyond that, colour and no class
    names (Caltech-256's 257 would not be legible) in a figure of bounded size."""
    n = len(classes)
    size = min(16.0, max(4.0, 0.45 * n + 2))
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(matrix, cmap="Blues")
    if n <= 60:
        ax.set_xticks(range(n), classes, rotation=90 if n > 10 or max(map(len, classes)) > 4 else 0)
        ax.set_yticks(range(n), classes)
    ax.set_xlabel("predicted" + ("" if n <= 60 else f" (class index, {n} classes)"))
    ax.set_ylabel("actual")
    ax.set_title(title)
    if n <= 30:
        threshold = matrix.max() / 2
        for i in range(n):
            for j in range(n):
                ax.text(j, i, str(matrix[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if matrix[i, j] > threshold else "black")
    fig.tight_layout()
    return fig


def gallery_figure(images: np.ndarray, captions: Sequence[str], title: str, columns: int = 6):
    """A grid of uint8 C x H x W images with a caption under each."""
    count = max(1, len(images))
    columns = min(columns, count)
    rows = math.ceil(count / columns)
    fig, axes = plt.subplots(rows, columns, figsize=(2.1 * columns, 2.4 * rows + 0.4), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, caption in zip(axes.flat, images, captions, strict=False):
        ax.axis("on")
        show_image(ax, image)
        ax.set_title(caption, fontsize=8)
    if len(images) == 0:
        axes[0, 0].text(0.5, 0.5, "no misclassified images", ha="center", va="center")
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def curves_figure(histories: dict[str, dict[str, list[float]]]):
    """Loss and accuracy per epoch; one line per variant (train dashed, val solid)."""
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 4))
    for i, (name, h) in enumerate(histories.items()):
        color = f"C{i % 10}"
        ax_loss.plot(h["epoch"], h["train_loss"], "--", color=color, alpha=0.7)
        # markers: with validate: last_epoch the val line is one point
        ax_loss.plot(h["epoch"], h["val_loss"], "-", marker=".", color=color, label=name)
        ax_acc.plot(h["epoch"], h["train_accuracy"], "--", color=color, alpha=0.7)
        ax_acc.plot(h["epoch"], h["val_accuracy"], "-", marker=".", color=color, label=name)
    ax_loss.set_title("loss (dashed: train, solid: val)")
    ax_acc.set_title("accuracy (dashed: train, solid: val)")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    ax_acc.legend(fontsize=8)
    fig.tight_layout()
    return fig


def time_accuracy_figure(points: dict[str, tuple[float, float, float, float]], title: str):
    """Each variant at (training seconds, mean test accuracy) with its 95% interval: what
    a variant's accuracy costs, the cheaper and better ones up and to the left."""
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (name, (seconds, value, low, high)) in enumerate(points.items()):
        ax.errorbar(seconds, 100 * value, yerr=[[100 * (value - low)], [100 * (high - value)]], fmt="o",
                    color=f"C{i % 10}", capsize=4, label=name)
        ax.annotate(name, (seconds, 100 * value), textcoords="offset points", xytext=(6, 4), fontsize=8)
    ax.set_xlabel("training time of the first seed, s")
    ax.set_ylabel("mean test accuracy, % (95% interval)")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
