"""download: bring the configured dataset into canonical form under data/raw/."""

from cnnlab import layout
from cnnlab.cli import run_stage
from cnnlab.data.canonical import save_imageset
from cnnlab.data.sources import load_source
from cnnlab.params import Params


def main(params: Params) -> None:
    data = load_source(params.data)
    save_imageset(data, layout.RAW)
    print(f"download: {data.source}: {len(data.labels)} images, {len(data.classes)} classes, "
          f"{data.channels}x{data.image_size}x{data.image_size}"
          + (f", {int(data.official_test.sum())} in the official test split" if data.has_official_test else ""))


if __name__ == "__main__":
    run_stage(main)
