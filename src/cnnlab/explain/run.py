"""saliency@V: every method of saliency.methods on a seeded per-class sample of test
images, the views that compare them, and how faithful each is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from cnnlab import layout
from cnnlab.explain.faithfulness import RANDOMISATION_MAX_CORRELATION
from cnnlab.explain.methods import saliency_maps
from cnnlab.explain.registry import REFERENCE_METHODS, MapSettings, missing_for
from cnnlab.explain.sampling import sample_per_class
from cnnlab.explain.scores import faithfulness_scores
from cnnlab.figures.saliency import map_grid, saliency_figure
from cnnlab.io import replace_dir, save_figure, write_json
from cnnlab.models.registry import MODELS
from cnnlab.params import Params
from cnnlab.predictions import confident_mistakes, read_predictions
from cnnlab.progress import bar
from cnnlab.runtime.trained import Trained, load_trained

MISTAKES_SHOWN = 6
TARGETS_SHOWN = 3  # the top classes of one image, and its true class


def explain_variant(params: Params, name: str) -> dict:
    trained = load_trained(params, name)
    p = params.saliency
    settings = MapSettings(p, trained.normalizer, params.seed)
    model_name = trained.card.spec.name
    asked = list(dict.fromkeys(p.methods))
    skipped = {m: why for m in asked if (why := missing_for(m, MODELS[model_name].features))}
    for m, why in skipped.items():
        print(f"{name}: skipped {m}: it {why}, and {model_name} has none")
    methods = [m for m in asked if m not in skipped] or list(REFERENCE_METHODS)
    explained = [m for m in methods if m not in REFERENCE_METHODS] or methods
    classes, data = trained.card.classes, trained.prepared.data

    test = trained.prepared.indices("test")
    chosen = sample_per_class(data.labels[test].numpy(), p.per_class, params.seed, p.max_images)
    rows = test[torch.from_numpy(chosen)]
    raw, labels = data.images[rows].numpy(), data.labels[rows]
    x, targets = trained.inputs(rows), labels.to(trained.device)
    with torch.no_grad():
        probs = trained.model(x).softmax(1).cpu()
    maps = {m: saliency_maps(m, trained.model, x, targets, settings).cpu()
            for m in bar(list(dict.fromkeys(methods + list(REFERENCE_METHODS))), desc=f"{name} saliency maps",
                         unit="method")}
    masks = data.masks[rows] if data.masks is not None else None  # shapes: where each object is
    scores = faithfulness_scores(trained.model, x, targets, maps, settings, p.faithfulness_steps, masks)

    predicted = probs.argmax(1)
    row_titles = [f"true {classes[t]}\npred {classes[q]} (p={probs[i, q]:.2f})"
                  for i, (t, q) in enumerate(zip(labels.tolist(), predicted.tolist(), strict=True))]

    files = layout.tested(name)

    def draw(out: Path) -> None:
        def at(path: Path) -> Path:  # the file's place in the folder being written
            return out / path.relative_to(files.saliency)

        # The first method's maps on their own scale (original | heatmap | overlay); every
        # method's overlays side by side; one image, several targets; the mistakes.
        first = explained[0]
        save_figure(saliency_figure(raw, maps[first].numpy(), row_titles,
                                    [f"{first}: p(true)={probs[i, t]:.2f}" for i, t in enumerate(labels.tolist())],
                                    f"{name}: {first}, a per-class sample of test images", unit=f"{first}, true class"),
                    at(files.saliency_figure(f"sample_{first}")), tight=False)
        save_figure(map_grid(raw, [(m, maps[m].numpy()) for m in methods], row_titles,
                             f"{name}: every method on the same images (target: the true class)"),
                    at(files.saliency_figure("methods")), tight=False)
        save_figure(targets_view(trained, raw[0], x[:1], probs[0], int(labels[0]), explained, settings, name),
                    at(files.saliency_figure("targets")), tight=False)
        figure = mistakes_view(trained, name, explained, settings)
        if figure is not None:
            save_figure(figure, at(files.saliency_figure("mistakes")), tight=False)
        np.savez_compressed(at(files.saliency_maps), indices=rows.numpy(), targets=labels.numpy(),
                            **{m: maps[m].numpy().astype(np.float32) for m in maps})

    replace_dir(files.saliency, draw)
    summary = {"images": len(labels), "randomisation_max_correlation": RANDOMISATION_MAX_CORRELATION,
               "methods": scores}
    if skipped:  # what was asked for and why this model cannot have it, for the report
        summary["skipped"] = {m: f"{why}; {model_name} has none" for m, why in skipped.items()}
    write_json(files.saliency_metrics, summary)
    for m, row in scores.items():
        print(f"{name}: {m:22s} deletion AUC {row['deletion_auc']:.3f}  insertion AUC {row['insertion_auc']:.3f}  "
              f"randomisation rank corr {row['randomisation_rank_correlation']:+.2f}"
              f"{'' if row['passes_randomisation'] else ' (fails the sanity check)'}")
    return summary


def targets_view(trained: Trained, image: np.ndarray, x: torch.Tensor, probs: torch.Tensor, true: int,
                 methods: list[str], settings: MapSettings, name: str):
    """One image: each method's map for its top classes and its true class, side by side."""
    classes = trained.card.classes
    chosen = list(dict.fromkeys(probs.argsort(descending=True)[:TARGETS_SHOWN].tolist() + [true]))
    columns = []
    for c in chosen:
        per_method = [saliency_maps(m, trained.model, x, torch.tensor([c], device=x.device), settings).cpu()[0]
                      for m in methods]
        label = f"{classes[c]} (p={probs[c]:.2f}){' = true' if c == true else ''}"
        columns.append((label, torch.stack(per_method).numpy()))
    return map_grid(np.repeat(image[None], len(methods), axis=0), columns, methods,
                    f"{name}: what supports each class in the same test image")


def mistakes_view(trained: Trained, name: str, methods: list[str], settings: MapSettings):
    """The most confident mistakes: the map for the predicted class beside the map for the true one."""
    shown = confident_mistakes(read_predictions(name))[:min(MISTAKES_SHOWN, settings.params.max_images)]
    if not shown:
        return None
    classes = trained.card.classes
    index = {c: k for k, c in enumerate(classes)}
    rows = torch.tensor([int(r["index"]) for r in shown])
    predicted = torch.tensor([index[r["predicted"]] for r in shown], device=trained.device)
    true = torch.tensor([index[r["actual"]] for r in shown], device=trained.device)
    x = trained.inputs(rows)
    columns = []
    for m in methods:
        columns.append((f"{m}: predicted class", saliency_maps(m, trained.model, x, predicted, settings).cpu().numpy()))
        columns.append((f"{m}: true class", saliency_maps(m, trained.model, x, true, settings).cpu().numpy()))
    titles = [f"true {r['actual']}\npred {r['predicted']} ({float(r['confidence']):.2f})" for r in shown]
    return map_grid(trained.prepared.data.images[rows].numpy(), columns, titles,
                    f"{name}: the {len(shown)} most confident mistakes, predicted vs true class")
