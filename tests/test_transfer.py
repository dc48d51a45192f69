"""Transfer models: weights from a local file or torch's hub folder, freezing, offline failure."""

import os
import time
import urllib.error

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models.build import build_model, input_stats
from cnnlab.models.registry import parse_model_spec
from cnnlab.models.settings import TRANSFER_WEIGHTS
from cnnlab.models.transfer import ARCHITECTURES, hub_checkpoint
from cnnlab.params import TrainParams
from cnnlab.train.optim import make_optimizer

ARCHS = sorted(ARCHITECTURES)
IMAGENET_MEAN, IMAGENET_STD = [0.485, 0.456, 0.406], [0.229, 0.224, 0.225]


def spec(arch, **args):
    return parse_model_spec({"name": arch, "input_size": 64, **args}, "variants.t.model")


def torchvision_state(arch, seed=0):
    from torchvision import models

    torch.manual_seed(seed)
    return models.get_model(arch, weights=None).state_dict()


def test_the_weights_names_cnnlab_accepts_are_torchvisions():
    from torchvision import models

    for arch in ARCHS:
        assert TRANSFER_WEIGHTS[arch] == tuple(w.name for w in models.get_model_weights(arch))
    with pytest.raises(UserError, match="variants.t.model.weights 'IMAGENET9K'.*IMAGENET1K_V1"):
        spec("vgg16", weights="IMAGENET9K")


