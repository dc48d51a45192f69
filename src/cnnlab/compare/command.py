"""`cnnlab compare A B`: the paired comparison of two variants, from the terminal.

A name is a variant of this workspace (`baseline`) or a variant in a DVC experiment or
git revision (`baseline@sgd`, `baseline@HEAD~1`), read from DVC's cache."""

from __future__ import annotations

import csv
import io
import numpy as np

from cnnlab import layout
from cnnlab.compare.claims import percent
from cnnlab.compare.stats import compare, verdict
from cnnlab.errors import UserError
from cnnlab.predictions import PREDICTIONS


def predictions_text(variant: str, rev: str | None) -> str:
    path = layout.variant_report_dir(variant) / PREDICTIONS
    if rev is None:
        if not path.exists():
            known = sorted(p.parent.name for p in layout.REPORTS.glob(f"variants/*/{PREDICTIONS}"))
            raise UserError(f"no evaluated variant '{variant}' in this workspace; the ones there are: "
                            f"{', '.join(known) or 'none (run dvc repro first)'}.")
        return path.read_text()
    import dvc.api
    from dvc.exceptions import DvcException
    from scmrepo.exceptions import SCMError

    try:
        return dvc.api.read(str(path), rev=rev)
    except (DvcException, SCMError, FileNotFoundError, KeyError) as exc:
        raise UserError(f"cannot read {path} at '{rev}' ({exc.__class__.__name__}): name an experiment or "
                        f"revision that evaluated {variant} (`dvc exp show` lists the experiments).") from None


def right_or_wrong(name: str) -> tuple[np.ndarray, np.ndarray]:
    """(test indices, right or wrong) of NAME (VARIANT or VARIANT@REV), by test index."""
    variant, _, rev = name.partition("@")
    rows = list(csv.DictReader(io.StringIO(predictions_text(variant, rev or None))))
    index = np.array([int(r["index"]) for r in rows], dtype=np.int64)
    right = np.array([r["actual"] == r["predicted"] for r in rows], dtype=bool)
    order = np.argsort(index)
    return index[order], right[order]


def compare_names(a: str, b: str) -> str:
    (index_a, right_a), (index_b, right_b) = right_or_wrong(a), right_or_wrong(b)
    if not np.array_equal(index_a, index_b):
        raise UserError(f"{a} and {b} were tested on different images (other data or split); only runs on the "
                        f"same test set can be compared.")
    result = compare(right_a[None], right_b[None])
    d = result.difference
    width = max(len(a), len(b))
    lines = [
        f"{a:<{width}}  {percent(result.a)} % test accuracy",
        f"{b:<{width}}  {percent(result.b)} %   (95% intervals: {result.a.method})",
        f"{a} - {b}: {percent(d, signed=True)} points ({d.method})",
        f"{result.test}: p = {result.p_value:.3g}",
        f"P({a} beats {b} on a new seed): "
        + (f"{result.p_a_beats_b:.2f}" if result.p_a_beats_b is not None else
           "needs 3 or more seeds; with one, the interval is the test set's sampling error alone"),
        f"verdict on '{a} beats {b}': {verdict(d)}",
    ]
    return "\n".join(lines)


def run_compare(a: str, b: str) -> None:
    print(compare_names(a, b))
