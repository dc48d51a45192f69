import pytest
import torch
from torch import nn

from cnnlab.errors import UserError
from cnnlab.models import MODELS, build_model, count_parameters, parse_model_spec

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
