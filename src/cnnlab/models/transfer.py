"""Transfer learning from torchvision's ImageNet models: VGG16, MobileNetV2, MobileNetV3-Large.

The network is torchvision's feature extractor (its `features`, then its pooling)
under `backbone`, and a new `head` whose layers are params. The backbone gets its
input at `input_size` (the data is resized inside the model, so every later stage
and every saliency map works at the dataset's own resolution), normalised with the
weights' own statistics (the training stage reads them from `input_stats`).

`freeze`: `backbone` (only the head trains), `none` (fine-tune everything), or the
name of a backbone layer such as `features.10`: that layer and every one before it
are frozen, the rest trains. Frozen layers also stay in eval mode, so BatchNorm
statistics learnt on ImageNet do not drift.

Weights come through torchvision's weights API (`weights: DEFAULT`, or a named
entry such as `IMAGENET1K_V1`), from `$TORCH_HOME/hub/checkpoints/` when the file
is there and downloaded otherwise; `weights_path` loads a local file instead.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.downloads import downloading_into
from cnnlab.errors import UserError
from cnnlab.models.mlp import perceptron
from cnnlab.models.settings import TransferArgs
from cnnlab.progress import on_terminal
from cnnlab.weights import load_state_dict


@dataclass(frozen=True)
class Architecture:
    # (torchvision model) -> the pooling + flatten that turns `features` into a vector
    pooling: Callable[[nn.Module], nn.Module]
    feature_size: int


ARCHITECTURES: dict[str, Architecture] = {
    "vgg16": Architecture(lambda m: nn.Sequential(m.avgpool, nn.Flatten()), 512 * 7 * 7),
    "mobilenet_v2": Architecture(lambda m: nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()), 1280),
    "mobilenet_v3_large": Architecture(lambda m: nn.Sequential(m.avgpool, nn.Flatten()), 960),
}


def torchvision_model(arch: str) -> nn.Module:
    """torchvision's architecture, built on the meta device (no memory, no init)."""
    # Imported here: torchvision costs every stage a second to import, and most never need it.
    from torchvision import models as tvm

    with torch.device("meta"):
        return tvm.get_model(arch, weights=None)


def weights_entry(arch: str, args: TransferArgs) -> Any:
    """The torchvision weights enum member named by args.weights (None for `none`)."""
    if args.weights.lower() == "none":
        return None
    from torchvision import models as tvm

    return tvm.get_model_weights(arch)[args.weights]


def input_stats(arch: str, args: TransferArgs, in_channels: int) -> tuple[list[float], list[float]] | None:
    """The weights' own normalisation (grey input: the mean over RGB), or None for no weights."""
    entry = weights_entry(arch, args) if args.pretrained else None
    if entry is None:
        return None
    preset = entry.transforms()
    mean, std = list(preset.mean), list(preset.std)
    if in_channels == 1:
        mean, std = [sum(mean) / 3], [sum(std) / 3]
    return mean, std


class InputResize(nn.Module):
    """Bilinear resize to size x size (antialiased when shrinking)."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-2:] == (self.size, self.size):
            return x
        shrink = x.shape[-1] > self.size or x.shape[-2] > self.size
        return F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False,
                             antialias=shrink)


def init_like_torchvision(module: nn.Module) -> None:
    """The initialisation torchvision's VGG and MobileNet constructors apply."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
            if isinstance(m, nn.BatchNorm2d):
                m.reset_running_stats()
        elif isinstance(m, nn.Linear):
            nn.init.normal_(m.weight, 0, 0.01)
            nn.init.zeros_(m.bias)


def first_conv(module: nn.Module) -> tuple[str, nn.Conv2d]:
    return next((n, m) for n, m in module.named_modules() if isinstance(m, nn.Conv2d))


def replace_module(root: nn.Module, name: str, new: nn.Module) -> None:
    parent_name, _, child = name.rpartition(".")
    setattr(root.get_submodule(parent_name) if parent_name else root, child, new)


