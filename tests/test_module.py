import numpy as np
import pytest
import torch
from tolerance import assert_float32_close

from skgru._layers import SAMPLE_VAR_EPS, WINDOW_VAR_EPS
from skgru._module import GRUNetwork


def n_trainable(module):
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def test_keras_lag_model_has_8001_parameters():
    # Keras: GRU(50, input_shape=(10, 1)) + Dense(1)
    assert n_trainable(GRUNetwork(1, 1, hidden_size=50)) == 8001


def test_output_shapes_for_layers_and_directions():
    x = torch.randn(4, 7, 3)
    assert GRUNetwork(3, 2, hidden_size=8)(x).shape == (4, 2)
    net = GRUNetwork(3, 5, hidden_size=8, num_layers=2, dropout=0.1, bidirectional=True)
    assert net(x).shape == (4, 5)


def test_input_standardisation_is_part_of_the_module():
    torch.manual_seed(0)
    net = GRUNetwork(2, 1, hidden_size=4)
    x = torch.randn(3, 5, 2)
    reference = net(x)
    net.set_input_scaling(torch.tensor([10.0, -1.0]), torch.tensor([2.0, 0.5]))
    shifted = x * torch.tensor([2.0, 0.5]) + torch.tensor([10.0, -1.0])
    assert_float32_close(net(shifted).detach(), reference.detach(), rtol=1e-5)


def test_revin_moves_the_prediction_with_the_window():
    """With per-window normalisation, shifting a window shifts the prediction
    by the same amount and scaling it scales the prediction: a trend can be
    extrapolated."""
    torch.manual_seed(0)
    net = GRUNetwork(1, 3, hidden_size=8, norm_channels=[0], output_channels=[0] * 3)
    x = torch.randn(6, 12, 1)
    base = net(x)
    base = base.detach()
    # float32 rounds the shifted input to about 50 * 6e-8: relative to 50
    assert_float32_close(net(x + 50.0).detach(), base + 50.0, rtol=1e-5)
    # The variance floor (WINDOW_VAR_EPS) makes scaling only nearly exact:
    # about 1% of the output's spread.
    assert_float32_close(net(x * 3.0).detach(), base * 3.0, rtol=1e-2)


def test_the_sample_floor_keeps_a_quiet_recordings_shape():
    """A recording 1e-4 times as loud as unit variance: the window floor
    flattens it towards a constant input, the sample floor does not."""
    torch.manual_seed(0)
    x = torch.randn(6, 12, 1)
    quiet = 1e-4 * x + 3.0
    flat = torch.full_like(x, 3.0)
    for eps, same_as in ((SAMPLE_VAR_EPS, x), (WINDOW_VAR_EPS, flat)):
        torch.manual_seed(1)
        net = GRUNetwork(1, 2, hidden_size=8, norm_channels=[0], norm_eps=eps)
        assert_float32_close(net(quiet).detach(), net(same_as).detach(), rtol=2e-2)
        other = flat if same_as is x else x
        assert not torch.allclose(net(quiet), net(other), rtol=1e-1)


def test_revin_leaves_other_channels_alone():
    torch.manual_seed(0)
    net = GRUNetwork(2, 1, hidden_size=8, norm_channels=[0], output_channels=[0])
    x = torch.randn(4, 12, 2)
    moved = x.clone()
    moved[:, :, 1] += 5.0  # an exogenous channel's level carries information
    assert not torch.allclose(net(moved), net(x))


def test_gru_weights_use_keras_initialisation():
    net = GRUNetwork(3, 1, hidden_size=6)
    w_hh = net.gru.weight_hh_l0.detach()
    for gate in w_hh.split(6):
        # entries of the identity: zeros and ones, whatever the data
        np.testing.assert_allclose(gate @ gate.T, np.eye(6), atol=1e-5)
    assert torch.count_nonzero(net.gru.bias_ih_l0) == 0


