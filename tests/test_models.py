import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models.build import build_model, count_parameters
from cnnlab.models.registry import MODELS, parse_model_spec
from tests.conftest import ROOT

LADDER = ["baseline", "small_filters", "dropout_last", "dropout_all", "augmented"]


@pytest.mark.parametrize("variant", LADDER)
@pytest.mark.parametrize("channels, size, classes", [(1, 28, 10), (3, 32, 10), (3, 64, 2), (1, 16, 37)])
def test_every_ladder_model_adapts_to_the_data_and_trains(repo_params, variant, channels, size, classes):
    spec = repo_params.variant(variant).model
    model = build_model(spec, channels, size, classes)
    x = torch.randn(4, channels, size, size)
    out = model(x)
    assert out.shape == (4, classes)
    out.logsumexp(1).mean().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in model.parameters())


def kinds(module: nn.Module) -> list[str]:
    return [type(m).__name__ for m in module.features]


def test_the_ladder_differs_exactly_where_the_issue_says(repo_params):
    build = lambda v: build_model(repo_params.variant(v).model, 3, 32, 10)  # noqa: E731
    base, small, last, every = map(build, LADDER[:4])
    base_convs = [m for m in base.features if isinstance(m, nn.Conv2d)]
    small_convs = [m for m in small.features if isinstance(m, nn.Conv2d)]
    assert [c.kernel_size for c in base_convs] == [(5, 5)] * 2
    assert [c.kernel_size for c in small_convs] == [(3, 3)] * 4
    assert kinds(base).count("MaxPool2d") == kinds(small).count("MaxPool2d") == 2
    assert "Dropout" not in kinds(small) and not any(isinstance(m, nn.Dropout) for m in small.classifier)
    # dropout_last: one dropout, after the last pooling; dropout_all: one after every conv
    assert kinds(last).count("Dropout") == 1 and kinds(last)[-1] == "Dropout"
    assert kinds(every).count("Dropout") == 4
    for i, k in enumerate(kinds(every)):
        if k == "Conv2d":
            assert kinds(every)[i + 2] == "Dropout"  # conv, relu, dropout
    for model in (last, every):
        assert sum(isinstance(m, nn.Dropout) for m in model.classifier) == 1


def test_batch_norm_option_and_parameter_count():
    spec = parse_model_spec({"name": "convnet", "channels": [8], "kernel_size": 3, "hidden": 4,
                             "batch_norm": True}, "m")
    model = build_model(spec, 1, 8, 3)
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.features)
    # conv 1->8 (no bias with BN) + BN(8) + linear 8*4*4->4 + linear 4->3
    assert count_parameters(model) == 8 * 9 + 16 + (128 * 4 + 4) + (4 * 3 + 3)


def test_too_many_pooling_stages_for_the_image_is_a_user_error():
    spec = parse_model_spec({"name": "convnet", "channels": [4, 4, 4, 4]}, "train.model")
    with pytest.raises(UserError, match="too small"):
        build_model(spec, 3, 8, 2)


def test_unknown_model_names_the_choices():
    with pytest.raises(UserError, match="convnet"):
        parse_model_spec({"name": "resnet9000"}, "train.model")
    assert set(MODELS) >= {"convnet"}


def spec(name, **args):
    return parse_model_spec({"name": name, **args}, "train.model")


@pytest.mark.parametrize("name", sorted(MODELS))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_registered_model_trains_at_every_input_size(name, channels):
    """Forward and backward at 28, 32, 64 and 224 px, 1 and 3 channels, with each
    model's default arguments (transfer models: random weights, frozen backbone)."""
    for size in (28, 32, 64, 224):
        torch.manual_seed(0)
        model = build_model(spec(name), channels, size, 7).train()
        x = torch.randn(2, channels, size, size)
        out = model(x)
        assert out.shape == (2, 7), (name, size)
        loss = F.cross_entropy(out, torch.tensor([1, 5]))
        assert torch.isfinite(loss), (name, size)
        loss.backward()
        trainable = [p for p in model.parameters() if p.requires_grad]
        assert trainable and all(p.grad is not None and torch.isfinite(p.grad).all() for p in trainable), name


