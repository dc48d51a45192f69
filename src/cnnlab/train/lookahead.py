"""airbench's lookahead: a slow copy of the weights that the training weights are pulled
back into every few batches (hlb-cifar10's, after Zhang et al.'s Lookahead optimizer).

Every `every` batches the slow copy moves toward the weights by 1 - rho and the weights
are set to it; rho = decay**every x (step / steps)**3 rises from 0 (the slow copy simply
follows) to decay**every at the last step (a strong average at the end, where the learning
rate is low). BatchNorm's running statistics are averaged with the weights. At the end of
every epoch the weights are set to the slow copy, so what is validated and saved is it.
airbench reports 94% in 12 epochs with it, 13.5 without.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class Lookahead:
    """The same calls as torch's AveragedModel where the loop uses one (update_parameters after
    each batch, `module` for what is judged, state_dict / load_state_dict to resume), and
    end_epoch."""

    def __init__(self, model: nn.Module, decay: float, every: int, total_steps: int):
        self.module = model  # the weights themselves end every epoch as the slow copy
        self.decay, self.every, self.total_steps = decay, every, total_steps
        self.steps = 0
        self.slow: dict[str, torch.Tensor] | None = None

    def _floats(self) -> dict[str, torch.Tensor]:
        return {k: v for k, v in self.module.state_dict().items() if v.is_floating_point()}

    def rho(self, step: int) -> float:
        return self.decay ** self.every * (step / self.total_steps) ** 3

    @torch.no_grad()
    def update_parameters(self, model: nn.Module) -> None:
        """After a training batch. `model` is what trained (the module given at construction,
        or torch.compile's wrapper of it): the weights pulled are the module's own, the same tensors."""
        self.steps += 1
        if self.steps % self.every:
            return
        if self.slow is None:
            self.slow = {k: v.detach().clone() for k, v in self._floats().items()}
            return
        keep = self.rho(self.steps)
        for name, current in self._floats().items():
            self.slow[name].lerp_(current, 1 - keep)
            current.copy_(self.slow[name])

    @torch.no_grad()
    def end_epoch(self) -> None:
        if self.slow is not None:
            for name, current in self._floats().items():
                current.copy_(self.slow[name])

    def state_dict(self) -> dict[str, Any]:
        return {"steps": self.steps, "slow": self.slow}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.steps, self.slow = state["steps"], state["slow"]
