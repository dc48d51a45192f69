"""What every stage script shares: argument parsing, params, and clean user errors."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.params import Params, load_params
from cnnlab.runtime.allocator import keep_freed_memory

# benchmarks/stage_times.py sets this to a file each stage appends one JSON line of timing to.
STAGE_TIMES = "CNNLAB_STAGE_TIMES"


def seconds_since_start() -> float | None:
    """Wall seconds since this process started (from /proc; None where there is none)."""
    try:
        start_ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        uptime = float(Path("/proc/uptime").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return uptime - start_ticks / os.sysconf("SC_CLK_TCK")


def run_stage(main: Callable[..., object], *, per_variant: bool = False, seeded: bool = False) -> None:
    """Call ``main(params)``, ``main(params, variant)`` or ``main(params, variant, seed)``;
    a UserError becomes one message on stderr and exit status 2, with no traceback."""
    started = seconds_since_start()  # the interpreter and the imports at the top of the stage
    try:
        _run(main, per_variant, seeded)
    finally:
        if os.environ.get(STAGE_TIMES) and started is not None:
            record = {"stage": " ".join([Path(sys.argv[0]).stem, *sys.argv[1:]]), "startup_s": round(started, 2),
                      "wall_s": round(seconds_since_start() or 0.0, 2)}
            with open(os.environ[STAGE_TIMES], "a", encoding="utf-8") as f:
                f.write(json.dumps(record) + "\n")
    # Done: every output is written and closed (atomic writes, MLflow runs ended). Skip the
    # interpreter's teardown of torch, MLflow and the rest, about a second of every stage.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _run(main: Callable[..., object], per_variant: bool, seeded: bool) -> None:
    parser = argparse.ArgumentParser(description=main.__doc__)
    if per_variant:
        parser.add_argument("--variant", required=True, help="a name under variants in params.yaml")
    if seeded:
        parser.add_argument("--seed", type=int, help="a training seed listed under seeds (default: the first)")
    parser.add_argument("--params", default="params.yaml", help="the params file (default: params.yaml)")
    args = parser.parse_args()
    keep_freed_memory()
    try:
        params: Params = load_params(args.params)
        if seeded:
            main(params, args.variant, args.seed)
        elif per_variant:
            main(params, args.variant)
        else:
            main(params)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