class TransferNet(nn.Module):
    """backbone (resize -> torchvision features -> pooling) -> head."""

    def __init__(self, arch: str, args: TransferArgs, in_channels: int, image_size: int, num_classes: int):
        super().__init__()
        spec = ARCHITECTURES[arch]
        self.arch, self.args = arch, args
        # Built on the meta device, then initialised as torchvision does: VGG16's
        # 100M-parameter classifier, dropped here, would otherwise take seconds.
        tv = torchvision_model(arch)
        with torch.device("meta"):
            tv.classifier = nn.Identity()
            if in_channels != 3:
                name, conv = first_conv(tv.features)
                replace_module(tv.features, name, nn.Conv2d(
                    in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding,
                    bias=conv.bias is not None))
        tv.to_empty(device="cpu")
        init_like_torchvision(tv)
        self.backbone = nn.Sequential(OrderedDict(
            resize=InputResize(args.input_size), features=tv.features, pool=spec.pooling(tv)))
        self.head = nn.Sequential(*perceptron(spec.feature_size, args.head, args.head_dropout, num_classes))
        self.frozen_modules: list[nn.Module] = []
        self.apply_freeze(args.freeze)

    @property
    def input_size(self) -> int:
        """The side of the images the backbone sees (they are resized to it inside)."""
        return self.args.input_size

    @property
    def backbone_frozen(self) -> bool:
        return self.args.freeze == "backbone"

    def apply_freeze(self, freeze: str) -> None:
        if freeze == "none":
            return
        if freeze == "backbone":
            frozen = list(self.backbone.parameters())
        else:  # a layer name, checked by check_args when params were loaded
            frozen = self._params_up_to(freeze)
        for p in frozen:
            p.requires_grad_(False)
        frozen_ids = {id(p) for p in frozen}
        # Modules whose every own parameter is frozen stay in eval mode (see train()).
        self.frozen_modules = [m for m in self.backbone.modules()
                               if list(m.parameters(recurse=False))
                               and all(id(p) in frozen_ids for p in m.parameters(recurse=False))]

    def _params_up_to(self, layer: str) -> list[nn.Parameter]:
        """Parameters of every backbone module up to the end of `layer`'s subtree, in order."""
        params: list[nn.Parameter] = []
        reached = False
        for name, module in self.backbone.named_modules():
            in_subtree = name == layer or name.startswith(layer + ".")
            if reached and not in_subtree:
                break
            reached = reached or in_subtree
            params += list(module.parameters(recurse=False))
        return params

    def train(self, mode: bool = True) -> TransferNet:
        super().train(mode)
        for module in self.frozen_modules:
            module.eval()
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def load_pretrained(self) -> None:
        """Copy the ImageNet weights into the backbone (the head stays freshly initialised)."""
        if not self.args.pretrained:
            return
        state = read_weights(self.arch, self.args)
        features = {k[len("features."):]: v for k, v in state.items() if k.startswith("features.")}
        name, conv = first_conv(self.backbone.features)
        key = f"{name}.weight"
        if key in features and features[key].shape[1] != conv.in_channels:
            # Grey input: the sum over RGB filters gives the same response to a grey image (as timm does).
            features[key] = features[key].sum(1, keepdim=True)
        load_fitting(self.backbone.features, features, self.arch, self.args.weights_path or self.args.weights)


@dataclass
class ImageNetClassifier:
    """A torchvision model with its own ImageNet head, as its weights were published."""
    model: nn.Module
    categories: list[str]
    mean: list[float]
    std: list[float]
    input_size: int


def imagenet_classifier(arch: str, weights_path: str = "") -> ImageNetClassifier:
    """torchvision's `arch` with its ImageNet weights (the hub checkpoint, or weights_path)
    and the 1000 class names from the weights' metadata; offline and without the file,
    the same clear error as a transfer variant."""
    if arch not in ARCHITECTURES:
        raise UserError(f"'{arch}' has no ImageNet classifier here; use one of {', '.join(ARCHITECTURES)}.")
    from torchvision import models as tvm

    args = TransferArgs(weights_path=weights_path)
    entry = weights_entry(arch, args)
    model = tvm.get_model(arch, weights=None)
    load_fitting(model, read_weights(arch, args), arch, args.weights_path or args.weights)
    preset = entry.transforms()
    return ImageNetClassifier(model.eval(), list(entry.meta["categories"]), list(preset.mean), list(preset.std),
                              int(preset.crop_size[0]))


def load_fitting(module: nn.Module, state: dict[str, torch.Tensor], arch: str, source: str) -> None:
    """Load state into module, or say in one line that the file is not torchvision's `arch`."""
    try:
        module.load_state_dict(state)
    except RuntimeError as exc:
        raise UserError(f"the weights in {source} do not fit torchvision's {arch} "
                        f"({str(exc).splitlines()[0]}). Use a state dict saved from "
                        f"torchvision.models.{arch}.") from None


def hub_checkpoint(url: str) -> Path:
    """Where torchvision's weights API keeps (and looks for) a weights file."""
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def read_weights(arch: str, args: TransferArgs) -> dict[str, torch.Tensor]:
    if args.weights_path:
        path = Path(args.weights_path)
        if not path.is_file():
            raise UserError(f"params.yaml: model.weights_path {path} is not a file. Point it at a "
                            f"state dict of torchvision.models.{arch}.")
        return load_state_dict(path)
    entry = weights_entry(arch, args)
    target = hub_checkpoint(entry.url)
    if not target.is_file():
        download_weights(arch, entry.url, target)
    return load_state_dict(target)


def download_weights(arch: str, url: str, target: Path) -> None:
    """Download into target's folder; on failure leave no folder this made, and explain."""
    def explain(exc: Exception) -> str:
        return (f"ImageNet weights for {arch} are not on this machine and could not be downloaded "
                f"({exc.__class__.__name__}: {exc}).\n"
                f"torchvision expects the file {target.name} in {target.parent} ($TORCH_HOME/hub/checkpoints). "
                f"Fetch {url} on a machine with a network and put it there, or set model.weights_path to a "
                f"local copy, or train from scratch with model.weights: none and model.freeze: none.")

    # torchvision names each weights file after the start of its SHA-256 (resnet18-f37072fd.pth):
    # the download is checked against it, as torchvision's own loader does.
    published = torch.hub.HASH_REGEX.search(target.name)
    with downloading_into(target.parent, explain):
        # torch writes to a temp file beside the target and renames it only when complete
        # (and the hash matches); it removes the temp file otherwise.
        torch.hub.download_url_to_file(url, str(target), hash_prefix=published.group(1) if published else None,
                                       progress=on_terminal())
