"""Experiments run in parallel lose nothing: `dvc exp run --queue` twice, then
`dvc queue start -j 2`, and both are in DVC and in the MLflow store."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
import yaml

from tests.fresh_repo import copy_repository, env, sh

SETUP_AND_LOG = """
import sys
from pathlib import Path
from cnnlab import tracking
with tracking.start_run(sys.argv[1], {"worker": sys.argv[1]}, Path(sys.argv[1] + "-run.json")) as run:
    for step in range(5):
        run.log_metrics({"loss": 1.0 / (step + 1)}, step=step)
"""


def test_two_processes_setting_up_a_fresh_store_at_once_both_log_their_runs(tmp_path):
    from mlflow.tracking import MlflowClient

    workers = [subprocess.Popen([sys.executable, "-c", SETUP_AND_LOG, name], cwd=tmp_path,
                                env={**env(), "DVC_ROOT": str(tmp_path)}, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True) for name in ("a", "b", "c")]
    for w in workers:
        assert w.wait(120) == 0, w.stdout.read()[-3000:]
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cnnlab").experiment_id])
    assert sorted(r.data.tags["variant"] for r in runs) == ["a", "b", "c"]
    assert all(len(client.get_metric_history(r.info.run_id, "loss")) == 5 for r in runs)


@pytest.mark.slow(seconds=100)
def test_two_queued_experiments_run_in_parallel_and_both_are_recorded(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_repository(repo)
    params = yaml.safe_load((repo / "params.yaml").read_text())
    params.update(active=["baseline"])
    params["train"]["epochs"] = 1
    params["saliency"].update(methods=["gradcam"], max_images=4)
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    (repo / "dvc.lock").unlink(missing_ok=True)
    sh(repo, "git", "init", "-q")
    sh(repo, "git", "add", "-A")
    sh(repo, "git", "commit", "-qm", "fresh clone")

    for seed in (1, 2):
        sh(repo, "dvc", "exp", "run", "--queue", "-n", f"seed{seed}", "-S", f"seed={seed}")
    started = time.perf_counter()
    sh(repo, "dvc", "queue", "start", "-j", "2")
    deadline = time.monotonic() + 600
    while True:
        status = sh(repo, "dvc", "queue", "status")
        if "Queued" not in status and "Running" not in status:
            break
        assert time.monotonic() < deadline, status
        time.sleep(3)
    print(f"\ntwo queued experiments, two workers: {time.perf_counter() - started:.0f} s")
    assert status.count("Success") == 2, status + sh(repo, "dvc", "queue", "logs", "seed1")

    rows = json.loads(sh(repo, "dvc", "exp", "show", "--json"))
    experiments = {e["name"]: e for row in rows for exp in (row.get("experiments") or []) for e in exp["revs"]}
    assert {"seed1", "seed2"} <= set(experiments)
    accuracy = {}
    for name, seed in (("seed1", 1), ("seed2", 2)):
        data = experiments[name]["data"]
        assert data["params"]["params.yaml"]["data"]["seed"] == seed
        accuracy[name] = data["metrics"]["reports/variants/baseline/metrics.json"]["data"]["test_accuracy"]
    assert accuracy["seed1"] != accuracy["seed2"]  # two different runs, not one copied

    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{repo / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cnnlab").experiment_id])
    by_experiment = {r.data.tags.get("dvc_experiment"): r for r in runs}
    assert sorted(r.data.tags.get("dvc_experiment") for r in runs) == ["seed1", "seed2"]
    for name in ("seed1", "seed2"):
        run = by_experiment[name]
        assert run.info.status == "FINISHED" and run.data.params["variant"] == "baseline"
        assert run.data.metrics["test_accuracy"] == pytest.approx(accuracy[name])