@pytest.mark.parametrize("name", ["skgru._module", "skgru._layers"])
def test_module_imports_no_scikit_learn(name):
    import ast
    import importlib
    import inspect

    tree = ast.parse(inspect.getsource(importlib.import_module(name)))
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in getattr(node, "names", [])
    } | {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert "sklearn" not in imported and "skorch" not in imported


def _same_weights(**kwargs) -> GRUNetwork:
    torch.manual_seed(0)
    return GRUNetwork(2, 3, hidden_size=6, **kwargs).eval()


def test_pooling_reads_every_state_not_only_the_last():
    x = torch.randn(4, 9, 2)
    outputs = {how: _same_weights(pooling=how)(x) for how in ("last", "mean", "max")}
    assert not torch.allclose(outputs["last"], outputs["mean"])
    assert not torch.allclose(outputs["mean"], outputs["max"])
    # an early step reaches the mean and the max directly, not only through
    # the recurrence: the gradient of the pooled output at step 0 is larger
    for how in ("mean", "max"):
        early = x.clone().requires_grad_(True)
        _same_weights(pooling=how)(early).sum().backward()
        assert early.grad[:, 0].abs().sum() > 0
    concat = _same_weights(pooling="concat")
    assert concat.head.in_features == 3 * 6
    assert concat(x).shape == (4, 3)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(pooling="mean"),
        dict(pooling="max"),
        dict(pooling="concat", patch_size=3),
        dict(pooling="concat", conv_filters=[4, 5], conv_kernel_sizes=[4, 3]),
        dict(patch_size=2, conv_filters=[4], conv_kernel_sizes=[3]),
    ],
)
def test_padding_never_reaches_pooling_patches_or_convolutions(kwargs):
    """A short sequence in a padded batch gives what it gives alone, whatever
    values the padding holds."""
    net = _same_weights(**kwargs)
    short, long = torch.randn(1, 7, 2), torch.randn(1, 11, 2)
    batch = torch.cat([torch.cat([short, torch.full((1, 4, 2), 9.0)], 1), long])
    got = net(batch, torch.tensor([7, 11]))
    assert_float32_close(got[0].detach(), net(short)[0].detach(), rtol=1e-5)
    assert_float32_close(got[1].detach(), net(long)[0].detach(), rtol=1e-5)


def test_patches_pad_the_start_with_the_standardised_zero():
    net = _same_weights(patch_size=3)
    assert net.gru.input_size == 3 * 2
    net.set_input_scaling(torch.tensor([5.0, -1.0]), torch.tensor([2.0, 3.0]))
    x = torch.randn(2, 7, 2) * 2 + 5
    padded = torch.cat([torch.tensor([5.0, -1.0]).expand(2, 2, 2), x], dim=1)
    assert_float32_close(net(x).detach(), net(padded).detach(), rtol=1e-6)


def test_per_sample_normalisation_with_or_without_its_statistics():
    x = torch.randn(5, 12, 2)
    moved = x * torch.tensor([3.0, 0.5]) + torch.tensor([40.0, -7.0])
    net = _same_weights(norm_channels=[0, 1])
    # an offset cancels exactly; a scale up to the variance floor
    assert_float32_close(net(moved).detach(), net(x).detach(), rtol=1e-2)
    with_stats = _same_weights(norm_channels=[0, 1], stats_features=True)
    assert with_stats.head.in_features == 6 + 2 * 2
    assert not torch.allclose(with_stats(moved), with_stats(x), rtol=1e-2)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(),
        dict(
            norm_channels=[0],
            output_channels=[0, 0],
            ar_window=4,
            stats_features=True,
            pooling="concat",
        ),
    ],
    ids=["plain", "normalised-autoregressive"],
)
def test_readout_design_and_set_readout_describe_the_output_layer(kwargs):
    torch.manual_seed(0)
    net = GRUNetwork(2, 2, hidden_size=4, feature_dropout=0.5, **kwargs).eval()
    x = torch.randn(5, 6, 2) * 3 + 1
    design, mean, scale = net.readout_design(x)
    n_lags = 4 if kwargs else 0
    assert design.shape == (5, net.head.in_features + n_lags)
    weight, bias = torch.randn(2, design.shape[1]), torch.randn(2)
    net.set_readout(weight, bias)
    expected = (design @ weight.T + bias) * scale + mean
    assert_float32_close(net(x).detach(), expected, rtol=1e-5)
