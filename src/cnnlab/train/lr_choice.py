"""lr_find@V: the learning rate a variant trains with.

Only `lr: auto` runs the LR range test; any other lr is passed on as written, without
importing torch, so the stage takes a fraction of a second rather than a training start-up.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cnnlab import layout
from cnnlab.io import read_json, replace_dir, write_json
from cnnlab.params import Params


def lr_find_variant(params: Params, name: str) -> dict[str, Any]:
    """Write models/V/lr_find/: the range test's results under `lr: auto`, else the lr as given."""
    p = params.variant(name).train

    def fill(tmp: Path) -> None:
        out = layout.LRFindResults(tmp)
        if p.lr != "auto":
            write_json(out.lr, {"lr": p.lr, "source": "params.yaml"})
            return
        from cnnlab.train.run import run_lr_range_test  # torch and the data: only for the test

        run_lr_range_test(params, name, out)

    replace_dir(layout.lr_find(name).dir, fill)
    found = read_json(layout.lr_find(name).lr)
    print(f"lr_find@{name}: lr {found['lr']:g} ({found['source']})")
    return found
