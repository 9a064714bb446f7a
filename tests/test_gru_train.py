"""The CPU training pass of the GRU against torch.nn.GRU and autograd."""

import pytest
import torch
from torch import nn

from skgru._gru_train import _GRULayer, can_train_fast, gru_train_forward
from skgru._module import GRUNetwork

CONFIGS = [(1, False), (2, False), (1, True), (3, True)]


def _grads(module, x, fn):
    module.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    # Weigh the outputs so that every one of them gets a different gradient.
    weights = torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype)
    (out.flatten() * weights).sum().backward()
    return out.detach(), x.grad, [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("num_layers, bidirectional", CONFIGS)
def test_matches_nn_gru_in_float64(num_layers, bidirectional):
    torch.manual_seed(0)
    gru = nn.GRU(
        3, 5, num_layers=num_layers, bidirectional=bidirectional, batch_first=True
    ).double()
    for p in gru.parameters():  # nonzero biases, so that every term counts
        nn.init.uniform_(p, -0.8, 0.8)
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    ours = _grads(gru, x, lambda x: gru_train_forward(gru, x))
    torch_ = _grads(gru, x, lambda x: gru(x)[1])
    torch.testing.assert_close(ours[0], torch_[0], rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(ours[1], torch_[1], rtol=1e-12, atol=1e-12)
    for a, b in zip(ours[2], torch_[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_float32_agrees_with_nn_gru():
    torch.manual_seed(1)
    gru = nn.GRU(2, 64, batch_first=True)
    x = torch.randn(256, 32, 2)
    ours = _grads(gru, x, lambda x: gru_train_forward(gru, x))
    torch_ = _grads(gru, x, lambda x: gru(x)[1])
    torch.testing.assert_close(ours[0], torch_[0], rtol=1e-5, atol=1e-6)
    for a, b in zip(ours[2], torch_[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


def test_layer_gradients_pass_gradcheck():
    torch.manual_seed(2)
    hidden = 3
    args = [
        torch.randn(4, 2, 2, dtype=torch.float64),  # x, time-major
        torch.randn(2, hidden, dtype=torch.float64),  # h0
        torch.randn(3 * hidden, 2, dtype=torch.float64),
        torch.randn(3 * hidden, hidden, dtype=torch.float64),
        torch.randn(3 * hidden, dtype=torch.float64),
        torch.randn(3 * hidden, dtype=torch.float64),
    ]
    args = [a.requires_grad_(True) for a in args]
    # every output alone, and both together
    assert torch.autograd.gradcheck(lambda *a: _GRULayer.apply(*a)[0], args)
    assert torch.autograd.gradcheck(lambda *a: _GRULayer.apply(*a)[1], args)
    assert torch.autograd.gradcheck(lambda *a: _GRULayer.apply(*a), args)


def test_dropout_between_layers_as_nn_gru_draws_it():
    gru = nn.GRU(3, 4, num_layers=3, dropout=0.5, batch_first=True).double()
    x = torch.randn(5, 6, 3, dtype=torch.float64)
    torch.manual_seed(3)
    ours = gru_train_forward(gru, x)
    torch.manual_seed(3)
    torch.testing.assert_close(ours, gru(x)[1], rtol=1e-12, atol=1e-12)
    torch.manual_seed(4)
    assert not torch.allclose(ours, gru_train_forward(gru, x))


def test_backward_twice_with_retained_graph():
    torch.manual_seed(5)
    gru = nn.GRU(2, 4, batch_first=True)
    loss = gru_train_forward(gru, torch.randn(3, 6, 2)).pow(2).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in gru.parameters()]
    gru.zero_grad()
    loss.backward()  # the saved tensors were not modified by the first pass
    for a, p in zip(first, gru.parameters(), strict=True):
        assert torch.equal(a, p.grad)


def test_used_for_cpu_training_only():
    gru = nn.GRU(2, 4, batch_first=True)
    x = torch.randn(3, 5, 2)
    assert can_train_fast(gru, x)
    with torch.no_grad():
        assert not can_train_fast(gru, x)
    assert not can_train_fast(gru.eval(), x)
    assert not can_train_fast(gru.train(), x.half())
    assert not can_train_fast(nn.GRU(2, 4), x)  # time-major modules


def test_network_train_and_eval_outputs_agree():
    torch.manual_seed(6)
    net = GRUNetwork(2, 3, hidden_size=8, num_layers=2, norm_channels=[0]).double()
    x = torch.randn(9, 12, 2, dtype=torch.float64)
    train_out = net.train()(x)
    assert train_out.requires_grad
    torch.testing.assert_close(train_out.detach(), net.eval()(x), rtol=1e-12, atol=0)
