"""Saliency pictures: original | heatmap | overlay rows, grids of maps, and PNG-ready arrays.

A figure is one picture of panels composed with numpy and shown by one matplotlib axes, with
the titles and colour-bar labels as text on top. A grid of a hundred axes, each map with its
own colour-bar axes, took matplotlib seconds to lay out and draw per figure (four figures per
variant, the largest share of the saliency stage); one axes takes milliseconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import matplotlib.pyplot as plt
import numpy as np

DPI = 100           # save_figure's: one canvas pixel is one PNG pixel
PANEL = 150         # pixels of a panel's longer side, reached by whole-number upscaling
TITLE = 30          # pixels above a panel for its title (two lines of 7 pt)
BAR, BAR_TEXT = 8, 40  # a colour bar's width, and room beside it for its labels
GAP = 12
HEAD_LINE = 14      # pixels per line of the figure's title
MAP_ALPHA = 0.65    # a signed map over its grey image


def symmetric_limit(saliency: np.ndarray, floor: float = 1e-12) -> float:
    """The largest |value| of a map, at least `floor`: the ends of its diverging colour scale."""
    return max(float(np.abs(saliency).max()), floor)


def grey(image: np.ndarray) -> np.ndarray:
    """uint8 C x H x W -> H x W luminance in [0, 1], the backdrop a coloured map stays legible on."""
    return image.astype(np.float32).mean(0) / 255.0


def grey_rgb(image: np.ndarray) -> np.ndarray:
    """uint8 C x H x W -> its luminance as H x W x 3 floats in [0, 1]."""
    return np.repeat(grey(image)[..., None], 3, axis=2)


def rgb(image: np.ndarray) -> np.ndarray:
    """uint8 C x H x W (C = 1 or 3) -> H x W x 3 floats in [0, 1]."""
    pixels = image.astype(np.float32).transpose(1, 2, 0) / 255.0
    return np.repeat(pixels, 3, axis=2) if pixels.shape[2] == 1 else pixels


def diverging(saliency: np.ndarray, limit: float) -> np.ndarray:
    """H x W signed map -> H x W x 3 colours of RdBu_r, -limit blue, 0 white, +limit red."""
    return plt.get_cmap("RdBu_r")(np.clip((saliency / limit + 1) / 2, 0, 1))[..., :3]


def blend(under: np.ndarray, over: np.ndarray, opacity: np.ndarray | float) -> np.ndarray:
    opacity = opacity[..., None] if isinstance(opacity, np.ndarray) else opacity
    return under * (1 - opacity) + over * opacity


def map_over_image(image: np.ndarray, saliency: np.ndarray, limit: float) -> np.ndarray:
    """A signed map on its symmetric diverging scale over the image in grey."""
    return blend(grey_rgb(image), diverging(saliency, limit), MAP_ALPHA)


def positive_overlay(image: np.ndarray, saliency: np.ndarray, limit: float) -> np.ndarray:
    """Positive saliency as inferno colour whose opacity grows with it; zero leaves the image."""
    strength = np.clip(saliency / limit, 0.0, 1.0)
    return blend(rgb(image), plt.get_cmap("inferno")(strength)[..., :3], 0.75 * strength)


@dataclass
class PanelGrid:
    """rows x len(bars) panels of h x w pictures, each with a title and, in the columns whose
    `bars` entry is true, a colour bar from -limit to +limit: drawn into one canvas, shown by
    one axes."""

    rows: int
    height: int
    width: int
    title: str
    bars: Sequence[bool]
    texts: list[tuple[float, float, str, dict]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.scale = max(1, PANEL // max(self.height, self.width))
        self.panel_h, self.panel_w = self.height * self.scale, self.width * self.scale
        widths = [self.panel_w + GAP + (BAR + BAR_TEXT if bar else 0) for bar in self.bars]
        self.lefts = np.concatenate([[GAP], GAP + np.cumsum(widths)[:-1]]).astype(int)
        self.head = HEAD_LINE * (self.title.count("\n") + 1) + GAP
        self.canvas = np.ones((self.head + self.rows * (TITLE + self.panel_h + GAP),
                               GAP + sum(widths), 3), dtype=np.float32)

    def box(self, row: int, col: int) -> tuple[int, int]:
        """The canvas pixel (y, x) of a panel's top-left corner."""
        return self.head + row * (TITLE + self.panel_h + GAP) + TITLE, int(self.lefts[col])

    def put(self, row: int, col: int, picture: np.ndarray, title: str | None, limit: float | None = None) -> None:
        """picture: h x w x 3 floats in [0, 1]; title: above the panel (None: none, where the
        column has one title); limit: the ends of its colour bar, if it has one."""
        y, x = self.box(row, col)
        big = picture.repeat(self.scale, axis=0).repeat(self.scale, axis=1)
        self.canvas[y:y + self.panel_h, x:x + self.panel_w] = big
        if title is not None:
            self.title_over(y, x, title)
        if limit is not None:
            self.colour_bar(y, x + self.panel_w + 4, limit)

    def column_title(self, col: int, title: str) -> None:
        """A title over a whole column, above the first row's panel."""
        self.title_over(*self.box(0, col), title)

    def title_over(self, y: int, x: int, title: str) -> None:
        self.texts.append((x + self.panel_w / 2, y - 3, title, {"ha": "center", "va": "bottom", "fontsize": 7}))

    def colour_bar(self, y: int, x: int, limit: float) -> None:
        values = np.linspace(limit, -limit, self.panel_h)[:, None].repeat(BAR, axis=1)
        self.canvas[y:y + self.panel_h, x:x + BAR] = blend(1.0, diverging(values, limit), MAP_ALPHA)
        for offset, value in ((0, limit), (self.panel_h, -limit)):  # white in the middle is 0
            self.texts.append((x + BAR + 2, y + offset, f"{value:.2g}", {"ha": "left", "va": "center", "fontsize": 5}))

    def figure(self):
        """The canvas placed pixel for pixel (figimage: no resampling), the text over it."""
        height, width = self.canvas.shape[:2]
        fig = plt.figure(figsize=(width / DPI, height / DPI), dpi=DPI)
        fig.figimage((self.canvas * 255).round().astype(np.uint8), origin="upper")
        fig.text(0.5, 1 - (HEAD_LINE / 2) / height, self.title, ha="center", va="top", fontsize=9)
        for x, y, text, style in self.texts:
            fig.text(x / width, 1 - y / height, text, **style)
        return fig


