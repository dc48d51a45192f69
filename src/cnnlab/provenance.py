"""Where a run came from: the git commit, whether the code had uncommitted changes, the DVC
experiment, and the params that differ from the committed params.yaml (what
`dvc exp run -S` changed). The report prints it at the top, so a result read weeks later
still says what produced it."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from cnnlab.schema import flatten

PARAMS = Path("params.yaml")
# Written by the run itself (dvc.lock, the .gitignore files DVC keeps for its outputs) or
# listed apart (params.yaml): not "uncommitted code".
RUN_FILES = {"dvc.lock", "params.yaml", ".gitignore"}
MISSING = object()  # a key on one side of a params comparison only


@dataclass(frozen=True)
class Provenance:
    commit: str  # short hash; "" outside a git repository
    dirty: list[str]  # tracked files with uncommitted changes, the run's own files aside
    experiment: str  # DVC_EXP_NAME under `dvc exp run`; "" for a plain `dvc repro`
    changed: list[tuple[str, Any, Any]]  # (dotted key, committed value, this run's value)

    def lines(self) -> list[str]:
        if not self.commit:
            return ["Provenance: not in a git repository, so no commit or changed params to show."]
        state = (f"uncommitted changes in {', '.join(self.dirty)}" if self.dirty else "no uncommitted code changes")
        where = f"DVC experiment {self.experiment}" if self.experiment else "dvc repro (not an experiment)"
        changed = ("; ".join(f"{key}: {show(old)} → {show(new)}" for key, old, new in self.changed)
                   if self.changed else "none")
        return [f"Provenance: git commit {self.commit} ({state}); {where}. "
                f"Params changed from the commit's params.yaml: {changed}."]


def show(value: Any) -> str:
    """A params value as params.yaml spells it (YAML flow style: [32, 64], true)."""
    if value is MISSING:
        return "(absent)"
    return yaml.safe_dump(value, default_flow_style=True, width=10**6).strip().removesuffix("...").strip()



def git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 else None


def changed_params(committed: Any, current: Any) -> list[tuple[str, Any, Any]]:
    old, new = flatten(committed or {}), flatten(current or {})
    return [(key, old.get(key, MISSING), new.get(key, MISSING)) for key in sorted(old.keys() | new.keys())
            if old.get(key, MISSING) != new.get(key, MISSING)]


def provenance(params_file: Path = PARAMS) -> Provenance:
    commit = git("rev-parse", "--short", "HEAD")
    if commit is None:
        return Provenance("", [], os.environ.get("DVC_EXP_NAME", ""), [])
    status = git("status", "--porcelain", "--untracked-files=no") or ""
    changed = {line[3:].split(" -> ")[-1] for line in status.splitlines()}
    dirty = sorted(path for path in changed if Path(path).name not in RUN_FILES)
    committed = git("show", f"HEAD:{params_file.as_posix()}")
    current = yaml.safe_load(params_file.read_text(encoding="utf-8")) if params_file.exists() else {}
    return Provenance(commit.strip(), dirty, os.environ.get("DVC_EXP_NAME", ""),
                      changed_params(yaml.safe_load(committed) if committed else {}, current))
