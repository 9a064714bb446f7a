import numpy as np
import torch
from tolerance import assert_float32_close

from skgru._module import WINDOW_VAR_EPS, GRUNetwork, window_stats


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


def test_window_stats_ignore_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    mean, scale = window_stats(x, torch.tensor([2]))
    assert torch.allclose(mean, torch.tensor([[2.0]]))
    assert torch.allclose(scale, torch.sqrt(torch.tensor([[1.0 + WINDOW_VAR_EPS]])))


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
        np.testing.assert_allclose(gate @ gate.T, np.eye(6), atol=1e-5)
    assert torch.count_nonzero(net.gru.bias_ih_l0) == 0


def test_module_imports_no_scikit_learn():
    import ast
    import inspect

    import skgru._module as module

    tree = ast.parse(inspect.getsource(module))
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
