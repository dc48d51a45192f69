"""What every stage script shares: argument parsing, params, and clean user errors."""

from __future__ import annotations

import argparse
import sys
from typing import Callable

from cnnlab.errors import UserError
from cnnlab.params import Params, load_params
from cnnlab.runtime.allocator import keep_freed_memory


def run_stage(main: Callable[..., object], *, per_variant: bool = False, seeded: bool = False) -> None:
    """Call ``main(params)``, ``main(params, variant)`` or ``main(params, variant, seed)``;
    a UserError becomes one message on stderr and exit status 2, with no traceback."""
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
