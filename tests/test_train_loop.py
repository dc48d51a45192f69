import copy
import dataclasses

import pytest
import torch
import yaml

from cnnlab.data.loader import BatchLoader, Normalizer
from cnnlab.errors import UserError
from cnnlab.models.build import build_model
from cnnlab.models.registry import parse_model_spec
from cnnlab.params import AugmentParams, TrainParams
from cnnlab.runtime.device import seed_everything
from cnnlab.runtime.inference import loss_and_accuracy, predict
from cnnlab.train.loop import fit
from tests.conftest import synthetic_set

SPEC = {"name": "convnet", "channels": [8, 16], "kernel_size": 3, "hidden": 32}


def setup(seed=0, spec=SPEC, **train):
    data = synthetic_set(n_per_class=24, classes=3, size=8, seed=1)
    norm = Normalizer([0.3] * 3, [0.3] * 3)
    idx = torch.randperm(len(data.labels), generator=torch.Generator().manual_seed(0))
    tr, va = idx[:54], idx[54:]
    seed_everything(seed)
    model = build_model(parse_model_spec(spec, "m"), 3, 8, 3)
    p = TrainParams(model=spec, epochs=train.pop("epochs", 6), batch_size=8, **train)
    return (model, BatchLoader(data.images[tr], data.labels[tr], 8, norm, shuffle=True, seed=seed, augment=p.augment),
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


def test_seeding_turns_deterministic_algorithms_on_without_loading_the_compiler():
    """The flag torch.use_deterministic_algorithms(True, warn_only=True) sets, in a fresh
    process, without that call's import of torch._inductor (seconds at every stage's start)."""
    import subprocess
    import sys

    probe = ("import sys, torch\nfrom cnnlab.runtime.device import seed_everything\nseed_everything(3)\n"
             "print(torch.are_deterministic_algorithms_enabled(),"
             " torch.is_deterministic_algorithms_warn_only_enabled(), 'torch._inductor.config' in sys.modules,"
             " torch.empty(4).isnan().all().item())")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.split()
    # ... and new tensors are not filled with NaN first (the flag's debugging aid, 7% of fast's steps)
    assert out == ["True", "True", "False", "False"]
    # where the inductor is loaded already, its own flag is set too, through torch's call
    import torch._inductor.config as inductor

    seed_everything(3)
    assert torch.are_deterministic_algorithms_enabled() and inductor.deterministic


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
    assert isinstance(adam, torch.optim.Adam) and adam.param_groups[0]["weight_decay"] == 5e-4


def lrs_used(p_overrides, epochs=4, optimizer="sgd"):
    """The learning rate of every optimizer step fit() takes."""
    model, train, val, p = setup(optimizer=optimizer, epochs=epochs, **p_overrides)
    seen = []
    cls = type(__import__("cnnlab.train.optim", fromlist=["make_optimizer"]).make_optimizer(model, p))
    original = cls.step

    def spy(self, *a, **k):
        seen.append(self.param_groups[0]["lr"])
        return original(self, *a, **k)

    cls.step = spy
    try:
        fit(model, train, val, p)
    finally:
        cls.step = original
    return seen, len(train)


@pytest.mark.parametrize("scheduler, per_batch, make", [
    ("step", False, lambda opt, steps, epochs: torch.optim.lr_scheduler.StepLR(opt, 2, 0.5)),
    ("onecycle", True, lambda opt, steps, epochs: torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=0.05, total_steps=steps * epochs, pct_start=0.25)),
    ("cosine", True, lambda opt, steps, epochs: torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps * epochs)),
    ("none", False, lambda opt, steps, epochs: None),
])
def test_each_scheduler_follows_pytorchs_reference_step_for_step(scheduler, per_batch, make):
    seen, steps = lrs_used({"scheduler": scheduler, "lr": 0.05, "step_size": 2, "gamma": 0.5, "pct_start": 0.25},
                           epochs=4)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05, momentum=0.9)
    reference = make(opt, steps, 4)
    expected = []
    for _ in range(4):
        for _ in range(steps):
            expected.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_batch and reference:
                reference.step()
        if not per_batch and reference:
            reference.step()
    assert seen == pytest.approx(expected, rel=1e-12, abs=0)
    assert len(seen) == 4 * steps


