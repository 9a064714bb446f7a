import pytest
import torch
from tolerance import assert_float32_close

from skgru._layers import (
    SAMPLE_VAR_EPS,
    WINDOW_VAR_EPS,
    ConvBranch,
    _masked_pool,
    window_stats,
)


def test_window_stats_ignore_padding():
    x = torch.tensor([[[1.0], [3.0], [100.0]]])
    mean, scale = window_stats(x, torch.tensor([2]))
    assert torch.allclose(mean, torch.tensor([[2.0]]))
    assert torch.allclose(scale, torch.sqrt(torch.tensor([[1.0 + WINDOW_VAR_EPS]])))


def test_window_stats_floor_the_scale_of_a_flat_window():
    flat = torch.full((1, 5, 2), 3.0)
    for eps in (WINDOW_VAR_EPS, SAMPLE_VAR_EPS):
        mean, scale = window_stats(flat, eps=eps)
        assert_float32_close(mean, torch.full((1, 2), 3.0), rtol=1e-6)
        assert_float32_close(scale, torch.full((1, 2), eps**0.5), rtol=1e-5)


@pytest.mark.parametrize("how", ["mean", "max"])
def test_masked_pool_reads_real_steps_only(how):
    out = torch.randn(2, 6, 3)
    mask = (torch.arange(6)[None, :] < torch.tensor([4, 6])[:, None]).unsqueeze(-1)
    padded = out.clone()
    padded[0, 4:] = 50.0  # larger than any real value: would win a max
    got = _masked_pool(padded, mask, how)
    assert_float32_close(got[0], _masked_pool(out[:1, :4], None, how)[0], rtol=1e-6)
    assert_float32_close(got[1], _masked_pool(out[1:], None, how)[0], rtol=1e-6)


def test_conv_branch_blocks_keep_the_length_and_end_in_the_last_width():
    torch.manual_seed(0)
    branch = ConvBranch(2, [4, 6], [8, 5])
    assert branch.n_features == 6
    lengths = []
    for conv in branch.convs:
        conv.register_forward_hook(lambda _, __, out: lengths.append(out.shape[-1]))
    assert branch(torch.randn(3, 11, 2), None).shape == (3, 6)
    assert lengths == [11, 11]  # even and odd widths keep the length


def test_conv_branch_ignores_padded_steps_and_trains():
    torch.manual_seed(0)
    branch = ConvBranch(2, [4, 5], [4, 3]).eval()
    short, long = torch.randn(1, 7, 2), torch.randn(1, 11, 2)
    batch = torch.cat([torch.cat([short, torch.full((1, 4, 2), 9.0)], 1), long])
    mask = (torch.arange(11)[None, :] < torch.tensor([7, 11])[:, None]).unsqueeze(-1)
    got = branch(batch, mask)
    assert_float32_close(got[0].detach(), branch(short, None)[0].detach(), rtol=1e-5)
    assert_float32_close(got[1].detach(), branch(long, None)[0].detach(), rtol=1e-5)

    branch.train()
    x, target = torch.randn(16, 9, 2), torch.randn(16)
    head = torch.nn.Linear(branch.n_features, 1)
    optimizer = torch.optim.Adam([*branch.parameters(), *head.parameters()], lr=1e-2)
    losses = []
    for _ in range(60):
        optimizer.zero_grad()
        loss = ((head(branch(x, None)).squeeze(-1) - target) ** 2).mean()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    # the head alone, on the untrained branch's features, only gets to 0.8
    assert losses[-1] < 0.2 * losses[0]
