"""Where the default run's time goes: `dvc repro -f` of a fresh clone, stage by stage.

Every stage appends its timing (cnnlab.stage.STAGE_TIMES): the wall time of its process,
and of that the start-up before the stage's work begins (the interpreter and the imports
at the top of the stage script; imports made later, such as MLflow's when a run starts,
count as work). What is left of the total is DVC's own: hashing, the lock file, checks.

    python benchmarks/stage_times.py [--keep DIR]

Prints a markdown table for the README, with the CPU it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from cnnlab.stage import STAGE_TIMES

ROOT = Path(__file__).resolve().parents[1]


def cpu_name() -> str:
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    name = next((line.split(":", 1)[1].strip() for line in info.splitlines() if line.startswith("model name")), "?")
    flags = next((line for line in info.splitlines() if line.startswith("flags")), "")
    return f"{name}, {os.cpu_count()} cores, {'with' if 'avx512_bf16' in flags else 'without'} AVX512-BF16"


def run(repo: Path) -> tuple[float, list[dict]]:
    times = repo / "stage_times.jsonl"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    env.update({STAGE_TIMES: str(times), "DVC_NO_ANALYTICS": "1", "PYTHONPATH": str(repo / "src"),
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"})
    started = time.perf_counter()
    subprocess.run(["dvc", "repro", "-f"], cwd=repo, env=env, check=True, stdout=subprocess.DEVNULL)
    total = time.perf_counter() - started
    return total, [json.loads(line) for line in times.read_text().splitlines()]


def table(total: float, records: list[dict]) -> str:
    kinds: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        kinds[r["stage"].split()[0]].append(r)
    lines = ["| stage | runs | wall s | start-up s | work s |", "|---|---:|---:|---:|---:|"]
    for kind, runs in kinds.items():
        wall, startup = sum(r["wall_s"] for r in runs), sum(r["startup_s"] for r in runs)
        lines.append(f"| {kind} | {len(runs)} | {wall:.1f} | {startup:.1f} | {wall - startup:.1f} |")
    wall, startup = sum(r["wall_s"] for r in records), sum(r["startup_s"] for r in records)
    lines.append(f"| all stages | {len(records)} | {wall:.1f} | {startup:.1f} | {wall - startup:.1f} |")
    lines.append(f"| DVC itself (the rest) | | {total - wall:.1f} | | |")
    lines.append(f"| **`dvc repro -f`** | | **{total:.1f}** | | |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=Path, help="clone into this (new) folder and leave it there")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        repo = args.keep or Path(tmp) / "repo"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(repo)], check=True)
        total, records = run(repo)
    print(f"default pipeline, `dvc repro -f` of a fresh clone on {cpu_name()}:\n")
    print(table(total, records))


if __name__ == "__main__":
    main()