def test_plateau_decays_on_val_accuracy_as_pytorchs_reduce_lr_on_plateau_does():
    model, train, val, p = setup(scheduler="plateau", lr=0.05, gamma=0.3, plateau_patience=1,
                                 optimizer="sgd", epochs=12)
    history = fit(model, train, val, p).history
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.05)
    reference = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, mode="max", factor=0.3, patience=1)
    expected = []
    for record in history:
        expected.append(opt.param_groups[0]["lr"])
        reference.step(record.val_accuracy)
    assert [r.lr for r in history] == pytest.approx(expected, rel=1e-12, abs=0)
    assert len(set(expected)) > 1  # the accuracies did plateau, so the comparison saw a decay


def test_plateau_with_early_stopping_trains_until_it_stops_improving():
    model, train, val, p = setup(scheduler="plateau", lr=0.05, gamma=0.3, plateau_patience=0, patience=3,
                                 optimizer="sgd", epochs=60)
    result = fit(model, train, val, p)
    assert result.stopped_early and result.best_epoch == len(result.history) - 3
    lrs = [r.lr for r in result.history]
    assert lrs[-1] < lrs[0]  # it decayed before it gave up


def test_plateau_patience_that_would_stop_before_any_decay_helps_is_refused():
    from cnnlab.params import parse_params

    raw = yaml.safe_load(open("params.yaml"))
    raw["train"].update(scheduler="plateau", plateau_patience=1, patience=2)
    with pytest.raises(UserError, match=r"train.patience \(2\) must be at least plateau_patience \+ 2 \(3\)"):
        parse_params(raw)
    raw["train"]["patience"] = 3
    parse_params(raw)
    raw["variants"]["baseline"] = {"scheduler": "plateau", "patience": 1, "plateau_patience": 0}
    with pytest.raises(UserError, match=r"variants.baseline.patience \(1\)"):
        parse_params(raw)


def test_bf16_trains_under_autocast_keeps_float32_weights_and_learns_as_fp32_does():
    model, train, val, p = setup(lr=3e-3)
    fp32 = fit(model, train, val, p)
    model, train, val, p = setup(lr=3e-3, precision="bf16")
    seen = []
    model.features[0].register_forward_hook(lambda m, i, o: seen.append((o.dtype, torch.is_autocast_enabled("cpu"))))
    bf16 = fit(model, train, val, p)
    assert seen[0] == (torch.bfloat16, True) and len(seen) > len(train)  # training and validation batches
    assert all(t.dtype == torch.float32 for t in bf16.best_state.values() if t.is_floating_point())
    assert bf16.best.val_accuracy > 0.9 and abs(bf16.best.val_accuracy - fp32.best.val_accuracy) < 0.1
    assert [r.train_loss for r in bf16.history] != [r.train_loss for r in fp32.history]  # not fp32 after all
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)
    fresh = build_model(parse_model_spec(SPEC, "m"), 3, 8, 3)
    fresh.load_state_dict(bf16.best_state)  # what evaluate@V does: float32, default order
    _, acc = loss_and_accuracy(*predict(fresh, val))
    assert acc == pytest.approx(bf16.best.val_accuracy, abs=0.05)


def test_adamw_and_sgd_without_nesterov_are_configured_from_params():
    from cnnlab.train.optim import make_optimizer

    model, _, _, p = setup()
    adamw = make_optimizer(model, dataclasses.replace(p, optimizer="adamw", weight_decay=0.05))
    assert isinstance(adamw, torch.optim.AdamW) and adamw.param_groups[0]["weight_decay"] == 0.05
    plain = make_optimizer(model, dataclasses.replace(p, optimizer="sgd", nesterov=False))
    assert plain.defaults["nesterov"] is False and plain.defaults["momentum"] == 0.9


def test_label_smoothing_is_in_the_training_loss():
    model, train, val, p = setup(lr=1e-30, epochs=1, label_smoothing=0.2)  # weights as good as fixed
    reference = copy.deepcopy(model)
    record = fit(model, train, val, p).history[0]
    x = torch.cat([b for b, _ in BatchLoader(train.inputs, train.labels, 64, train.normalize,
                                             indices=train.rows)])
    with torch.no_grad():
        logits = reference(x)
    smoothed = torch.nn.functional.cross_entropy(logits, train.labels, label_smoothing=0.2).item()
    plain = torch.nn.functional.cross_entropy(logits, train.labels).item()
    assert record.train_loss == pytest.approx(smoothed, rel=1e-4) and abs(smoothed - plain) > 1e-3


def test_early_stopping_stops_after_patience_epochs_and_keeps_the_best():
    model, train, val, p = setup(lr=1e-30, epochs=8, patience=2)  # val accuracy can never improve
    result = fit(model, train, val, p)
    assert result.stopped_early and len(result.history) == 3 and result.best_epoch == 1
    model, train, val, p = setup(lr=3e-3, epochs=4)
    assert not fit(model, train, val, p).stopped_early  # patience 0: off


def test_min_delta_ignores_creeping_gains_for_stopping_the_kept_epoch_and_plateau(monkeypatch):
    import cnnlab.train.loop as loop

    scripted = iter([0.50, 0.60, 0.601, 0.6015, 0.602, 0.70, 0.7005, 0.7008, 0.7009, 0.701, 0.99])
    monkeypatch.setattr(loop, "loss_and_accuracy", lambda logits, labels: (1.0, next(scripted)))
    model, train, val, p = setup(lr=1e-3, epochs=11, patience=4, min_delta=0.002, scheduler="plateau",
                                 plateau_patience=1, gamma=0.5)
    result = fit(model, train, val, p)
    # 0.601 .. 0.602 are within 0.002 of 0.60; 0.7005 .. 0.701 within 0.002 of 0.70
    assert result.stopped_early and len(result.history) == 10 and result.best_epoch == 6
    assert [r.lr for r in result.history] == pytest.approx([1e-3] * 4 + [5e-4] * 4 + [2.5e-4] * 2)


class Interrupted(Exception):
    pass


@pytest.mark.parametrize("overrides", [dict(lr=3e-3, epochs=5, scheduler="onecycle", optimizer="sgd"),
                                       dict(lr=0.05, epochs=5, scheduler="plateau", plateau_patience=0,
                                            optimizer="sgd"),
                                       # the fast recipe: its average and its flips carry on too
                                       dict(lr=0.05, epochs=5, scheduler="triangle", optimizer="sgd", ema=0.9,
                                            decoupled_weight_decay=True, weight_decay=5e-4,
                                            augment=AugmentParams(hflip="alternate", crop_padding=1,
                                                                  crop_fill="reflect")),
                                       # airbench's lookahead: its slow copy and step count carry on
                                       dict(lr=0.05, epochs=5, scheduler="triangle", optimizer="sgd", ema=0.9,
                                            lookahead=4)])
def test_a_resumed_training_ends_exactly_like_an_uninterrupted_one(tmp_path, overrides):
    from cnnlab.train.resume import ResumeStore

    model, train, val, p = setup(**overrides)
    whole = fit(model, train, val, p)

    store = ResumeStore(tmp_path / "resume.pt", key="k")
    model, train, val, p = setup(**overrides)

    def stop_at_four(record):  # an even epoch: alternating flips must know where they are
        if record.epoch == 4:
            raise Interrupted

    with pytest.raises(Interrupted):
        fit(model, train, val, p, on_epoch=stop_at_four, store=store)
    saved = store.load()
    assert len(saved["history"]) == 3  # epoch 4 never reached its save

    model, train, val, p = setup(**overrides)
    resumed = fit(model, train, val, p, store=store, resume=saved)
    assert resumed.resumed_from == 3 and [r.epoch for r in resumed.history] == [1, 2, 3, 4, 5]
    assert [r.as_dict() for r in resumed.history] == [r.as_dict() for r in whole.history]
    assert all(torch.equal(resumed.best_state[k], whole.best_state[k]) for k in whole.best_state)
    # a state saved under another key (other params or data) is not used, and is removed
    assert ResumeStore(tmp_path / "resume.pt", key="other").load() is None
    assert not (tmp_path / "resume.pt").exists()


@pytest.mark.parametrize("values, budget, most, least, expected", [
    (3 * 32 * 32, 1 << 22, 256, 1, 256),  # small images: the cap
    (3 * 224 * 224, 1 << 22, 256, 1, 27),  # large: what fits the budget
    (3 * 224 * 224, 1 << 22, 256, 64, 64),  # never fewer than training used
    (10 ** 9, 1 << 24, 128, 1, 1),  # one image always goes
    (0, 100, 8, 1, 8),  # a size of zero cannot divide by zero
])
def test_images_per_batch_fits_the_budget_between_its_bounds(values, budget, most, least, expected):
    from cnnlab.batching import images_per_batch

    assert images_per_batch(values, budget, most, least) == expected


def test_a_log_gets_one_plain_line_per_epoch_and_no_bars(capsys):
    model, train, val, p = setup(epochs=3)
    result = fit(model, train, val, p, label="baseline")
    out, err = capsys.readouterr()  # captured: not a terminal, as in CI and `dvc repro > log`
    lines = [line for line in out.splitlines() if line.startswith("baseline epoch ")]
    assert [line.split(":")[0] for line in lines] == ["baseline epoch 1/3", "baseline epoch 2/3", "baseline epoch 3/3"]
    for line, r in zip(lines, result.history, strict=True):
        assert f"val loss {r.val_loss:.4f} acc {r.val_accuracy:.4f}" in line and line.endswith(" s")
    assert "\r" not in err and "it/s" not in err and "batch/s" not in err  # no progress bar in a log


def test_triangle_rises_linearly_from_a_fifth_of_lr_to_lr_then_falls_linearly_to_zero():
    seen, steps = lrs_used({"scheduler": "triangle", "lr": 0.05, "pct_start": 0.25}, epochs=4)
    total = 4 * steps
    peak = int(0.25 * total) - 1  # OneCycleLR's: the peak ends the warm-up phase
    assert seen[0] == pytest.approx(0.01) and seen[peak] == pytest.approx(0.05)
    assert seen[-1] == pytest.approx(0, abs=1e-12)
    assert max(seen) == pytest.approx(0.05)
    rise, fall = torch.tensor(seen[:peak + 1]).diff(), torch.tensor(seen[peak:]).diff()
    torch.testing.assert_close(rise, torch.full_like(rise, 0.04 / peak))  # straight lines
    torch.testing.assert_close(fall, torch.full_like(fall, -0.05 / (total - 1 - peak)))


@pytest.mark.parametrize("lr", [0.01, 0.4])
def test_decoupled_sgd_weight_decay_shrinks_weights_by_the_same_fraction_whatever_the_lr(lr):
    from cnnlab.train.optim import make_optimizer

    def shrink(decoupled: bool) -> float:
        model = torch.nn.Linear(1, 1, bias=False)
        torch.nn.init.constant_(model.weight, 2.0)
        p = TrainParams(model=SPEC, optimizer="sgd", momentum=0.0, lr=lr, weight_decay=0.01,
                        decoupled_weight_decay=decoupled)
        opt = make_optimizer(model, p)
        model.weight.grad = torch.zeros_like(model.weight)  # decay alone
        opt.step()
        return 1 - model.weight.item() / 2.0

    assert shrink(True) == pytest.approx(0.01, abs=1e-6)  # weight_decay per step at the peak lr (float32)
    assert shrink(False) == pytest.approx(lr * 0.01, abs=1e-6)  # coupled: L2, scaled by the lr


def test_decoupled_adam_steps_as_adamw():
    from cnnlab.train.optim import make_optimizer

    def step(p: TrainParams, make=None) -> torch.Tensor:
        torch.manual_seed(0)
        model = torch.nn.Linear(3, 2)
        opt = make(model) if make else make_optimizer(model, p)
        for _ in range(3):
            opt.zero_grad()
            model(torch.ones(4, 3)).square().sum().backward()
            opt.step()
        return model.weight.detach()

    ours = step(TrainParams(model=SPEC, optimizer="adam", lr=0.1, weight_decay=0.5, decoupled_weight_decay=True))
    adamw = step(None, lambda m: torch.optim.AdamW(m.parameters(), lr=0.1, weight_decay=0.5))
    coupled = step(TrainParams(model=SPEC, optimizer="adam", lr=0.1, weight_decay=0.5))
    torch.testing.assert_close(ours, adamw)
    assert not torch.allclose(ours, coupled)


