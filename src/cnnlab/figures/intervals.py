"""The report's chart of every variant's test accuracy with its interval and its seeds."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt


def intervals_figure(points: dict[str, tuple[float, float, float]], what: str,
                     seeds: dict[str, Sequence[float]] | None = None, outliers: dict[str, list[int]] | None = None,
                     chance: float = 0.0):
    """Each variant's test accuracy as a point with its 95% interval (value, low, high), one
    row per variant, so overlapping intervals are seen at a glance; each seed's accuracy a
    small dot beneath it (an outlying seed in red), and the chance level as a dashed line
    when it is near."""
    names = list(points)
    seeds, outliers = seeds or {}, outliers or {}
    fig, ax = plt.subplots(figsize=(7, 0.55 * len(names) + 1.4))
    for row, name in enumerate(names):
        value, low, high = (100 * v for v in points[name])
        ax.errorbar(value, row, xerr=[[value - low], [high - value]], fmt="o", color=f"C{row % 10}", capsize=4)
        ax.annotate(f"{value:.1f}", (value, row), textcoords="offset points", xytext=(0, 7), ha="center",
                    fontsize=8)
        per_seed = list(seeds.get(name, ()))
        if len(per_seed) > 1:
            far = set(outliers.get(name, ()))
            ax.scatter([100 * a for a in per_seed], [row + 0.22] * len(per_seed), s=14, zorder=3,
                       color=["red" if i in far else "0.35" for i in range(len(per_seed))])
    lowest = min(100 * p[1] for p in points.values())
    if chance and 100 * chance >= lowest - 10:
        ax.axvline(100 * chance, color="0.5", linestyle="--", linewidth=1)
        ax.annotate("chance", (100 * chance, -0.6), fontsize=8, color="0.4", ha="center")
    ax.set_yticks(range(len(names)), names)
    ax.set_ylim(-0.8, len(names) - 0.2)
    ax.invert_yaxis()
    ax.set_xlabel(f"test accuracy, % (95% interval: {what})" + ("; dots: each seed" if any(
        len(v) > 1 for v in seeds.values()) else ""), wrap=True)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig
