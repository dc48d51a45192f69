"""224 px images: the pipeline's stages on a generated folder of a few thousand photos-sized
JPEGs. The canonical array is memory-mapped, so no stage's private memory grows with the
data set; decoding shows a progress bar on a terminal and keeps every core busy."""

from __future__ import annotations

import fcntl
import os
import pty
import resource
import struct
import subprocess
import sys
import termios
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from tests.conftest import ROOT

pytestmark = pytest.mark.slow(seconds=60)

SIZE = 224
BIG, SMALL = 3000, 100
STAGES = [["download.py"], ["split.py"], ["stats.py"], ["train.py", "--variant", "mlp"]]


def generate(root: Path, count: int) -> None:
    """count 256x240 JPEGs in 10 class folders: smooth patterns that differ per class and image."""
    yy, xx = np.mgrid[0:240, 0:256]
    for i in range(count):
        c = i % 10
        pixels = np.stack([(xx * (c + 1) + i) % 256, (yy * (10 - c) + 3 * i) % 256,
                           ((xx + yy) * 2 + 25 * c) % 256], -1).astype(np.uint8)
        path = root / f"class{c}" / f"{i:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path, quality=90)


def workspace(folder: Path, images: Path) -> Path:
    raw = yaml.safe_load((ROOT / "params.yaml").read_text())
    raw["data"].update(dataset="folder", path=str(images), image_size=SIZE)
    raw["active"] = ["mlp"]
    raw["variants"]["mlp"].update(epochs=1, batch_size=16, model={"name": "mlp", "hidden": [8]})
    folder.mkdir()
    (folder / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    return folder


def run_measured(args: list[str], cwd: Path, terminal: bool = False) -> dict:
    """Run a stage; sample its private (anonymous) resident memory every 10 ms."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "DVC_"))}
    if terminal:
        master, slave = pty.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # a 100-column terminal
        out, err = slave, slave
    else:
        out, err = subprocess.PIPE, subprocess.STDOUT
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, str(ROOT / "stages" / args[0]), *args[1:]], cwd=cwd, env=env,
                               stdout=out, stderr=err)
    chunks: list[bytes] = []
    if terminal:
        os.close(slave)
        reader = threading.Thread(target=lambda: chunks.extend(iter(lambda: _read(master), b"")), daemon=True)
        reader.start()
    peak = 0
    thread_cpu: dict[int, float] = {}  # CPU seconds of each thread but the main one, as last seen
    while process.poll() is None:
        try:
            status = Path(f"/proc/{process.pid}/status").read_text()
            peak = max(peak, int(next(line for line in status.splitlines() if line.startswith("RssAnon:")).split()[1]))
            for task in Path(f"/proc/{process.pid}/task").iterdir():
                if int(task.name) != process.pid:
                    thread_cpu[int(task.name)] = _cpu_seconds(task / "stat")
        except (FileNotFoundError, StopIteration, ProcessLookupError, ValueError):
            pass
        time.sleep(0.01)
    wall = time.perf_counter() - started
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    if terminal:
        reader.join(timeout=10)
        output = b"".join(chunks).decode(errors="replace")
    else:
        output = process.stdout.read().decode(errors="replace")
    assert process.returncode == 0, output[-3000:]
    cpu = (used.ru_utime - before.ru_utime) + (used.ru_stime - before.ru_stime)
    return {"anon_mb": peak / 1024, "wall": wall, "cpu": cpu, "output": output,
            "thread_cpu": sorted(thread_cpu.values(), reverse=True)}


def _cpu_seconds(stat: Path) -> float:
    """User + system time of one thread, from /proc/PID/task/TID/stat."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal closed with the process
        return b""


@pytest.fixture(scope="module")
def measured(tmp_path_factory):
    base = tmp_path_factory.mktemp("large")
    results = {}
    for count in (SMALL, BIG):
        generate(base / f"images{count}", count)
        ws = workspace(base / f"ws{count}", base / f"images{count}")
        results[count] = [run_measured(stage, ws, terminal=(stage[0] == "download.py" and count == BIG))
                          for stage in STAGES]
    return results


def test_no_stage_holds_the_data_set_in_its_own_memory(measured):
    pixels_mb = (BIG - SMALL) * 3 * SIZE * SIZE / 2**20  # what the extra images weigh as uint8
    for stage, small, big in zip(STAGES, measured[SMALL], measured[BIG], strict=True):
        growth = big["anon_mb"] - small["anon_mb"]
        print(f"{stage[0]}: peak private memory {small['anon_mb']:.0f} MB with {SMALL} images, "
              f"{big['anon_mb']:.0f} MB with {BIG} ({pixels_mb:.0f} MB more pixels)")
        # Reading the images in would add all of them, a copy of the training split 70%. The
        # allowance is for the allocator: its heaps vary by up to ~130 MB from run to run.
        assert growth < 0.5 * pixels_mb, (stage, growth, pixels_mb)


def test_decoding_shows_progress_on_a_terminal_and_uses_every_core(measured):
    download = measured[BIG][0]
    assert f"decoding images{BIG}" in download["output"] and f"{BIG}/{BIG}" in download["output"]
    assert f"{BIG} images, 10 classes, 3x{SIZE}x{SIZE}" in download["output"]
    # One decoding thread per core, sharing the work: counted in CPU time per thread, which
    # other processes on the machine (tests run in parallel) do not change, as wall time would.
    cores = os.cpu_count() or 1
    busiest = download["thread_cpu"][:cores]
    decoding = sum(download["thread_cpu"])
    assert len(busiest) == cores and decoding > 1.0, download
    assert min(busiest) > decoding / (2 * cores), download["thread_cpu"]
    quiet = measured[SMALL][0]["output"]  # not a terminal: no progress bar in a log
    assert "decoding" not in quiet and "img/s" not in quiet
