"""Progress as people read it: bars on a terminal, and in a log (CI, `dvc repro > log`) no
bars, only one plain line per finished step, so the log stays readable."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")


def on_terminal() -> bool:
    return sys.stderr.isatty()


def bar(iterable: Iterable[T] | None = None, show: bool = True, **kwargs: Any) -> tqdm:
    """A tqdm bar that shows only on a terminal (tqdm's disable=None: off when stderr is not
    one), and only where `show` (one rank of several draws it)."""
    return tqdm(iterable, disable=None if show else True, **kwargs)


def say(line: str) -> None:
    """One line: above the bars on a terminal (so they are not broken), plain in a log."""
    if on_terminal():
        tqdm.write(line, file=sys.stderr)
    else:
        print(line, flush=True)
