"""download: bring the configured dataset into canonical form under data/raw/."""

from cnnlab import layout
from cnnlab.data.canonical import SKIPPED, build_imageset, download_metrics, skipped_line
from cnnlab.data.sources import load_source
from cnnlab.io import write_json
from cnnlab.params import Params
from cnnlab.stage import run_stage


def main(params: Params) -> None:
    # Large images are decoded straight into the memory-mapped data/raw/images.npy.
    data = build_imageset(lambda images_file: load_source(params.data, images_file), layout.RAW)
    metrics = download_metrics(data)
    write_json(layout.DOWNLOAD_METRICS, metrics)
    print(f"download: {data.source}: {len(data.labels)} images, {len(data.classes)} classes, "
          f"{data.channels}x{data.image_size}x{data.image_size}"
          + (f", {int(data.official_test.sum())} in the official test split" if data.has_official_test else ""))
    line = skipped_line(metrics, str(layout.RAW / SKIPPED))
    if line:
        print(f"download: {line}")


if __name__ == "__main__":
    run_stage(main)
