"""Saliency throughput: cnnlab's batched computations against one image (or one
perturbed copy) per forward pass, measured in one run on this machine.

  (a) occlusion: Captum's Occlusion with many occluded copies per forward pass (cnnlab)
      vs one occluded image per forward pass, the baseline model at 32 px;
  (b) Grad-CAM: a batch of images in one forward/backward vs one image at a time;
  (c) deletion curves (pixel flipping): cnnlab's batched deletion vs Quantus's
      PixelFlipping run image by image, and whether the two give the same curves.

The images are the synthetic shapes at 32 px; the models are built from params.yaml
(weights as initialised: speed and agreement do not depend on training).
Quantus is needed for (c) only, and is not a dependency of cnnlab:

    pip install quantus==0.6.0
    python benchmarks/saliency_batching.py [--images 32] [--steps 16]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from captum.attr import Occlusion

from cnnlab.data.loader import Normalizer
from cnnlab.data.shapes import make_shapes
from cnnlab.explain.faithfulness import deletion_insertion, perturbation_curves
from cnnlab.explain.gradcam import gradcam_maps
from cnnlab.explain.occlusion import Probabilities, occlusion_maps
from cnnlab.models.build import build_model
from cnnlab.params import load_params

ROOT = Path(__file__).resolve().parents[1]


def best_of(repeats: int, work: Callable[[], object]) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def one_window_at_a_time(model: torch.nn.Module, image: torch.Tensor, target: int, window: int,
                         stride: int) -> torch.Tensor:
    """Occlusion as usually hand-written: cover one window, run the model on that one image."""
    _, h, w = image.shape
    p0 = model(image[None]).softmax(1)[0, target]
    total, count = torch.zeros(h, w), torch.zeros(h, w)
    starts = range(0, h - window + 1, stride)
    for top in starts:
        for left in starts:
            occluded = image.clone()
            occluded[:, top:top + window, left:left + window] = 0.0
            total[top:top + window, left:left + window] += p0 - model(occluded[None]).softmax(1)[0, target]
            count[top:top + window, left:left + window] += 1
    return total / count.clamp(min=1)


def images_per_second(model: torch.nn.Module, batch: int, images: int = 4096) -> float:
    x = torch.randn(batch, 3, 32, 32)
    with torch.no_grad():
        model(x)
        seconds = best_of(3, lambda: [model(x) for _ in range(images // batch)])
    return images // batch * batch / seconds


def model_of(variant: str, classes: int) -> torch.nn.Module:
    params = load_params(ROOT / "params.yaml")
    torch.manual_seed(0)
    return build_model(params.variant(variant).model, 3, 32, classes).eval()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--images", type=int, default=32)
    ap.add_argument("--steps", type=int, default=16, help="points on the deletion curve")
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(max(1, torch.get_num_threads()))
    data = make_shapes(args.images, 32, seed=0)
    norm = Normalizer([0.4] * 3, [0.25] * 3)
    x, y = norm(data.images.float() / 255), data.labels
    rows = []

    baseline = model_of("baseline", 4)
    occlusion = Occlusion(Probabilities(baseline))
    with torch.no_grad():
        one_copy = best_of(args.repeats, lambda: [occlusion.attribute(
            x[i:i + 1], sliding_window_shapes=(3, 8, 8), strides=(3, 4, 4), baselines=0.0, target=y[i:i + 1],
            perturbations_per_eval=1) for i in range(len(x))])
    batched = best_of(args.repeats, lambda: occlusion_maps(baseline, x, y, window=8, stride=4, fill=0.0,
                                                           per_eval=128))
    with torch.no_grad():
        plain = best_of(args.repeats, lambda: [one_window_at_a_time(baseline, x[i], int(y[i]), 8, 4)
                                               for i in range(len(x))])
    rows.append(("occlusion, baseline at 32 px (window 8, stride 4)", "a loop, one occluded image per forward pass",
                 plain, batched))
    rows.append(("occlusion, baseline at 32 px (window 8, stride 4)", "Captum's Occlusion, one occluded image per "
                 "forward pass", one_copy, batched))

    for variant in ("baseline", "cam_cnn"):
        model = model_of(variant, 4)
        alone = best_of(args.repeats, lambda m=model: [gradcam_maps(m, x[i:i + 1], y[i:i + 1]) for i in range(len(x))])
        together = best_of(args.repeats, lambda m=model: gradcam_maps(m, x, y))
        rows.append((f"Grad-CAM, {variant} at 32 px", "one image at a time", alone, together))

    maps = gradcam_maps(baseline, x, y)
    ours = best_of(args.repeats, lambda: perturbation_curves(baseline, x, torch.zeros_like(x), y, maps, args.steps))
    curves = deletion_insertion(baseline, x, y, maps, args.steps).deletion
    try:
        import quantus
    except ImportError:
        quantus = None
        print("quantus is not installed (pip install quantus==0.6.0): deletion vs Quantus skipped")
    if quantus is not None:
        # Quantus flips single channel values, a pixel's channels one after another (its
        # map is broadcast over channels), so each of our steps is three of its steps.
        metric = quantus.PixelFlipping(features_in_step=32 * 32 // args.steps, perturb_baseline=0.0,
                                       disable_warnings=True, display_progressbar=False)
        x_np, y_np, a_np = x.numpy(), y.numpy(), maps.unsqueeze(1).numpy()

        def quantus_image_by_image():
            return [metric(model=baseline, x_batch=x_np[i:i + 1], y_batch=y_np[i:i + 1], a_batch=a_np[i:i + 1],
                           device="cpu", softmax=True, batch_size=1)[0] for i in range(len(x_np))]

        theirs_seconds = best_of(args.repeats, quantus_image_by_image)
        theirs = np.array(quantus_image_by_image())
        # Quantus's curve starts after its first step; ours also holds the untouched image.
        difference = float(np.abs(theirs[:, 2::3] - curves[:, 1:].numpy()).max())
        rows.append((f"deletion curves ({args.steps} steps), baseline at 32 px", "Quantus PixelFlipping, "
                     f"image by image ({3 * args.steps} steps: a channel at a time)", theirs_seconds, ours))
        print(f"deletion curves, cnnlab vs Quantus: largest difference {difference:.2e} "
              f"({'the same' if difference < 1e-5 else 'DIFFERENT'})")

    ceiling = {b: images_per_second(baseline, b) for b in (1, 128)}
    print(f"the baseline model alone: {ceiling[1]:.0f} images/s one at a time, {ceiling[128]:.0f} in batches of "
          f"128: batching's ceiling for occlusion is {ceiling[128] / ceiling[1]:.1f}x on this machine")
    print(f"{args.images} shapes images at 32 px, {torch.get_num_threads()} threads, best of {args.repeats}:")
    for what, baseline_name, theirs, ours_seconds in rows:
        print(f"  {what}: {baseline_name} {theirs:.3f} s, cnnlab batched {ours_seconds:.3f} s "
              f"= {theirs / ours_seconds:.1f}x")


if __name__ == "__main__":
    main()