def test_mycnn_is_the_caltech_network_of_the_issue():
    model = build_model(spec("mycnn"), 3, 224, 257)
    convs = [m for m in model.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [32, 64, 128, 256] and all(c.kernel_size == (3, 3) for c in convs)
    assert kinds(model)[:4] == ["Conv2d", "BatchNorm2d", "ReLU", "MaxPool2d"]
    assert kinds(model).count("MaxPool2d") == 4 and kinds(model)[-1] == "AdaptiveAvgPool2d"
    assert model.features[-1].output_size == 4
    head = [type(m).__name__ for m in model.classifier]
    assert head == ["Flatten", "Linear", "ReLU", "Dropout", "Linear"]
    assert model.classifier[1].in_features == 4096 and model.classifier[1].out_features == 512
    assert model.classifier[3].p == 0.5 and model.classifier[4].out_features == 257
    # the 4x4 pooling makes the classifier independent of the image size
    assert count_parameters(build_model(spec("mycnn"), 3, 64, 257)) == count_parameters(model)


def test_improved_cnn_doubles_the_convs_and_adds_dropout_before_the_classifier():
    mine, improved = build_model(spec("mycnn"), 3, 64, 10), build_model(spec("improved_cnn"), 3, 64, 10)
    assert kinds(improved).count("Conv2d") == 2 * kinds(mine).count("Conv2d") == 8
    assert kinds(improved)[-1] == "Dropout" and "Dropout" not in kinds(mine)
    assert sum(isinstance(m, nn.Dropout) for m in improved.classifier) == 1


@pytest.mark.parametrize("size, form, stem, pooled", [(32, "auto", (3, 3), False), (64, "auto", (3, 3), False),
                                                      (224, "auto", (7, 7), True), (32, "imagenet", (7, 7), True),
                                                      (224, "cifar", (3, 3), False)])
def test_resnet18_takes_the_cifar_stem_for_small_images(size, form, stem, pooled):
    from torchvision.models import resnet18

    model = build_model(spec("resnet18", form=form), 3, size, 10)
    assert model.conv1.kernel_size == stem and model.conv1.stride == ((2, 2) if pooled else (1, 1))
    assert isinstance(model.maxpool, nn.MaxPool2d) == pooled
    reference = resnet18(num_classes=10)  # the same blocks as torchvision's
    extra = model.conv1.weight.numel() - reference.conv1.weight.numel()
    assert count_parameters(model) == count_parameters(reference) + extra


def test_skip_mlp_blocks_add_their_input_through_a_bridge_only_where_widths_change():
    model = build_model(spec("skip_mlp", hidden=[16, 16, 8]), 1, 5, 3)  # 25 inputs
    first, second, third = model.blocks
    assert isinstance(first.bridge, nn.Linear) and isinstance(second.bridge, nn.Identity)
    assert isinstance(third.bridge, nn.Linear) and third.bridge.out_features == 8
    x = torch.randn(5, 16)
    with torch.no_grad():
        second.fc2.weight.zero_()
        second.fc2.bias.zero_()
    assert torch.allclose(second(x), torch.relu(x))  # an emptied block passes its input on
    mlp = build_model(spec("mlp", hidden=[32, 16], dropout=0.2), 1, 28, 10)
    assert [m.out_features for m in mlp.net if isinstance(m, nn.Linear)] == [32, 16, 10]
    assert mlp.net[1].in_features == 28 * 28


def test_cam_cnn_logits_are_the_spatial_mean_of_the_class_activation_maps():
    model = build_model(spec("cam_cnn", channels=[8, 16, 32]), 3, 32, 5).eval()
    assert kinds(model)[:5] == ["Conv2d", "BatchNorm2d", "ReLU", "Dropout", "MaxPool2d"]
    assert kinds(model)[-1] == "Dropout" and kinds(model).count("MaxPool2d") == 2  # none after the last conv
    x = torch.randn(3, 3, 32, 32)
    with torch.no_grad():
        maps = model.features(x)  # N x 32 x 8 x 8
        cams = torch.einsum("kc,nchw->nkhw", model.fc.weight, maps)
        assert torch.allclose(cams.mean((2, 3)) + model.fc.bias, model(x), atol=1e-5)


def test_validating_params_imports_no_network_and_no_torch():
    """Every stage validates params: that must not load the model code (or torch) to do it."""
    import subprocess
    import sys

    probe = ("import sys; from cnnlab.params import load_params; load_params('params.yaml'); "
             "print(sorted(m for m in sys.modules if m.startswith(('torch', 'cnnlab.models.'))))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['cnnlab.models.registry', 'cnnlab.models.settings']", out
