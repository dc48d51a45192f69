"""DistributedDataParallel under torchrun, on this CPU with gloo: two ranks, each training
half of every batch, end with one process's weights on the same global batch."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from tests.conftest import ROOT
from tests.distributed_worker import train

pytestmark = pytest.mark.slow(seconds=25)


def torchrun(processes: int, *args: str, cwd=ROOT, env=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           f"--nproc_per_node={processes}", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def test_two_ranks_give_one_process_weights_on_the_same_global_batch(tmp_path):
    done = torchrun(2, "-m", "tests.distributed_worker", str(tmp_path / "ddp.pt"))
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    ranks = torch.load(tmp_path / "ddp.pt")
    assert ranks["world"] == 2
    one = train()  # the same training in this process: no torchrun, one rank
    assert ranks["state"].keys() == one.best_state.keys()
    for name, weight in one.best_state.items():
        torch.testing.assert_close(ranks["state"][name], weight, rtol=1e-4, atol=1e-5, msg=name)
    for a, b in zip(ranks["history"], [r.as_dict() for r in one.history], strict=True):
        assert a == pytest.approx(b, rel=1e-4, abs=1e-5)  # loss and accuracy over whole batches, as one process
    # one rank printed the epochs, not both
    assert done.stdout.count("ddp epoch 1/3:") == 1, done.stdout


def test_a_slice_that_is_not_the_whole_batch_would_not_match(tmp_path, monkeypatch):
    """The check has teeth: training on one rank's half of each batch alone ends elsewhere."""
    import cnnlab.train.loop as loop
    from cnnlab.runtime.distributed import World

    half = World(rank=0, size=2)
    original = loop.shard
    monkeypatch.setattr(loop, "shard", lambda x, y, world: original(x, y, half))
    monkeypatch.setattr(loop, "total", lambda values, world, device: values)
    sliced = train()
    monkeypatch.undo()
    whole = train()
    differs = [n for n, w in whole.best_state.items() if not torch.allclose(sliced.best_state[n], w, atol=1e-3)]
    assert differs


def test_the_train_stage_with_two_processes_runs_under_torchrun_and_records_once(workspace, tmp_path):
    """train.processes: 2 re-runs train@V under torchrun: one set of outputs, one MLflow run,
    and (no dropout, no BatchNorm in the baseline) the weights of the one-process stage."""
    import os

    from mlflow.tracking import MlflowClient

    from cnnlab import layout
    from cnnlab.io import read_json

    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    small = {"channels": [8, 16], "hidden": 32}
    results = {}
    for processes in (1, 2):
        workspace("baseline", epochs=2, batch_size=32, processes=processes, model=small)
        done = subprocess.run([sys.executable, str(ROOT / "stages" / "train.py"), "--variant", "baseline"],
                              cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
        results[processes] = (read_json(layout.trained("baseline").metrics),
                              torch.load(layout.trained("baseline").weights), done.stdout)
    (one, one_weights, _), (two, two_weights, log) = results[1], results[2]
    assert "variants.baseline.processes is 2: -m torch.distributed.run --standalone --nproc_per_node=2" in log
    assert log.count("baseline epoch 2/2:") == 1  # rank 0 alone prints
    assert two["epochs_trained"] == 2 and two["val_accuracy"] == pytest.approx(one["val_accuracy"])
    for name, weight in one_weights.items():
        torch.testing.assert_close(two_weights[name], weight, rtol=1e-4, atol=1e-5, msg=name)
    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    runs = client.search_runs([client.get_experiment_by_name("cnnlab").experiment_id])
    assert len(runs) == 2  # one per stage run, not one per rank
    distributed = next(r for r in runs if r.data.params["train.processes"] == "2")
    assert len(client.get_metric_history(distributed.info.run_id, "val_accuracy")) == 2


def test_a_gpu_index_beyond_the_machines_gpus_is_one_clear_error(monkeypatch):
    from cnnlab.errors import UserError
    from cnnlab.runtime.device import pick_device

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert pick_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(UserError, match=r"train.device is 'cuda:2' but this machine has 2 GPU\(s\), cuda:0 to cuda:1"):
        pick_device("cuda:2")
