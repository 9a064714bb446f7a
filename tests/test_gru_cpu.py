"""The CPU passes of the GRU against torch.nn.GRU and autograd."""

import pytest
import torch
from torch import nn

from skgru import _gru_cpu
from skgru._gru_cpu import _GRULayer, gru_last_states, handles
from skgru._module import GRUNetwork

CONFIGS = [(1, False), (2, False), (1, True), (3, True)]


def _gru(n_in, hidden, num_layers=1, bidirectional=False, dropout=0.0, seed=0):
    torch.manual_seed(seed)
    gru = nn.GRU(
        n_in,
        hidden,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dropout=dropout,
        batch_first=True,
    )
    for p in gru.parameters():  # nonzero biases, so that every term counts
        nn.init.uniform_(p, -0.8, 0.8)
    return gru


def _grads(module, x, fn):
    module.zero_grad()
    x = x.detach().clone().requires_grad_(True)
    out = fn(x)
    # Weigh the outputs so that every one of them gets a different gradient.
    weights = torch.linspace(-1.0, 2.0, out.numel(), dtype=out.dtype)
    (out.flatten() * weights).sum().backward()
    return out.detach(), x.grad, [p.grad.clone() for p in module.parameters()]


@pytest.mark.parametrize("num_layers, bidirectional", CONFIGS)
# Rows of 5, 16 and 64 units reach torch's vectorised and scalar kernels in
# different proportions; one sample and one step are edge cases of layout.
@pytest.mark.parametrize("batch, steps, hidden", [(37, 9, 16), (1, 5, 5), (4, 1, 64)])
def test_states_bitwise_equal_to_nn_gru(
    num_layers, bidirectional, batch, steps, hidden
):
    gru = _gru(3, hidden, num_layers, bidirectional)
    x = torch.randn(batch, steps, 3)
    ours = gru_last_states(gru, x)
    assert ours.requires_grad
    assert torch.equal(ours, gru(x)[1])


@pytest.mark.parametrize("num_layers, bidirectional", CONFIGS)
# blocks of the backward pass: all 7 steps at once, 2 steps, 3 (the last short)
@pytest.mark.parametrize("block_rows", [8192, 8, 12])
def test_gradients_equal_autograd_in_float64(
    num_layers, bidirectional, block_rows, monkeypatch
):
    monkeypatch.setattr(_gru_cpu, "BACKWARD_BLOCK_ROWS", block_rows)
    gru = _gru(3, 5, num_layers, bidirectional).double()
    x = torch.randn(4, 7, 3, dtype=torch.float64)
    ours = _grads(gru, x, lambda x: gru_last_states(gru, x))
    theirs = _grads(gru, x, lambda x: gru(x)[1])
    assert torch.equal(ours[0], theirs[0])
    torch.testing.assert_close(ours[1], theirs[1], rtol=1e-12, atol=1e-12)
    for a, b in zip(ours[2], theirs[2], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)


def test_float32_gradients_agree_with_autograd():
    gru = nn.GRU(2, 64, batch_first=True)
    x = torch.randn(256, 32, 2)
    ours = _grads(gru, x, lambda x: gru_last_states(gru, x))
    theirs = _grads(gru, x, lambda x: gru(x)[1])
    for a, b in zip(ours[2], theirs[2], strict=True):
        # relative to each gradient; the atol covers entries that sum to ~0
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("reverse", [False, True])
def test_layer_gradients_pass_gradcheck(reverse):
    torch.manual_seed(2)
    hidden = 3
    shapes = [(4, 2, 2), (2, hidden), (3 * hidden, 2), (3 * hidden, hidden)]
    shapes += [(3 * hidden,), (3 * hidden,)]  # x (time-major), h0, weights, biases
    args = [torch.randn(s, dtype=torch.float64, requires_grad=True) for s in shapes]

    def layer(*a):
        return _GRULayer.apply(*a, reverse)

    # every output alone, and both together
    assert torch.autograd.gradcheck(lambda *a: layer(*a)[0], args)
    assert torch.autograd.gradcheck(lambda *a: layer(*a)[1], args)
    assert torch.autograd.gradcheck(layer, args)


@pytest.mark.parametrize("bidirectional", [False, True])
def test_dropout_between_layers_as_nn_gru_draws_it(bidirectional):
    gru = _gru(3, 4, num_layers=3, bidirectional=bidirectional, dropout=0.5)
    x = torch.randn(5, 6, 3)
    torch.manual_seed(3)
    ours = gru_last_states(gru, x)
    torch.manual_seed(3)
    assert torch.equal(ours, gru(x)[1])
    torch.manual_seed(4)
    assert not torch.equal(ours, gru_last_states(gru, x))
    gru.eval()  # no dropout
    assert torch.equal(gru_last_states(gru, x), gru(x)[1])


def test_backward_twice_with_retained_graph():
    gru = _gru(2, 4)
    loss = gru_last_states(gru, torch.randn(3, 6, 2)).pow(2).sum()
    loss.backward(retain_graph=True)
    first = [p.grad.clone() for p in gru.parameters()]
    gru.zero_grad()
    loss.backward()  # the first pass left the saved tensors as they were
    for a, p in zip(first, gru.parameters(), strict=True):
        assert torch.equal(a, p.grad)


def test_handles_training_of_what_it_computes_like_nn_gru():
    gru = nn.GRU(2, 4, batch_first=True)
    x = torch.randn(3, 5, 2)
    assert handles(gru, x)
    assert handles(gru.eval(), x)  # gradients through a model in eval mode
    with torch.no_grad():  # prediction: nn.GRU itself
        assert not handles(gru, x)
    with torch.inference_mode():
        assert not handles(gru, x)
    assert not handles(gru.requires_grad_(False), x)
    assert handles(gru, x.requires_grad_(True))
    assert not handles(nn.GRU(2, 4, batch_first=True), x.half())
    assert not handles(nn.GRU(2, 4), x)  # time-major modules
    assert not handles(nn.GRU(2, 4, batch_first=True, bias=False), x)
    assert not handles(nn.LSTM(2, 4, batch_first=True), x)


def test_network_output_same_in_training_and_inference():
    torch.manual_seed(6)
    net = GRUNetwork(2, 3, hidden_size=8, num_layers=2, norm_channels=[0])
    x = torch.randn(9, 12, 2)
    train_out = net.train()(x)
    assert train_out.requires_grad
    with torch.inference_mode():
        assert torch.equal(train_out.detach(), net.eval()(x))
