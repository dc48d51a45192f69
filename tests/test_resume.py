"""A training stage killed with SIGKILL mid-epoch resumes and ends byte-identical."""

import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch

from cnnlab import layout
from cnnlab.data.canonical import save_imageset
from cnnlab.data.split import make_split
from cnnlab.data.stats import channel_stats
from cnnlab.io import read_json, write_json
from tests.conftest import ROOT, synthetic_set

VARIANT = "baseline"
OUTPUTS = ["model.pt", "metrics.json", "history.csv"]


def train(cwd):
    return subprocess.Popen([sys.executable, str(ROOT / "stages" / "train.py"), "--variant", VARIANT],
                            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def slow_epochs(workspace):
    """The workspace with enough images that an epoch takes a good part of a second."""
    data = synthetic_set(n_per_class=400, classes=3, size=32, seed=2)
    save_imageset(data, layout.RAW)
    params = workspace(VARIANT, epochs=3, batch_size=32, scheduler="onecycle", lr=0.003)
    split = make_split(data, params.split, seed=params.seed)
    write_json(layout.SPLIT, split)
    write_json(layout.STATS, channel_stats(data.images, torch.tensor(split["train"])))
    return params


@pytest.mark.slow(seconds=45)
def test_a_killed_training_resumes_and_ends_byte_identical(slow_epochs, tmp_path):
    whole = train(tmp_path)
    assert whole.wait(timeout=300) == 0, whole.stdout.read()
    expected = {name: (layout.trained(VARIANT).dir / name).read_bytes() for name in OUTPUTS}
    shutil.rmtree(layout.MODELS)

    killed = train(tmp_path)
    resume_file = tmp_path / layout.resume_file(VARIANT)
    deadline = time.monotonic() + 120
    while not resume_file.exists():  # epoch 1 is complete once its state is saved
        assert killed.poll() is None and time.monotonic() < deadline, killed.stdout.read()
        time.sleep(0.02)
    time.sleep(0.3)  # into epoch 2
    killed.send_signal(signal.SIGKILL)
    assert killed.wait(timeout=30) == -signal.SIGKILL
    assert not (layout.trained(VARIANT).dir / "model.pt").exists()
    run_id = read_json(layout.trained(VARIANT).dir / "mlflow_run.json")["run_id"]

    again = train(tmp_path)
    log = again.communicate(timeout=300)[0]
    assert again.returncode == 0, log
    assert "resuming after epoch" in log
    for name in OUTPUTS:
        assert (layout.trained(VARIANT).dir / name).read_bytes() == expected[name], name
    assert not resume_file.exists()  # a finished stage leaves no resume state
    assert read_json(layout.trained(VARIANT).dir / "timing.json")["resumed_after_epoch"] >= 1

    # the resumed training carried on in the same MLflow run, with one value per epoch
    from mlflow.tracking import MlflowClient

    client = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}")
    assert read_json(layout.trained(VARIANT).dir / "mlflow_run.json")["run_id"] == run_id
    assert [m.step for m in client.get_metric_history(run_id, "val_accuracy")] == [1, 2, 3]
    assert client.get_run(run_id).info.status == "FINISHED"


def test_the_resume_key_changes_with_params_seed_and_data(workspace):
    import dataclasses

    from cnnlab.train.run import resume_store

    p = workspace(VARIANT).variant(VARIANT).train
    key = resume_store(VARIANT, 42, p, torch.device("cpu")).key
    assert resume_store(VARIANT, 42, p, torch.device("cpu")).key == key
    assert resume_store(VARIANT, 42, dataclasses.replace(p, lr=0.01), torch.device("cpu")).key != key
    assert resume_store(VARIANT, 7, p, torch.device("cpu")).key != key
    split = read_json(layout.SPLIT)
    split["val"], split["test"] = split["test"], split["val"]
    write_json(layout.SPLIT, split)
    assert resume_store(VARIANT, 42, p, torch.device("cpu")).key != key
