"""saliency@V: occlusion maps for a seeded per-class sample of test images."""

from __future__ import annotations

import numpy as np
import torch

from cnnlab import layout
from cnnlab.figures.saliency import saliency_figure
from cnnlab.explain.registry import SALIENCY
from cnnlab.explain.sampling import sample_per_class
from cnnlab.io import save_figure, write_json, write_npy
from cnnlab.params import Params
from cnnlab.trained import load_trained

METHOD = "occlusion"


def explain_variant(params: Params, name: str) -> dict[str, float]:
    trained = load_trained(params, name)
    model, card, device, normalizer = trained.model, trained.card, trained.device, trained.normalizer
    test = trained.prepared.indices("test")
    chosen = sample_per_class(trained.prepared.data.labels[test].numpy(), params.saliency.per_class,
                              params.seed, params.saliency.max_images)
    rows = test[torch.from_numpy(chosen)]
    raw, labels = trained.prepared.data.images[rows], trained.prepared.data.labels[rows]
    x = trained.inputs(rows)
    with torch.no_grad():
        probs = model(x).softmax(1).cpu()
    maps = SALIENCY[METHOD](model, x, labels.to(device), params.saliency, normalizer).cpu()
    p_true = probs[torch.arange(len(labels)), labels]
    predicted = probs.argmax(1)
    max_drop = maps.flatten(1).max(1).values
    row_titles = [f"true {card.classes[t]} (p={p:.2f})\npred {card.classes[q]}"
                  for t, p, q in zip(labels.tolist(), p_true.tolist(), predicted.tolist())]
    map_titles = [f"occlusion: max drop {d:.2g}" for d in max_drop.tolist()]
    out = layout.variant_report_dir(name)
    s = params.saliency
    save_figure(saliency_figure(raw.numpy(), maps.numpy(), row_titles, map_titles,
                                f"{name}: occlusion sensitivity ({s.window}px window, stride {s.stride})"),
                out / "saliency.png")
    summary = {"saliency_images": len(labels),
               "saliency_mean_p_true": round(float(p_true.mean()), 6),
               "saliency_mean_max_drop": round(float(max_drop.mean()), 6)}
    write_json(out / "saliency.json", summary)
    write_npy(out / "saliency_maps.npy", maps.numpy().astype(np.float32))
    print(f"{name}: occlusion maps for {len(labels)} test images, mean max drop "
          f"{summary['saliency_mean_max_drop']:.3f}")
    return summary
