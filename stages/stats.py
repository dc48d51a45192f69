"""stats: per-channel mean/std of the training portion (used to normalise everywhere)."""

from cnnlab import layout
from cnnlab.data.canonical import load_imageset
from cnnlab.data.stats import training_stats
from cnnlab.io import read_json, write_json
from cnnlab.params import Params
from cnnlab.stage import run_stage


def main(params: Params) -> None:
    stats = training_stats(load_imageset(layout.RAW).images, read_json(layout.require(layout.SPLIT, "split")))
    write_json(layout.STATS, stats)
    print(f"stats: mean {stats['mean']}, std {stats['std']}")


if __name__ == "__main__":
    run_stage(main)