@pytest.mark.parametrize("arch", ARCHS)
def test_a_frozen_backbone_gets_no_gradients_and_does_not_change_in_a_step(arch):
    model = build_model(spec(arch), 3, 32, 4).train()
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}  # BatchNorm statistics too
    head_before = [p.clone() for p in model.head.parameters()]
    p = TrainParams(model={}, optimizer="sgd", lr=0.5)
    optimizer = make_optimizer(model, p)
    loss = F.cross_entropy(model(torch.randn(6, 3, 32, 32)), torch.arange(6) % 4)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert all(q.grad is None and not q.requires_grad for q in model.backbone.parameters())
    assert all(torch.equal(v, before[k]) for k, v in model.backbone.state_dict().items())
    assert not all(torch.equal(a, b) for a, b in zip(model.head.parameters(), head_before, strict=True))
    norms = [m for m in model.backbone.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(not m.training for m in norms) and model.head.training


def test_freeze_none_trains_everything_and_a_layer_name_freezes_up_to_it():
    everything = build_model(spec("mobilenet_v2", freeze="none"), 3, 32, 4)
    assert all(p.requires_grad for p in everything.parameters())
    partial = build_model(spec("mobilenet_v2", freeze="features.10"), 3, 32, 4).train()
    frozen = {n for n, p in partial.backbone.named_parameters() if not p.requires_grad}
    blocks = {int(n.split(".")[1]) for n in frozen}
    assert blocks == set(range(11))  # features.0 .. features.10, inclusive
    assert all(p.requires_grad for n, p in partial.backbone.named_parameters() if n not in frozen)
    norms = lambda block: [m for m in block.modules() if isinstance(m, nn.BatchNorm2d)]  # noqa: E731
    assert not any(m.training for m in norms(partial.backbone.features[10]))  # frozen BatchNorm stays in eval
    assert all(m.training for m in norms(partial.backbone.features[11]))
    with pytest.raises(UserError, match="'features.99' is not a layer.*features.18"):
        spec("mobilenet_v2", freeze="features.99")
    with pytest.raises(UserError, match="frozen random backbone"):
        spec("mobilenet_v2", weights="none")


@pytest.mark.parametrize("arch", ARCHS)
def test_weights_from_a_local_file_fill_the_backbone_and_not_the_head(tmp_path, arch):
    state = torchvision_state(arch, seed=3)
    path = tmp_path / "weights.pth"
    torch.save(state, path)
    model = build_model(spec(arch, weights_path=str(path)), 3, 32, 4, pretrained=True)
    features = {f"features.{k}": v for k, v in model.backbone.features.state_dict().items()}
    assert features and all(torch.equal(v, state[k]) for k, v in features.items())
    # a grey input sums the first conv's filters over RGB, as timm does
    grey = build_model(spec(arch, weights_path=str(path)), 1, 32, 4, pretrained=True)
    first = next(k for k in features if k.endswith("weight") and state[k].dim() == 4)
    loaded = grey.backbone.features.state_dict()[first[len("features."):]]
    assert torch.allclose(loaded, state[first].sum(1, keepdim=True))


def test_weights_already_in_the_torch_hub_folder_load_without_a_network(tmp_path, monkeypatch):
    from torchvision import models

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setattr(torch.hub, "download_url_to_file",
                        lambda *a, **k: pytest.fail("no download may happen when the file is there"))
    entry = models.get_model_weights("mobilenet_v3_large").DEFAULT
    target = hub_checkpoint(entry.url)
    assert target == tmp_path / "hub" / "checkpoints" / os.path.basename(entry.url)
    target.parent.mkdir(parents=True)
    state = torchvision_state("mobilenet_v3_large", seed=5)
    torch.save(state, target)
    model = build_model(spec("mobilenet_v3_large"), 3, 32, 4, pretrained=True)
    assert torch.equal(model.backbone.features[0][0].weight, state["features.0.0.weight"])


def test_missing_weights_offline_fail_fast_naming_the_file_and_leave_nothing(tmp_path, monkeypatch):
    home = tmp_path / "torch-home"
    monkeypatch.setenv("TORCH_HOME", str(home))

    def offline(url, dst, *args, **kwargs):
        # what torch does: a temp file beside the target, removed on failure, then the error
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    started = time.perf_counter()
    with pytest.raises(UserError) as err:
        build_model(spec("mobilenet_v2"), 3, 32, 4, pretrained=True)
    assert time.perf_counter() - started < 5
    message = str(err.value)
    assert "mobilenet_v2-7ebf99e0.pth" in message and str(home / "hub" / "checkpoints") in message
    assert "$TORCH_HOME/hub/checkpoints" in message and "weights_path" in message
    assert "Name or service not known" in message and "weights: none" in message
    assert not home.exists(), "a failed download must leave no folder behind"


def test_unusable_weights_files_are_user_errors(tmp_path):
    wrong = tmp_path / "resnet.pth"
    torch.save(torchvision_state("resnet18"), wrong)
    with pytest.raises(UserError, match="do not fit torchvision's mobilenet_v2"):
        build_model(spec("mobilenet_v2", weights_path=str(wrong)), 3, 32, 4, pretrained=True)
    with pytest.raises(UserError, match="is not a file"):
        build_model(spec("mobilenet_v2", weights_path=str(tmp_path / "nope.pth")), 3, 32, 4, pretrained=True)
    (tmp_path / "junk.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(UserError, match="not a readable PyTorch weights file"):
        build_model(spec("mobilenet_v2", weights_path=str(tmp_path / "junk.pth")), 3, 32, 4, pretrained=True)


def test_pretrained_models_bring_their_weights_statistics():
    assert input_stats(spec("vgg16"), 3) == (IMAGENET_MEAN, IMAGENET_STD)
    mean, std = input_stats(spec("mobilenet_v2"), 1)
    assert mean == pytest.approx([sum(IMAGENET_MEAN) / 3]) and std == pytest.approx([sum(IMAGENET_STD) / 3])
    assert input_stats(spec("mobilenet_v2", weights="none", freeze="none"), 3) is None
    assert input_stats(parse_model_spec({"name": "convnet"}, "m"), 3) is None


def test_the_image_is_resized_to_the_input_size_inside_the_model():
    model = build_model(spec("mobilenet_v3_large", input_size=96), 3, 32, 4).eval()
    seen = []
    model.backbone.features.register_forward_pre_hook(lambda m, args: seen.append(args[0].shape))
    model(torch.randn(2, 3, 32, 32))
    assert seen == [(2, 3, 96, 96)]
