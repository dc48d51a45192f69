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
from cnnlab.predictions import PREDICTIONS

TRAIN, TEST = "train", "test"
FIRST_SEED_FILES = {TRAIN: ("metrics.json", "timing.json", "history.csv"), TEST: ("metrics.json", PREDICTIONS)}


def repeat_run(params: Params, name: str, seed: int | None) -> Path:
    seed = params.seeds[0] if seed is None else seed
    if seed not in params.seeds:
        raise UserError(f"seed {seed} is not under seeds in params.yaml ({', '.join(map(str, params.seeds))}); "
                        f"add it there (dvc repro then runs it).")
    params.variant(name)  # an unknown variant stops here, with the known ones listed

    def fill(tmp: Path) -> None:
        if seed == params.seeds[0]:
            sources = {TRAIN: layout.model_dir(name), TEST: layout.variant_report_dir(name)}
            for part, files in FIRST_SEED_FILES.items():
                (tmp / part).mkdir()
                for file in files:
                    shutil.copyfile(layout.require(sources[part] / file, f"{'train' if part == TRAIN else 'evaluate'}"
                                                                        f"@{name}"), tmp / part / file)
            return
        from cnnlab.evaluate.run import evaluate_variant  # torch loads only for a run that trains
        from cnnlab.train.run import train_variant

        train_variant(params, name, seed, tmp / TRAIN)
        evaluate_variant(params, name, tmp / TRAIN, tmp / TEST, seed)

    out = layout.run_dir(name, seed)
    replace_dir(out, fill)
    return out
