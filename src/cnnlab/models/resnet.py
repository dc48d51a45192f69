"""ResNet-18 in its two usual forms, from torchvision's implementation.

`imagenet`: torchvision's network as published (7x7 stride-2 stem and a max-pool,
a 32x reduction in all). `cifar`: the same blocks with a 3x3 stride-1 stem and no
max-pool (an 8x reduction), the form CIFAR-10 results for ResNet-18 are usually
quoted for. `auto` picks cifar up to 64 px: the ImageNet stem would leave a 64 px
image 2x2 before the last block.
"""

from __future__ import annotations

from torch import nn

from cnnlab.models.settings import ResNetArgs

AUTO_CIFAR_MAX_SIZE = 64


def resolved_form(args: ResNetArgs, image_size: int) -> str:
    if args.form != "auto":
        return args.form
    return "cifar" if image_size <= AUTO_CIFAR_MAX_SIZE else "imagenet"


def build_resnet18(args: ResNetArgs, in_channels: int, image_size: int, num_classes: int) -> nn.Module:
    from torchvision.models import resnet18  # here: most stages never need torchvision

    model = resnet18(weights=None, num_classes=num_classes)
    if resolved_form(args, image_size) == "cifar":
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=3, stride=1, padding=1, bias=False)
        model.maxpool = nn.Identity()
    else:
        model.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
    # torchvision's init for its stem, so the replaced one starts alike
    nn.init.kaiming_normal_(model.conv1.weight, mode="fan_out", nonlinearity="relu")
    return model
