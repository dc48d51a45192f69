"""`cnnlab explain IMAGE... --model M`: what a model sees in any image file a user has.

M is a trained variant (models/V, with the classes it was trained on) or
`imagenet:ARCH`, torchvision's ImageNet classifier of a transfer architecture with its
1000 class names (its weights file must be on this machine, or downloadable). Every
image is decoded as a `folder` dataset decodes it (any size or mode: shorter side to
the model's size, centre crop), so the model sees what it saw in training.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from cnnlab.data.decode import BadImage, decode
from cnnlab.data.loader import Normalizer
from cnnlab.errors import UserError
from cnnlab.explain.methods import saliency_maps
from cnnlab.explain.registry import MapSettings
from cnnlab.figures.saliency import heatmap_rgb, overlay_rgb
from cnnlab.io import atomic_write
from cnnlab.layout import TrainedModel
from cnnlab.params import SaliencyParams
from cnnlab.runtime.checkpoint import load_checkpoint

IMAGENET_PREFIX = "imagenet:"
SHOWN_SIDE = 256  # small inputs are written enlarged (nearest neighbour) so a person can see them


@dataclass
class Explainable:
    model: nn.Module
    classes: list[str]
    normalizer: Normalizer
    image_size: int
    channels: int


def load_explainable(spec: str, device: torch.device) -> Explainable:
    if spec.startswith(IMAGENET_PREFIX):
        from cnnlab.models.transfer import imagenet_classifier

        c = imagenet_classifier(spec[len(IMAGENET_PREFIX):])
        return Explainable(c.model.to(device), c.categories, Normalizer(c.mean, c.std, device), c.input_size, 3)
    files = TrainedModel(Path(spec))
    if not files.weights.is_file():
        raise UserError(f"--model {spec}: no trained model there ({files.weights.name} and {files.card.name}, "
                        f"written by train@V). Give models/VARIANT after dvc repro, or imagenet:mobilenet_v2.")
    model, card = load_checkpoint(files.dir, device)
    return Explainable(model, card.classes, Normalizer(card.mean, card.std, device), card.image_size,
                       card.in_channels)


def read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """uint8 C x size x size, or one clear error naming the file."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UserError(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise UserError(f"{path} is a folder; give image files.") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot be read ({exc.strerror}).") from None
    try:
        return decode(data, size, "RGB" if channels == 3 else "L")
    except BadImage as exc:
        raise UserError(f"{path}: {exc.reason}. Re-save it, or give another image.") from None


def class_index(name: str, classes: list[str]) -> int:
    if name in classes:
        return classes.index(name)
    near = difflib.get_close_matches(name, classes, n=3, cutoff=0.5)
    hint = f"did you mean {', '.join(repr(c) for c in near)}?" if near else \
        f"the model's classes are {', '.join(classes[:10])}{', ...' if len(classes) > 10 else ''}."
    raise UserError(f"--target '{name}' is not a class of this model; {hint}")


def enlarged(pixels: np.ndarray) -> np.ndarray:
    """H x W (x 3) enlarged by a whole factor up to about SHOWN_SIDE pixels."""
    factor = max(1, SHOWN_SIDE // pixels.shape[0])
    return pixels.repeat(factor, axis=0).repeat(factor, axis=1)


def write_png(path: Path, pixels: np.ndarray) -> None:
    atomic_write(path, lambda tmp: Image.fromarray(enlarged(pixels)).save(tmp, format="PNG"))


def output_names(paths: list[Path]) -> list[str]:
    """File stems, made unique (cat.jpg and other/cat.png must not overwrite each other)."""
    names, seen = [], {}
    for p in paths:
        stem = p.stem
        seen[stem] = seen.get(stem, 0) + 1
        names.append(stem if seen[stem] == 1 else f"{stem}-{seen[stem]}")
    return names


def explain_files(paths: list[Path], model_spec: str, method: str = "gradcam", target: str | None = None,
                  out_dir: Path = Path("explanations"), top: int = 5, device: str = "cpu") -> list[Path]:
    """Print each image's top classes; write original, heatmap and overlay PNGs into out_dir."""
    dev = torch.device(device)
    ex = load_explainable(model_spec, dev)
    # Every image is read before anything is written: a bad file stops the run with nothing half done.
    raw = np.stack([read_image(p, ex.image_size, ex.channels) for p in paths])
    wanted = class_index(target, ex.classes) if target is not None else None
    x = ex.normalizer(torch.from_numpy(raw).to(dev).float() / 255.0)
    with torch.no_grad():
        probs = ex.model(x).softmax(1).cpu()
    targets = probs.argmax(1) if wanted is None else torch.full((len(paths),), wanted)
    window = max(2, ex.image_size // 8)
    settings = MapSettings(SaliencyParams(window=window, stride=max(1, window // 2)), ex.normalizer)
    maps = saliency_maps(method, ex.model, x, targets.to(dev), settings).cpu().numpy()
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for i, (path, name) in enumerate(zip(paths, output_names(paths), strict=True)):
        best = probs[i].topk(min(top, len(ex.classes)))
        print(f"{path}:")
        for p, c in zip(best.values.tolist(), best.indices.tolist(), strict=True):
            print(f"  {p:7.2%}  {ex.classes[c]}")
        label = ex.classes[int(targets[i])]
        print(f"  {method} map for '{label}' (p={probs[i, targets[i]]:.2%})")
        image = raw[i] if raw.shape[1] == 3 else np.repeat(raw[i], 3, axis=0)
        files = {f"{name}_original.png": image.transpose(1, 2, 0),
                 f"{name}_{method}_heatmap.png": heatmap_rgb(maps[i]),
                 f"{name}_{method}_overlay.png": overlay_rgb(raw[i], maps[i])}
        for filename, pixels in files.items():
            write_png(out_dir / filename, pixels)
            written.append(out_dir / filename)
    print(f"wrote {len(written)} pictures to {out_dir}/")
    return written
