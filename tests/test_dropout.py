"""cnnlab's CPU dropout is torch's in distribution: the known answers (scale, identity in
eval mode, gradient) exactly, and the rate at which it drops against p and against
torch's own dropout, by simulation."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from cnnlab.models.dropout import Dropout, dropout

N = 2_000_000
# |observed - p| beyond this many binomial standard errors: about one false failure in 1.7 million runs
SIGMAS = 5.0


def dropped_fraction(out: torch.Tensor) -> float:
    return (out == 0).double().mean().item()


def within_binomial(observed: float, p: float, n: int) -> bool:
    return abs(observed - p) <= SIGMAS * math.sqrt(p * (1 - p) / n)


@pytest.mark.parametrize("p", [0.1, 0.4, 0.5, 0.8])
def test_each_element_is_dropped_at_rate_p_as_with_torch_dropout(p):
    torch.manual_seed(0)
    x = torch.ones(N)
    ours, theirs = dropped_fraction(dropout(x, p, True)), dropped_fraction(F.dropout(x, p, True))
    assert within_binomial(ours, p, N), (ours, p)
    assert within_binomial(theirs, p, N), (theirs, p)
    # two independent estimates of one rate differ by sqrt(2) standard errors at most this often
    assert abs(ours - theirs) <= SIGMAS * math.sqrt(2 * p * (1 - p) / N)


def test_the_rate_holds_under_bf16_autocast_inputs():
    # bf16 uniforms (8 significant bits) would drop about 0.0015 too often, 15 standard
    # errors at p = 0.1 with these many elements; the mask is drawn in float32
    torch.manual_seed(1)
    for p in (0.1, 0.4, 0.7):
        out = dropout(torch.ones(N, dtype=torch.bfloat16), p, True)
        assert out.dtype == torch.bfloat16
        assert within_binomial(dropped_fraction(out), p, N), p


def test_survivors_are_scaled_so_the_mean_is_kept_and_masks_are_fresh_each_call():
    torch.manual_seed(2)
    x = torch.rand(4096) + 0.5
    first, second = dropout(x, 0.4, True), dropout(x, 0.4, True)
    kept = first != 0
    assert torch.allclose(first[kept], x[kept] / 0.6)
    # two independent masks agree where both keep or both drop: p^2 + (1 - p)^2 of the time
    agree = ((first == 0) == (second == 0)).double().mean().item()
    assert abs(agree - (0.4 ** 2 + 0.6 ** 2)) < 5 * math.sqrt(0.52 * 0.48 / 4096)


def test_the_gradient_is_the_mask_scaled_as_the_output():
    torch.manual_seed(3)
    x = torch.rand(1000, requires_grad=True)
    out = dropout(x, 0.5, True)
    out.sum().backward()
    assert torch.equal(x.grad, (out != 0).float() * 2.0)


def test_the_module_is_nn_dropout_and_the_identity_when_evaluating():
    module = Dropout(0.4)
    assert isinstance(module, torch.nn.Dropout) and module.p == 0.4
    x = torch.randn(8, 3, 4, 4)
    assert module.eval()(x) is x
    assert dropout(x, 0.0, True) is x
    assert torch.equal(dropout(x, 1.0, True), torch.zeros_like(x))
    torch.manual_seed(4)
    a = module.train()(x)
    torch.manual_seed(4)
    assert torch.equal(module(x), a)  # seeded: a resumed training draws the same masks
