"""repeat@V-S: one (variant, training seed) run, kept in runs/V/S/ for the statistics over seeds.

The first seed's run is train@V and evaluate@V, whose numbers are copied here (so the
default pipeline trains nothing twice). Any other seed trains the same recipe from that
seed (its own MLflow run, tagged with variant and seed) and is tested on the same test
images. Each run's folder has train/ (what train@V writes to models/V) and test/ (what
evaluate@V writes to reports/variants/V).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from cnnlab import layout
from cnnlab.errors import UserError
from cnnlab.io import replace_dir
from cnnlab.params import Params


def repeat_run(params: Params, name: str, seed: int | None) -> Path:
    seed = params.training_seed(seed)
    if seed not in params.seeds:
        raise UserError(f"seed {seed} is not under seeds in params.yaml ({', '.join(map(str, params.seeds))}); "
                        f"add it there (dvc repro then runs it).")
    params.variant(name)  # an unknown variant stops here, with the known ones listed

    def fill(tmp: Path) -> None:
        run = layout.SeedRun(tmp)
        if seed == params.training_seed():
            trained, tested = layout.trained(name), layout.tested(name)
            copies = [("train", trained.metrics, run.train.metrics), ("train", trained.timing, run.train.timing),
                      ("train", trained.history, run.train.history), ("evaluate", tested.metrics, run.test.metrics),
                      ("evaluate", tested.predictions, run.test.predictions)]
            for stage, source, copy in copies:
                copy.parent.mkdir(exist_ok=True)
                shutil.copyfile(layout.require(source, f"{stage}@{name}"), copy)
            return
        from cnnlab.evaluate.run import evaluate_variant  # torch loads only for a run that trains
        from cnnlab.train.run import train_variant

        train_variant(params, name, seed, run.train.dir)
        evaluate_variant(params, name, run.train.dir, run.test.dir, seed)

    out = layout.seed_run(name, seed).dir
    replace_dir(out, fill)
    return out
