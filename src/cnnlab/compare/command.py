"""`cnnlab compare A B`: the paired comparison of two variants, from the terminal.

A name is a variant of this workspace (`baseline`) or a variant in a DVC experiment or
git revision (`baseline@sgd`, `baseline@HEAD~1`), read from DVC's cache. Every seed
under `seeds` (in that revision's params.yaml) counts."""

from __future__ import annotations

import numpy as np

from cnnlab import layout
from cnnlab.compare.claims import Claim, ComparisonText, Scores, judge_all
from cnnlab.compare.runs import read_local, same_images, seed_matrix
from cnnlab.compare.stats import MIN_SEEDS
from cnnlab.errors import UserError
from cnnlab.params import load_params, parse_params


def runs_of(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(seeds x test indices, seeds x test images of right or wrong) for NAME (VARIANT or VARIANT@REV)."""
    variant, _, rev = name.partition("@")
    if not rev:
        params = load_params()
        if variant not in params.active or not layout.seed_run(variant, params.training_seed()).dir.exists():
            known = [v for v in params.active if layout.seed_run(v, params.training_seed()).dir.exists()]
            raise UserError(f"no evaluated variant '{variant}' in this workspace; the ones there are: "
                            f"{', '.join(known) or 'none (run dvc repro first)'}.")
        return seed_matrix(variant, params.seeds, read_local)
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        params = parse_params(dvc.api.params_show("params.yaml", rev=rev))
        return seed_matrix(variant, params.seeds, lambda path: dvc.api.read(path, rev=rev))
    except (DvcException, SCMError, FileNotFoundError, KeyError) as exc:
        raise UserError(f"cannot read the runs of {variant} at '{rev}' ({exc.__class__.__name__}): name an "
                        f"experiment or revision that ran it (`dvc exp show` lists the experiments).") from None


def compare_names(a: str, b: str) -> str:
    (index_a, runs_a), (index_b, runs_b) = runs_of(a), runs_of(b)
    if len(runs_a) != len(runs_b):
        raise UserError(f"{a} and {b} were run on {len(runs_a)} and {len(runs_b)} seeds; pairing needs the "
                        f"same seeds (set seeds in params.yaml alike).")
    if not np.array_equal(index_a, index_b):
        raise UserError(f"{a} and {b} were tested on different images (other data or split); only runs on "
                        f"the same test set can be compared.")
    # Judged as the report judges a claim alone: 'A beats B', a family of one test.
    claim = Claim("compare", f"{a} beats {b}", "", "", better=a, worse=b)
    (judged,) = judge_all([claim], Scores({a: runs_a, b: runs_b}.__getitem__, lambda _: np.zeros(0), [a, b], "",
                                          same_images(index_a)))
    result = judged.comparison
    said = ComparisonText.of(a, b, result)
    width = max(len(a), len(b))
    return "\n".join([
        f"{a:<{width}}  {said.a} % test accuracy",
        f"{b:<{width}}  {said.b} %   (95% intervals: {result.a.method})",
        f"{a} - {b}: {said.difference} ({result.difference.method})",
        said.test,
        said.new_seed or f"P({a} beats {b} on a new seed): needs {MIN_SEEDS} or more seeds; one seed's "
                         f"interval is the test set's sampling error alone",
        *([judged.note] if judged.note else []),
        f"verdict on '{a} beats {b}': {judged.verdict}",
    ])


def run_compare(a: str, b: str) -> None:
    print(compare_names(a, b))
