"""Inference throughput of a 224 px network on the CPU, with glibc's default malloc
settings (the baseline) and with cnnlab's (`keep_freed_memory`, which every stage
applies), each in a fresh process, measured in one run.

glibc hands large allocations back to the OS when freed and maps them anew, so every
batch page-faults its activations in again; a frozen backbone's feature pass (the
transfer experiments) is the case where that dominates.

    python benchmarks/host_allocator.py [--model mobilenet_v2] [--batch 27] [--images 270]
"""

from __future__ import annotations

import argparse

from fresh_process import measure_in_fresh_process  # benchmarks/ is this script's folder, first on sys.path

CHILD = """
import json, resource, sys, time
import torch
from torchvision import models
from cnnlab.runtime.allocator import keep_freed_memory
if sys.argv[1] == "cnnlab":
    assert keep_freed_memory(), "mallopt is not available here"
model = models.get_model(sys.argv[2], weights=None).eval()
batch, images = int(sys.argv[3]), int(sys.argv[4])
x = torch.randn(batch, 3, 224, 224)
with torch.no_grad():
    model(x)
    before, started, seen = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter(), 0
    while seen < images:
        model(x)
        seen += batch
    elapsed, after = time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF)
print(json.dumps({"images_per_second": seen / elapsed, "system_seconds": after.ru_stime - before.ru_stime,
                  "peak_rss_mb": after.ru_maxrss / 1024}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="mobilenet_v2", help="a torchvision model name")
    ap.add_argument("--batch", type=int, default=27, help="cnnlab's evaluation batch at 224 px")
    ap.add_argument("--images", type=int, default=270)
    args = ap.parse_args()
    results = {setting: measure_in_fresh_process(CHILD, setting, args.model, str(args.batch), str(args.images))
               for setting in ("glibc-default", "cnnlab")}
    for setting, r in results.items():
        print(f"{setting:14s} {r['images_per_second']:7.1f} img/s  {r['system_seconds']:5.1f} s in the kernel  "
              f"peak RSS {r['peak_rss_mb']:.0f} MB")
    ratio = results["cnnlab"]["images_per_second"] / results["glibc-default"]["images_per_second"]
    print(f"{args.model} at 224 px, batch {args.batch}: cnnlab / glibc default = {ratio:.2f}x")


if __name__ == "__main__":
    main()