def test_the_weight_average_follows_the_warmed_up_exponential_recursion_buffers_included():
    from cnnlab.train.loop import warmed_up_decay, weight_average

    assert warmed_up_decay(0.99, 0) == pytest.approx(0.1) and warmed_up_decay(0.99, 10_000) == 0.99
    model = torch.nn.BatchNorm1d(2)
    average = weight_average(model, 0.9)
    expected_w, expected_m = None, None
    for k in range(30):
        with torch.no_grad():
            model.weight.fill_(float(k))
            model.running_mean.fill_(float(-k))
        average.update_parameters(model)
        if expected_w is None:  # the first update copies
            expected_w, expected_m = float(k), float(-k)
        else:
            d = warmed_up_decay(0.9, k)  # the k-th update averages k models before it
            expected_w, expected_m = d * expected_w + (1 - d) * k, d * expected_m - (1 - d) * k
    assert average.module.weight[0].item() == pytest.approx(expected_w)
    assert average.module.running_mean[0].item() == pytest.approx(expected_m)
    assert weight_average(model, 0.0) is None


def test_lookahead_pulls_the_weights_into_its_slow_copy_every_k_steps_on_airbenchs_schedule():
    from cnnlab.train.lookahead import Lookahead

    model = torch.nn.BatchNorm1d(2)
    look = Lookahead(model, decay=0.9, every=3, total_steps=30)
    slow = None
    for step in range(1, 31):
        with torch.no_grad():  # what an optimizer step would have made of the weights
            model.weight.add_(1.0)
            model.running_mean.sub_(2.0)
        before_w, before_m = model.weight[0].item(), model.running_mean[0].item()
        look.update_parameters(model)
        if step % 3:  # between pulls the weights are the optimizer's
            assert model.weight[0].item() == before_w
            continue
        if slow is None:  # the first pull only copies
            slow = [before_w, before_m]
        else:
            rho = 0.9 ** 3 * (step / 30) ** 3
            slow = [rho * slow[0] + (1 - rho) * before_w, rho * slow[1] + (1 - rho) * before_m]
        assert model.weight[0].item() == pytest.approx(slow[0])
        assert model.running_mean[0].item() == pytest.approx(slow[1])
    with torch.no_grad():
        model.weight.add_(5.0)
    look.end_epoch()  # an epoch ends on the slow copy
    assert model.weight[0].item() == pytest.approx(slow[0])
    assert model.num_batches_tracked.item() == 0  # integer buffers are left alone


def test_a_lookahead_run_keeps_its_own_weights_and_lookahead_needs_a_decay():
    model, train, val, p = setup(ema=0.9, lookahead=2, lr=0.05, optimizer="sgd", epochs=1)
    result = fit(model, train, val, p)
    last = model.state_dict()
    # no separate average: what is kept is the model itself, which ended the epoch on its slow copy
    assert all(torch.equal(result.best_state[k], last[k]) for k in last)
    plain_model, train, val, plain = setup(ema=0.9, lr=0.05, optimizer="sgd", epochs=1)
    plain_result = fit(plain_model, train, val, plain)
    assert any(not torch.equal(result.best_state[k], plain_result.best_state[k]) for k in last
               if last[k].is_floating_point())
    from cnnlab.params import parse_params

    raw = yaml.safe_load(open("params.yaml"))
    raw["variants"]["fast"]["ema"] = 0.0
    raw["variants"]["fast"]["lookahead"] = 5
    with pytest.raises(UserError, match=r"variants.fast.lookahead \(5\) averages with decay ema, which is 0"):
        parse_params(raw)


