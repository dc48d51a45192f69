"""Resume state: what a killed training needs to carry on exactly where it stopped.

After every completed epoch the loop writes the model, optimizer, scheduler, every
random generator, the history and the best epoch so far into one file, atomically
(a kill during the write leaves the previous epoch's file). Run again with the same
params and data, training continues from there and ends with the same bytes as an
uninterrupted run on the same machine. A file written for other params or other
data is ignored and removed. It lives outside every DVC output, and a finished
stage deletes it.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path
from typing import Any

import torch

from cnnlab.io import atomic_write


def fingerprint(*parts: Any, files: tuple[Path, ...] = ()) -> str:
    """A digest of JSON-able parts and of the files' contents."""
    digest = hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode())
    for path in files:
        digest.update(path.name.encode())
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()


class ResumeStore:
    def __init__(self, path: Path, key: str):
        self.path = Path(path)
        self.key = key
        self.extra: dict[str, Any] = {}  # saved with every state (e.g. the MLflow run to carry on)

    def load(self) -> dict[str, Any] | None:
        """The saved state if it belongs to this key; a foreign one is removed."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception:  # noqa: BLE001 - an unreadable file is as good as none
            state = None
        if not isinstance(state, dict) or state.get("key") != self.key:
            print(f"{self.path}: a resume state for other params or data; starting afresh.", file=sys.stderr)
            self.clear()
            return None
        return state

    def save(self, state: dict[str, Any]) -> None:
        buffer = io.BytesIO()
        torch.save({**state, **self.extra, "key": self.key}, buffer)
        atomic_write(self.path, lambda tmp: tmp.write_bytes(buffer.getvalue()))

    def clear(self) -> None:
        self.path.unlink(missing_ok=True)
