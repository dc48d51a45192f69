"""Training on several processes: DistributedDataParallel when torchrun started this one.

Every rank reads the same seeded batches (same order, same augmentation draws) and trains
on its own slice of each; the gradient is the global batch's mean exactly (each rank's
loss is its slice's sum over the global batch size, times the world size that DDP's
averaging divides by). So two ranks give one process's weights on the same global batch,
to float rounding; only dropout masks (drawn per rank) and BatchNorm statistics (per slice,
except SyncBatchNorm on GPUs) differ, as in every data-parallel trainer. Validation runs
whole on every rank, so early stopping and the kept epoch agree everywhere. Rank 0 alone
writes files and talks to MLflow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass

import torch
from torch import nn

from cnnlab.errors import UserError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        """The rank that writes outputs, logs, and prints."""
        return self.rank == 0

    @property
    def active(self) -> bool:
        return self.size > 1


def current() -> World:
    """This process's place, from the variables torchrun sets (one process without them)."""
    return World(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                 int(os.environ.get("LOCAL_RANK", 0)))


def rank_device(device: torch.device, world: World) -> torch.device:
    """One GPU per rank on its machine (cuda:LOCAL_RANK); the CPU is shared."""
    if world.active and device.type == "cuda":
        if world.local_rank >= torch.cuda.device_count():
            raise UserError(f"torchrun started {world.local_rank + 1}+ processes on a machine with "
                            f"{torch.cuda.device_count()} GPU(s); use --nproc_per_node {torch.cuda.device_count()} "
                            f"or fewer (train.processes).")
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return device


def join(world: World, device: torch.device) -> None:
    """Join the process group (NCCL between GPUs, gloo on CPUs), once."""
    if world.active and not torch.distributed.is_initialized():
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")


def wrap(model: nn.Module, world: World, device: torch.device) -> nn.Module:
    """The module whose backward averages gradients over the ranks (the model itself with one)."""
    if not world.active:
        return model
    join(world, device)
    if device.type == "cuda":
        model = nn.SyncBatchNorm.convert_sync_batchnorm(model)
    return nn.parallel.DistributedDataParallel(model, device_ids=[device.index] if device.type == "cuda" else None)


def shard(x: torch.Tensor, y: torch.Tensor, world: World) -> tuple[torch.Tensor, torch.Tensor]:
    """This rank's contiguous slice of a batch (sizes differ by at most one)."""
    if not world.active:
        return x, y
    return torch.tensor_split(x, world.size)[world.rank], torch.tensor_split(y, world.size)[world.rank]


def total(values: list[float], world: World, device: torch.device) -> list[float]:
    """The sums over every rank of these per-rank numbers."""
    if not world.active:
        return values
    t = torch.tensor(values, dtype=torch.float64, device=device)
    torch.distributed.all_reduce(t)
    return t.tolist()


def relaunch(processes: int, key: str) -> int | None:
    """Re-run this stage's command under torchrun with `processes` ranks on this machine,
    unless it already is one of them: the ranks' exit status (0: rank 0 wrote the stage's
    outputs), or None to carry on in this process."""
    if processes <= 1 or current().active:
        return None
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               sys.argv[0], *sys.argv[1:]]
    print(f"{key} is {processes}: {' '.join(command[1:])}", flush=True)
    return subprocess.run(command).returncode