def saliency_figure(images: np.ndarray, maps: np.ndarray, row_titles: Sequence[str],
                    map_titles: Sequence[str], title: str, unit: str = "drop in p(true class)"):
    return saliency_panels(images, maps, row_titles, map_titles, title, unit).figure()


def saliency_panels(images: np.ndarray, maps: np.ndarray, row_titles: Sequence[str],
                    map_titles: Sequence[str], title: str, unit: str = "drop in p(true class)") -> PanelGrid:
    """Per image: the image | its heatmap | the heatmap's positive part over the image.
    images: uint8 N x C x H x W; maps: N x H x W, signed.

    Each row gets its own symmetric colour scale (and colour bar): a confident model's
    maps can be orders of magnitude apart, and one shared scale hides the small ones.
    """
    grid = PanelGrid(len(images), *images.shape[2:], f"{title}\nheatmap: {unit}, red = evidence for the class",
                     bars=[False, True, False])
    for row, (image, saliency) in enumerate(zip(images, maps, strict=True)):
        limit = symmetric_limit(saliency, floor=1e-6)
        grid.put(row, 0, rgb(image), row_titles[row])
        grid.put(row, 1, diverging(saliency, limit), map_titles[row], limit)
        grid.put(row, 2, positive_overlay(image, saliency, limit), "overlay (where it helps)")
    return grid


def map_grid(images: np.ndarray, columns: Sequence[tuple[str, np.ndarray]], row_titles: Sequence[str],
             title: str):
    return map_panels(images, columns, row_titles, title).figure()


def map_panels(images: np.ndarray, columns: Sequence[tuple[str, np.ndarray]], row_titles: Sequence[str],
               title: str) -> PanelGrid:
    """One row per image: the image, then one map per column (column title, N x H x W maps),
    each over the image in grey on its own symmetric scale. Serves methods side by side,
    target classes side by side and predicted vs true class."""
    grid = PanelGrid(len(images), *images.shape[2:],
                     f"{title}\nred = evidence for the class, blue = against (each map its own scale)",
                     bars=[False] + [True] * len(columns))
    for col, (name, _) in enumerate(columns, start=1):
        grid.column_title(col, name)
    for row, image in enumerate(images):
        grid.put(row, 0, rgb(image), row_titles[row])
        for col, (_, maps) in enumerate(columns, start=1):
            limit = symmetric_limit(maps[row])
            grid.put(row, col, map_over_image(image, maps[row], limit), None, limit)
    return grid


def heatmap_rgb(saliency: np.ndarray) -> np.ndarray:
    """H x W signed map -> H x W x 3 uint8, diverging around zero on a symmetric scale."""
    return (diverging(saliency, symmetric_limit(saliency)) * 255).round().astype(np.uint8)


def overlay_rgb(image: np.ndarray, saliency: np.ndarray, opacity: float = 0.6) -> np.ndarray:
    """uint8 C x H x W image in grey under the diverging map, blended: H x W x 3 uint8."""
    backdrop = grey_rgb(image) * 255
    strength = opacity * np.clip(np.abs(saliency) / symmetric_limit(saliency), 0, 1)
    return blend(backdrop, heatmap_rgb(saliency).astype(np.float64), strength).round().astype(np.uint8)
