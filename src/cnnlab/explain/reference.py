"""Maps that know nothing of the model, for comparison: what any method must beat."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def random_maps(images: torch.Tensor, seed: int) -> torch.Tensor:
    """Uniform noise in [0, 1), the same for the same seed and image shape."""
    g = torch.Generator().manual_seed(seed)
    n, _, h, w = images.shape
    return torch.rand(n, h, w, generator=g).to(images.device)


def sobel_maps(images: torch.Tensor) -> torch.Tensor:
    """Edge strength of the channel-mean image (Sobel gradient magnitude)."""
    grey = images.mean(1, keepdim=True)
    kx = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], device=images.device)
    kernels = torch.stack([kx, kx.T]).unsqueeze(1).to(images.dtype)
    edges = F.conv2d(F.pad(grey, (1, 1, 1, 1), mode="replicate"), kernels)
    return edges.pow(2).sum(1).sqrt()
