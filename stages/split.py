"""split: stratified train/val/test indices with the fixed seed (the first training seed's
under split.per_seed)."""

from cnnlab import layout
from cnnlab.data.canonical import read_labels
from cnnlab.data.split import split_for
from cnnlab.io import write_json
from cnnlab.params import Params
from cnnlab.stage import run_stage


def main(params: Params) -> None:
    split = split_for(read_labels(layout.RAW), params)
    write_json(layout.SPLIT, split)
    print("split: " + ", ".join(f"{len(v)} {k}" for k, v in split.items()))


if __name__ == "__main__":
    run_stage(main)
