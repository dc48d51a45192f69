"""Headless Chromium for the report's browser test: Debian's chromium, driven by Playwright
through executable_path (Playwright's own browser download needs a network this machine
lacks). Where it is missing and the tests run as root with apt, they install it."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests.conftest import unavailable

# As the machine's notes say: without the background-networking flags Chromium keeps trying
# to reach Google's hosts, which a closed network refuses.
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"]


def chromium() -> str:
    """The path of a Chromium binary; installed with apt-get when missing and possible.
    Skips (fails under CI) with the command that installs it, when it cannot be had."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        quiet = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=quiet, capture_output=True, timeout=300)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=quiet, capture_output=True, timeout=600)
        found = shutil.which("chromium")
    if found is None:
        unavailable("Chromium is needed for the browser test: sudo apt-get install chromium (Debian, Ubuntu)")
    return found
