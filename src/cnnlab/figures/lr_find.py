"""The LR range test: loss against learning rate, with the suggestion marked."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt


def lr_find_figure(lrs: Sequence[float], losses: Sequence[float], smoothed: Sequence[float],
                   suggestion: float, title: str):
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ax.plot(lrs, losses, color="0.75", linewidth=0.8, label="loss per batch")
    ax.plot(lrs, smoothed, color="C0", label="smoothed loss")
    ax.axvline(suggestion, color="C3", linestyle="--", label=f"suggestion {suggestion:.2g} (steepest descent)")
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    top = max(smoothed[0] * 1.5, min(smoothed) * 2)
    ax.set_ylim(min(min(losses), min(smoothed)) * 0.9, top)
    ax.set_title(title)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
