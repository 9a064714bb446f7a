"""A network written as ONNX nodes (skgru/export/_onnx_network.py) computes
what the torch module computes, option by option, with every weight random."""

import numpy as np
import pytest
import torch
from tolerance import ONNX_RTOL, assert_float32_close

from skgru._ensemble import GRUEnsemble
from skgru._module import GRUNetwork
from skgru.export._onnx import IR_VERSION, OPSET, import_onnx
from skgru.export._onnx_network import Graph, network, time_slice

ort = pytest.importorskip(
    "onnxruntime",
    reason="onnxruntime is not installed (pip install 'skgru[onnx]'); "
    "make test installs it, so CI runs these tests",
)

N_CHANNELS = 3

NETWORKS = {
    "plain": dict(n_outputs=1, hidden_size=5),
    "stacked bidirectional, concat pooling": dict(
        n_outputs=2, hidden_size=4, num_layers=2, bidirectional=True, pooling="concat"
    ),
    "per-window normalisation, statistics, AR term": dict(
        n_outputs=2,
        hidden_size=4,
        norm_channels=[0, 2],
        output_channels=[0, 2],
        stats_features=True,
        keep_standardised=True,
        ar_window=4,
        pooling="mean",
    ),
    "patches and convolutional branch": dict(
        n_outputs=3,
        hidden_size=6,
        pooling="max",
        patch_size=4,
        conv_filters=[5, 4],
        conv_kernel_sizes=[8, 3],
    ),
}


def _randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Every weight and statistic random (the AR term starts at zero, batch
    norm at mean 0 and variance 1), in eval mode: a wrong index or order in
    the graph changes its output."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if not tensor.is_floating_point():
                continue
            noise = torch.randn(tensor.shape, generator=generator)
            if name.endswith(("running_var", "x_scale")):
                tensor.copy_(0.5 + noise.abs())
            else:
                tensor.copy_(0.5 * noise)
    return module.eval()


def _run(g: Graph, out: str, x: np.ndarray) -> np.ndarray:
    """The graph of ``g``, with ``out`` as its output ``"Y"``, run by
    onnxruntime on ``x`` as its input ``"X"``."""
    onnx = g.onnx
    helper = onnx.helper
    graph = helper.make_graph(
        [*g.nodes, helper.make_node("Identity", [out], ["Y"])],
        "test",
        [helper.make_tensor_value_info("X", onnx.TensorProto.FLOAT, [None] * 3)],
        [helper.make_tensor_value_info("Y", onnx.TensorProto.FLOAT, None)],
        initializer=g.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    session = ort.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    return session.run(["Y"], {"X": x})[0]


def _onnx_outputs(module: torch.nn.Module, x: np.ndarray) -> np.ndarray:
    """``network``'s graph of ``module`` run by onnxruntime on ``x``."""
    g = Graph(import_onnx())
    return _run(g, network(g, module, "X"), x)


def _inputs(steps: int) -> np.ndarray:
    rng = np.random.default_rng(steps)
    x = rng.normal(size=(6, steps, N_CHANNELS)) * [1, 5, 0.5] + [0, 3, -2]
    return x.astype(np.float32)


@pytest.mark.parametrize("kwargs", NETWORKS.values(), ids=NETWORKS.keys())
@pytest.mark.parametrize("steps", [12, 13])  # 13: patches of 4 pad the start
def test_graph_computes_the_module(kwargs, steps):
    module = _randomised(GRUNetwork(N_CHANNELS, **kwargs), seed=steps)
    x = _inputs(steps)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    got = _onnx_outputs(module, x)
    assert got.shape == expected.shape
    assert_float32_close(got, expected, rtol=ONNX_RTOL)


def test_graph_of_an_ensemble_is_the_mean_of_its_members():
    kwargs = NETWORKS["per-window normalisation, statistics, AR term"]
    ensemble = _randomised(GRUEnsemble(3, n_channels=N_CHANNELS, **kwargs), seed=0)
    x = _inputs(12)
    with torch.no_grad():
        expected = ensemble(torch.from_numpy(x)).numpy()
        first = ensemble.members[0](torch.from_numpy(x)).numpy()
    got = _onnx_outputs(ensemble, x)
    assert_float32_close(got, expected, rtol=ONNX_RTOL)
    assert not np.allclose(got, first)  # the members differ: a mean, not one


@pytest.mark.parametrize("start, end", [(0, -1), (-3, np.iinfo(np.int64).max)])
def test_time_slice_takes_the_steps_as_python_slicing(start, end):
    g = Graph(import_onnx())
    x = _inputs(7)
    np.testing.assert_array_equal(
        _run(g, time_slice(g, "X", start, end), x), x[:, start:end]
    )
