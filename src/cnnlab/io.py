"""Atomic writes: a stage that fails, or is killed, leaves the previous file or nothing,
never half a file (a killed one's temporary file is swept away by the next write)."""

from __future__ import annotations

import contextlib
import csv
import glob
import json
import math
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def temp_prefix(path: Path) -> str:
    """Temporary files and folders beside path are named after it and the process making
    them, so a later run can tell those a killed process left behind."""
    return f".{path.name}.{os.getpid()}."


def sweep_stale(path: Path) -> None:
    """Remove what a killed process left half-written beside path (never a live one's)."""
    for entry in path.parent.glob(f".{glob.escape(path.name)}.*"):
        pid = entry.name[len(path.name) + 2:].split(".", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink(missing_ok=True)


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> None:
    """Call ``write(tmp)`` then rename tmp over ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; give it normal permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def replace_dir(path: Path, fill: Callable[[Path], None]) -> None:
    """Build a directory beside ``path`` with ``fill(tmp)``, then swap it in."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sweep_stale(path)
    tmp = Path(tempfile.mkdtemp(prefix=temp_prefix(path), dir=path.parent))
    try:
        fill(tmp)
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            shutil.rmtree(path)
        os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


@contextlib.contextmanager
def created_folder(folder: Path) -> Iterator[Path]:
    """Make folder and its missing parents; if the block raises, remove again those of
    them that are still empty, so a failure leaves no trace."""
    missing = []
    probe = Path(folder)
    while not probe.exists():
        missing.append(probe)
        probe = probe.parent
    Path(folder).mkdir(parents=True, exist_ok=True)
    try:
        yield Path(folder)
    except BaseException:
        for made in missing:  # deepest first
            if made.is_dir() and not any(made.iterdir()):
                made.rmdir()
        raise


def write_text(path: str | Path, text: str) -> None:
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def write_json(path: str | Path, data: Any) -> None:
    # Sorted keys and a fixed float format keep re-runs byte-identical.
    write_text(path, json.dumps(data, indent=2, sort_keys=True) + "\n")


def read_json(path: str | Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_csv(path: str | Path, header: list[str], rows: Iterable[Iterable[Any]]) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    atomic_write(path, write)


def number_cell(value: float) -> str:
    """A CSV cell of a measured number (6 significant digits); empty where it was not
    measured (NaN: an epoch not validated), which plots and readers skip."""
    return "" if math.isnan(value) else f"{value:.6g}"


def save_figure(fig: Any, path: str | Path, dpi: int = 100, tight: bool = True) -> None:
    """Save a matplotlib figure as PNG atomically, and close it. tight=False keeps the
    figure's own margins and saves the second drawing pass that trimming them costs."""
    import matplotlib.pyplot as plt

    # Metadata off: matplotlib stamps its version/date otherwise, breaking byte equality.
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight" if tight else None,
                                               metadata={"Software": None}))
    plt.close(fig)


def write_npy(path: str | Path, array: Any) -> None:
    import numpy as np

    def write(tmp: Path) -> None:
        with tmp.open("wb") as f:
            np.save(f, array)

    atomic_write(path, write)
