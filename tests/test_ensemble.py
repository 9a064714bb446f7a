"""ensemble_size: several networks trained side by side and averaged."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.exceptions import ConvergenceWarning
from tolerance import STREAM_RTOL, assert_float32_close

from skgru import GRUClassifier, GRURegressor, load, save
from skgru._ensemble import GRUEnsemble, MemberLoss
from skgru._module import GRUNetwork

SMALL = dict(hidden_size=8, max_iter=4, random_state=0)


def _fit(est, *args):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return est.fit(*args)


def _series(n=300):
    rng = np.random.default_rng(0)
    return (np.sin(np.arange(n) / 6) + 0.2 * rng.normal(size=n))[:, None]


def test_member_loss_is_the_mean_of_each_members_loss():
    torch.manual_seed(0)
    outputs, target = torch.randn(5, 3, 2), torch.randn(5, 2)
    loss = MemberLoss(torch.nn.MSELoss)(outputs, target)
    each = [torch.nn.functional.mse_loss(outputs[:, m], target) for m in range(3)]
    assert loss.item() == pytest.approx(torch.stack(each).mean().item())
    logits, labels = torch.randn(6, 4, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    loss = MemberLoss(torch.nn.CrossEntropyLoss)(logits, labels)
    each = [torch.nn.functional.cross_entropy(logits[:, m], labels) for m in range(4)]
    assert loss.item() == pytest.approx(torch.stack(each).mean().item(), rel=1e-6)
    # without a members axis (eval mode, the validation loss): one network's
    flat = torch.randn(5, 2)
    assert MemberLoss(torch.nn.MSELoss)(flat, target) == torch.nn.MSELoss()(
        flat, target
    )


def test_an_ensemble_answers_with_its_members_mean():
    torch.manual_seed(0)
    net = GRUEnsemble(3, n_channels=2, n_outputs=1, hidden_size=4)
    x = torch.randn(7, 5, 2)
    outputs = net.train()(x)
    assert outputs.shape == (7, 3, 1)
    with torch.no_grad():
        mean = torch.stack([m.eval()(x) for m in net.members]).mean(0)
        torch.testing.assert_close(net.eval()(x), mean)
    # members start apart
    weights = [m.head.weight for m in net.members]
    assert not torch.equal(weights[0], weights[1])


def test_a_regressor_ensemble_trains_each_member_and_keeps_every_path():
    X = _series()
    reg = _fit(GRURegressor(window_size=8, ensemble_size=3, **SMALL), X[:-1], X[1:, 0])
    assert isinstance(reg.module_, GRUEnsemble) and len(reg.module_.members) == 3
    single = _fit(GRURegressor(window_size=8, **SMALL), X[:-1], X[1:, 0])
    assert isinstance(single.module_, GRUNetwork)
    pred = reg.predict(X)
    stream = reg.stream()
    streamed = np.array([stream.update(row) for row in X[:30]])
    assert_float32_close(streamed, pred[:30], rtol=STREAM_RTOL)
    np.testing.assert_array_equal(pickle.loads(pickle.dumps(reg)).predict(X), pred)


def test_an_ensemble_saves_and_loads(tmp_path):
    X = _series(200)
    reg = _fit(GRURegressor(window_size=8, ensemble_size=2, **SMALL), X[:-1], X[1:, 0])
    save(reg, tmp_path / "m.safetensors")
    np.testing.assert_array_equal(
        load(tmp_path / "m.safetensors").predict(X), reg.predict(X)
    )


def test_a_classifier_ensemble_averages_logits_into_probabilities():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(60, 12, 2))
    y = (X[:, :, 0].mean(axis=1) > 0).astype(int)
    clf = _fit(GRUClassifier(ensemble_size=3, **SMALL), X, y)
    proba = clf.predict_proba(X)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-6)
    with torch.no_grad():
        logits = torch.stack(
            [
                m.eval()(torch.from_numpy(X[:8].astype(np.float32)))
                for m in clf.module_.members
            ]
        ).mean(0)
    np.testing.assert_allclose(
        proba[:8], torch.softmax(logits, dim=1).numpy(), rtol=1e-5, atol=1e-6
    )


def test_a_sequence_ensemble_says_why_it_cannot_stream():
    X = np.random.default_rng(2).normal(size=(20, 6, 1))
    reg = GRURegressor(
        ensemble_size=2, pooling="last", instance_norm=False, patch_size=1, **SMALL
    )
    _fit(reg, X, X[:, -1, 0])
    with pytest.raises(ValueError, match="ensemble_size above 1"):
        reg.stream()
