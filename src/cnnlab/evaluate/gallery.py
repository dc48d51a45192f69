"""evaluate@V's gallery: the most confident mistakes, from evaluate@V's predictions (no model run)."""

from __future__ import annotations

import numpy as np

from cnnlab import layout
from cnnlab.data.canonical import read_images
from cnnlab.figures.results import gallery_figure
from cnnlab.io import save_figure, write_json
from cnnlab.params import Params
from cnnlab.predictions import confident_mistakes, read_predictions


def misclassified_gallery(params: Params, name: str) -> int:
    rows = read_predictions(name)
    wrong = confident_mistakes(rows)
    shown = wrong[:params.misclassified.max_images]
    images = read_images(layout.RAW)
    pictures = np.stack([images[int(r["index"])] for r in shown]) if shown else np.zeros((0,))
    captions = [f"true: {r['actual']}\npred: {r['predicted']} ({float(r['confidence']):.2f})" for r in shown]
    files = layout.tested(name)
    title = (f"{name}: {len(wrong)} of {len(rows)} test images misclassified"
             + (f" (the {len(shown)} most confident shown)" if len(shown) < len(wrong) else ""))
    save_figure(gallery_figure(pictures, captions, title), files.misclassified)
    write_json(files.misclassified_metrics, {"misclassified": len(wrong),
                                            "misclassified_fraction": round(len(wrong) / max(1, len(rows)), 6)})
    print(f"{name}: {len(wrong)} misclassified test images")
    return len(wrong)
