"""Training steps of the fast network under torch's deterministic mode, with torch's
default (the baseline: every new tensor filled with NaN before a kernel writes it, a
debugging aid of use_deterministic_algorithms) and with cnnlab's (`seed_everything`
turns the fill off), each in a fresh process with cnnlab's allocator settings, in one run.
The weights after the steps must be equal: the fill changes speed only.

    python benchmarks/deterministic_fill.py [--widths 64,256,256] [--batch 1024] [--steps 6]
"""

from __future__ import annotations

import argparse

from fresh_process import measure_in_fresh_process  # benchmarks/ is this script's folder, first on sys.path

CHILD = """
import json, sys, time
import torch
from cnnlab.models.fast import FastNet
from cnnlab.models.settings import FastArgs
from cnnlab.runtime.allocator import keep_freed_memory
from cnnlab.runtime.device import seed_everything
keep_freed_memory()
seed_everything(0)  # deterministic algorithms on, the fill off: cnnlab's setting
if sys.argv[1] == "torch-default":
    torch._C._set_deterministic_fill_uninitialized_memory(True)
widths, batch, steps = [int(w) for w in sys.argv[2].split(",")], int(sys.argv[3]), int(sys.argv[4])
model = FastNet(FastArgs(widths=widths), 3, 32, 10).to(memory_format=torch.channels_last)
opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.85, nesterov=True)
x = torch.randn(batch, 3, 32, 32).contiguous(memory_format=torch.channels_last)
y = torch.randint(0, 10, (batch,))
def step():
    with torch.autocast("cpu", dtype=torch.bfloat16):
        loss = torch.nn.functional.cross_entropy(model(x).float(), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
step()  # warm-up: oneDNN's kernels are chosen on the first call
started = time.perf_counter()
for _ in range(steps):
    step()
elapsed = time.perf_counter() - started
print(json.dumps({"images_per_second": steps * batch / elapsed,
                  "checksum": sum(float(p.double().sum()) for p in model.parameters())}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--widths", default="64,256,256", help="the fast network's widths (fast_large's by default)")
    ap.add_argument("--batch", type=int, default=1024)
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    results = {setting: measure_in_fresh_process(CHILD, setting, args.widths, str(args.batch), str(args.steps))
               for setting in ("torch-default", "cnnlab")}
    for setting, r in results.items():
        print(f"{setting:14s} {r['images_per_second']:7.1f} img/s (training, bf16 autocast)")
    same = results["cnnlab"]["checksum"] == results["torch-default"]["checksum"]
    ratio = results["cnnlab"]["images_per_second"] / results["torch-default"]["images_per_second"]
    print(f"fast {args.widths}, batch {args.batch}: cnnlab / torch default = {ratio:.2f}x; "
          f"weights after {args.steps + 1} steps {'identical' if same else 'DIFFERENT'}")


if __name__ == "__main__":
    main()
