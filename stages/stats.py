"""stats: per-channel mean/std of the training portion (used to normalise everywhere)."""

import torch

from cnnlab import layout
from cnnlab.cli import run_stage
from cnnlab.data.canonical import load_imageset
from cnnlab.data.stats import channel_stats
from cnnlab.io import read_json, write_json
from cnnlab.params import Params


def main(params: Params) -> None:
    train = torch.tensor(read_json(layout.require(layout.SPLIT, "split"))["train"], dtype=torch.int64)
    stats = channel_stats(load_imageset(layout.RAW).images, train)
    write_json(layout.STATS, stats)
    print(f"stats: mean {stats['mean']}, std {stats['std']}")


if __name__ == "__main__":
    run_stage(main)