def test_with_an_average_the_kept_weights_are_the_averages_not_the_last_steps():
    model, train, val, p = setup(ema=0.9, lr=0.05, optimizer="sgd", epochs=2)
    result = fit(model, train, val, p)
    last = model.state_dict()
    assert result.best_epoch == 2 or result.best_state is not None
    assert any(not torch.equal(result.best_state[k], last[k]) for k in last if last[k].is_floating_point())
    model.load_state_dict(result.best_state)  # the same keys: it loads into the plain model


@pytest.mark.parametrize("optimizer, decoupled", [("sgd", True), ("sgd", False), ("adamw", False)])
def test_biases_train_at_a_scaled_lr_with_the_same_decay_per_step(optimizer, decoupled):
    from cnnlab.train.optim import Schedule, make_optimizer

    model = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    p = TrainParams(model=SPEC, optimizer=optimizer, lr=0.1, weight_decay=0.01, bias_lr_scale=64.0,
                    decoupled_weight_decay=decoupled, scheduler="triangle", epochs=2)
    opt = make_optimizer(model, p)
    weights, biases = opt.param_groups
    assert [id(q) for q in biases["params"]] == [id(model[1].bias)]  # BatchNorm's, not the convolution's
    assert biases["lr"] == pytest.approx(6.4) and weights["lr"] == pytest.approx(0.1)
    assert biases["lr"] * biases["weight_decay"] == pytest.approx(weights["lr"] * weights["weight_decay"])
    schedule = Schedule(opt, p, 5)  # the schedule keeps the ratio at every step
    for _ in range(7):
        opt.step()
        schedule.after_batch()
        assert biases["lr"] == pytest.approx(64 * weights["lr"])
    plain = make_optimizer(model, dataclasses.replace(p, bias_lr_scale=1.0))
    assert len(plain.param_groups) == 1


@pytest.mark.parametrize("backend, averaging", [("eager", {}), ("aot_eager", {}),
                                                ("aot_eager", {"ema": 0.9, "lookahead": 2})])
def test_a_compiled_training_trains_as_the_plain_one_with_its_compile_time_apart(backend, averaging):
    """Dropout, BatchNorm statistics, shuffling and augmentation all draw or keep state: the
    warm-up that compiles before the first epoch (for batches of 8 and the last one of 6)
    must leave every one of them as it found it; the lookahead pulls the compiled model's weights."""
    spec = {**SPEC, "batch_norm": True, "fc_dropout": 0.3}
    recipe = dict(lr=3e-3, epochs=3, augment=AugmentParams(hflip=True, crop_padding=1), **averaging)
    model, train, val, p = setup(spec=spec, **recipe)
    plain = fit(model, train, val, p)
    model, train, val, p = setup(spec=spec, compile=backend, **recipe)
    compiled = fit(model, train, val, p)
    assert plain.compile_seconds == 0 and compiled.compile_seconds > 0
    for a, b in zip(plain.history, compiled.history, strict=True):
        assert a.as_dict() == pytest.approx(b.as_dict(), rel=1e-5, abs=1e-6)
    for k, v in plain.best_state.items():
        assert torch.allclose(v.float(), compiled.best_state[k].float(), rtol=1e-4, atol=1e-6), k
    assert not any(k.startswith("_orig_mod") for k in compiled.best_state)  # the model's own names


def test_validation_after_the_last_epoch_only_is_refused_where_early_stopping_or_plateau_needs_every_epoch():
    from cnnlab.params import parse_params

    for overrides in ({"patience": 3}, {"scheduler": "plateau"}):
        raw = yaml.safe_load(open("params.yaml"))
        raw["variants"]["fast"].update(validate="last_epoch", **overrides)
        with pytest.raises(UserError, match=r"variants.fast.validate \(last_epoch\) leaves early stopping"):
            parse_params(raw)
    model, train, val, p = setup(lr=3e-3, epochs=3, validate="last_epoch")
    result = fit(model, train, val, p)
    assert [r.epoch for r in result.history if r.val_accuracy == r.val_accuracy] == [3]  # NaN != NaN
    model.load_state_dict(result.best_state)
    assert loss_and_accuracy(*predict(model, val))[1] == pytest.approx(result.history[-1].val_accuracy)
