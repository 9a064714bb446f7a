"""skgru's Adam against torch.optim.Adam, and its place in a fit."""

import copy
import pickle
import subprocess
import sys

import pytest
import torch

from skgru._adam import Adam


def _model(seed: int) -> torch.nn.Module:
    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Linear(3, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2)
    )


def _train(
    model, optimizer, steps: int, closure: bool = False, fixed: bool = False
) -> list[float]:
    gen = torch.Generator().manual_seed(1)
    losses = []
    for i in range(steps):
        if i == 0 or not fixed:  # new data each step, or one batch to fit
            x = torch.randn(16, 3, generator=gen)
            y = torch.randn(16, 2, generator=gen)

        def step(x=x, y=y):
            optimizer.zero_grad()
            loss = torch.nn.functional.mse_loss(model(x), y)
            loss.backward()
            return loss

        if closure:
            losses.append(optimizer.step(step).item())
        else:
            losses.append(step().item())
            optimizer.step()
    return losses


@pytest.mark.parametrize(
    "kwargs",
    [{}, {"lr": 0.05, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}],
)
def test_updates_equal_torch_adam_bit_for_bit(kwargs):
    ours, theirs = _model(0), _model(0)
    a = _train(ours, Adam(ours.parameters(), **kwargs), 40)
    b = _train(theirs, torch.optim.Adam(theirs.parameters(), **kwargs), 40)
    assert a == b
    for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
        assert torch.equal(p, q)


def test_closure_returns_the_loss_and_param_groups_set_the_rate():
    model = _model(0)
    optimizer = Adam(model.parameters(), lr=0.01)
    losses = _train(model, optimizer, 20, closure=True, fixed=True)
    assert losses[-1] < losses[0]
    optimizer.param_groups[0]["lr"] = 0.0  # how skorch's set_params(lr=...) acts
    before = [p.detach().clone() for p in model.parameters()]
    _train(model, optimizer, 3, closure=True)
    assert all(
        torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True)
    )


def test_state_dict_round_trips_with_torch_adam():
    model, twin = _model(0), _model(0)
    theirs = torch.optim.Adam(model.parameters(), lr=0.02)
    _train(model, theirs, 5)
    twin.load_state_dict(model.state_dict())
    ours = Adam(twin.parameters())
    ours.load_state_dict(theirs.state_dict())  # torch's extra flags are ignored
    assert ours.param_groups[0]["lr"] == 0.02
    _train(model, theirs, 5)
    _train(twin, ours, 5)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)
    # and back: torch.optim.Adam reads ours and continues from it
    back = torch.optim.Adam(model.parameters())
    # a copy, as from a file: torch's loader keeps the given tensors
    back.load_state_dict(copy.deepcopy(ours.state_dict()))
    assert float(back.state_dict()["state"][0]["step"]) == 10
    twin.load_state_dict(model.state_dict())
    _train(model, back, 3)
    _train(twin, ours, 3)
    for p, q in zip(model.parameters(), twin.parameters(), strict=True):
        assert torch.equal(p, q)


def test_load_state_dict_refuses_another_network():
    optimizer = Adam(_model(0).parameters())
    other = torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    with pytest.raises(ValueError, match="does not match this network"):
        optimizer.load_state_dict(other.state_dict())


def test_pickles_with_its_module_and_keeps_training_it():
    model = _model(0)
    optimizer = Adam(model.parameters())
    _train(model, optimizer, 3)
    model2, optimizer2 = pickle.loads(pickle.dumps((model, optimizer)))
    assert isinstance(optimizer2, torch.optim.Optimizer)
    before = [p.detach().clone() for p in model2.parameters()]
    _train(model2, optimizer2, 2)  # the optimizer updates the unpickled module
    assert not any(
        torch.equal(p, q) for p, q in zip(model2.parameters(), before, strict=True)
    )


def test_a_fit_does_not_load_torchs_compiler():
    # torch.optim's optimizers import torch._dynamo (about 70 MB and a second)
    code = (
        "import sys, numpy as np, skgru\n"
        "X = np.random.default_rng(0).normal(size=(60, 2)).astype('float32')\n"
        "est = skgru.GRURegressor(window_size=4, max_iter=2).fit(X, X[:, 0])\n"
        "est.partial_fit(X, X[:, 0]).predict(X)\n"
        "print(sorted(m for m in sys.modules if m.startswith('torch._dynamo')))\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == "[]"
