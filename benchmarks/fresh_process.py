"""One setting of a benchmark, measured in a fresh Python process, so that process-wide
state (the allocator, torch's flags, what is already imported) is the setting's alone."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any


def measure_in_fresh_process(child: str, *args: str) -> dict[str, Any]:
    """Run `child` (Python source) with these arguments; the JSON object on its last line of output."""
    out = subprocess.run([sys.executable, "-c", child, *args], capture_output=True, text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])
