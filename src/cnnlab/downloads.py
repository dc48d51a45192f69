"""What every download shares: a bounded wait (no network fails in seconds, not minutes), and no trace
left when it fails."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from pathlib import Path

from cnnlab.errors import UserError
from cnnlab.io import created_folder

TIMEOUT_S = 20


@contextlib.contextmanager
def network_timeout(seconds: float = TIMEOUT_S) -> Iterator[None]:
    """Every socket opened inside gives up after `seconds` without an answer."""
    previous = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(previous)


@contextlib.contextmanager
def downloading_into(folder: Path, explain: Callable[[Exception], str]) -> Iterator[Path]:
    """Make folder (and missing parents) and bound every wait on the network. If the
    block fails, remove the folders this made and stop with UserError(explain(error))."""
    try:
        with network_timeout(), created_folder(folder):
            yield Path(folder)
    except Exception as exc:  # noqa: BLE001 - any failure means the same remedy
        raise UserError(explain(exc)) from None
