import dataclasses

import pytest
import torch

from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.errors import UserError
from cnnlab.models import build_model, parse_model_spec
from cnnlab.params import TrainParams
from cnnlab.train.device import seed_everything
from cnnlab.train.loop import fit, loss_and_accuracy, predict
from tests.conftest import synthetic_set

SPEC = {"name": "convnet", "channels": [8, 16], "kernel_size": 3, "hidden": 32}


def setup(seed=0, **train):
    data = synthetic_set(n_per_class=24, classes=3, size=8, seed=1)
    norm = Normalizer([0.3] * 3, [0.3] * 3)
    idx = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(0))
    tr, va = idx[:54], idx[54:]
    seed_everything(seed)
    model = build_model(parse_model_spec(SPEC, "m"), 3, 8, 3)
    p = TrainParams(model=SPEC, epochs=train.pop("epochs", 6), batch_size=8, **train)
    return (model, BatchLoader(data.images[tr], data.labels[tr], 8, norm, shuffle=True, seed=seed),
            BatchLoader(data.images[va], data.labels[va], 64, norm), p)


def test_fit_learns_and_returns_the_best_epoch_weights():
    model, train, val, p = setup(lr=3e-3)
    result = fit(model, train, val, p)
    assert len(result.history) == 6
    assert result.best.val_accuracy == max(r.val_accuracy for r in result.history)
    assert result.best.val_accuracy > 0.9
    model.load_state_dict(result.best_state)
    loss, acc = loss_and_accuracy(*predict(model, val))
    assert acc == pytest.approx(result.best.val_accuracy) and loss == pytest.approx(result.best.val_loss)


def test_same_seed_same_weights_different_seed_different():
    runs = []
    for seed in (0, 0, 1):
        model, train, val, p = setup(seed=seed, epochs=2)
        runs.append(fit(model, train, val, p).best_state)
    assert all(torch.equal(runs[0][k], runs[1][k]) for k in runs[0])
    assert not all(torch.equal(runs[0][k], runs[2][k]) for k in runs[0])


def test_divergence_stops_with_the_cause_and_the_fix():
    model, train, val, p = setup(optimizer="sgd", lr=1e9, momentum=0.9)
    with pytest.raises(UserError) as err:
        fit(model, train, val, p, label="baseline")
    assert "diverged (baseline)" in str(err.value) and "Lower the learning rate" in str(err.value)


def test_step_scheduler_decays_once_per_epoch():
    model, train, val, p = setup(scheduler="step", step_size=2, gamma=0.5, lr=1e-3, epochs=5)
    lrs = [r.lr for r in fit(model, train, val, p).history]
    assert lrs == pytest.approx([1e-3, 1e-3, 5e-4, 5e-4, 2.5e-4])


def test_onecycle_steps_per_batch_peaks_at_lr_and_ends_low():
    model, train, val, p = setup(scheduler="onecycle", lr=1e-2, epochs=4, optimizer="sgd")
    seen = []
    original = torch.optim.SGD.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *a, **k)

    torch.optim.SGD.step = spy
    try:
        fit(model, train, val, p)
    finally:
        torch.optim.SGD.step = original
    assert len(seen) == 4 * len(train) and len(set(seen)) == len(seen)
    assert max(seen) == pytest.approx(1e-2, rel=0.02) and seen[-1] < 1e-4 and seen[0] < 1e-3


def test_adam_and_sgd_are_configured_from_params():
    from cnnlab.train.optim import make_optimizer

    model, _, _, p = setup()
    sgd = make_optimizer(model, dataclasses.replace(p, optimizer="sgd", momentum=0.8, weight_decay=1e-4))
    assert isinstance(sgd, torch.optim.SGD) and sgd.defaults["momentum"] == 0.8 and sgd.defaults["nesterov"]
    adam = make_optimizer(model, dataclasses.replace(p, optimizer="adam", weight_decay=5e-4))
    assert isinstance(adam, torch.optim.Adam) and adam.defaults["weight_decay"] == 5e-4
