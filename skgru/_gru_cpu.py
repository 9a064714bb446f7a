"""The GRU's training pass on the CPU, without autograd's per-step overhead.

This module imports torch only. :func:`gru_last_states` returns what
``torch.nn.GRU(...)(x)[1]`` returns, from the same parameters, with gradients;
prediction, CUDA, packed sequences and other module types keep using
``nn.GRU`` itself.

Why: on the CPU, ``nn.GRU`` runs each time step as about ten small tensor
operations, and in training autograd records every one of them. The backward
pass then runs about twice as many small kernels through the autograd
engine, and each step's weight gradient is its own small matrix product. At
the sizes skgru's users train (batches of a few hundred windows, tens of
hidden units), this overhead costs about as much as the arithmetic. Here:

* a step is the same operations in the same order as ``nn.GRU``'s CPU cell,
  on tensors of the same layout, into buffers allocated once, so the hidden
  states are *bitwise equal* to ``nn.GRU``'s (``tests/test_gru_cpu.py``
  checks that);
* the forward step also computes its coefficients for the backward pass
  while its gates are in cache;
* the backward pass needs three operations per step, one of them the
  recurrence's matrix product, and takes the weight and bias gradients of a
  block of steps at once, as one matrix product over ``steps x batch`` rows.
  Gradients equal autograd's to float rounding (checked in float64).

On a 2-core machine, a training step of the benchmark's GRU
(``hidden_size=64``, batches of 256) took 10-30% less time than ``nn.GRU``
under autograd, and a tiny one (a batch of one window) about half.

Every operation is deterministic, so a seeded fit stays bit-for-bit
repeatable.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

# Rows (steps x batch) per block of the backward pass: the block's buffers,
# 6 MB at 64 hidden units, are reused by every block, and a block's weight
# gradients are still one large matrix product.
BACKWARD_BLOCK_ROWS = 8192


class _GRULayer(torch.autograd.Function):
    """One direction of one GRU layer over time-major input ``(T, B, I)``.

    ``reverse`` runs the steps from last to first. Returns the hidden states
    of every step in the order computed ``(T, B, H)`` and the last one
    ``(B, H)``, a view of the same storage: a caller that uses only the last
    state passes no gradient for the others.

    Gates in PyTorch's order: ``r = sigmoid(gh_r + gi_r)``, the same for
    ``z``, ``n = tanh(gh_n * r + gi_n)``, ``h' = (h - n) * z + n``. The input
    projection is ``F.linear`` on the tensor ``nn.GRU`` projects, and every
    operation of a step runs on a tensor of the same shape and row layout as
    in ``nn.GRU``'s CPU cell (``r`` and ``z`` as column blocks of wider rows,
    like its gate chunks), so the states are the same bits: torch's
    vectorised and scalar ``sigmoid`` differ in the last bit, and which one
    an element gets depends on the length of its row.
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh, reverse):
        ctx.set_materialize_grads(False)
        ctx.reverse = reverse
        steps, batch, _ = x.shape
        hidden = w_hh.shape[1]
        h2 = 2 * hidden
        gi = F.linear(x, w_ih, b_ih)  # input projections of all steps
        hs = x.new_empty(steps + 1, batch, hidden)  # h_0 ... h_T
        rz = x.new_empty(steps, batch, h2)  # gates r, z of every step
        # d(gh_t) = d(h_t) * coef_t (per gate), d(gi_n,t) = d(h_t) * acoef_t
        coef = x.new_empty(steps, batch, 3 * hidden)
        acoef = x.new_empty(steps, batch, hidden)
        gh = x.new_empty(batch, 3 * hidden)  # scratch buffers of every step
        n = x.new_empty(batch, hidden)
        dsig = x.new_empty(batch, h2)
        dtanh = x.new_empty(batch, hidden)
        one = x.new_ones(())
        hs[0] = h0
        w_hh_t = w_hh.t()
        gh_r, gh_z, gh_n = gh[:, :hidden], gh[:, hidden:h2], gh[:, h2:]
        # Per-step views, made once (indexing inside the loop costs more).
        order = slice(None, None, -1 if reverse else 1)
        gi_r = gi[..., :hidden].unbind(0)[order]
        gi_z = gi[..., hidden:h2].unbind(0)[order]
        gi_n = gi[..., h2:].unbind(0)[order]
        h_s, rz_s, a_s = hs.unbind(0), rz.unbind(0), acoef.unbind(0)
        r_s, z_s = rz[..., :hidden].unbind(0), rz[..., hidden:].unbind(0)
        c_r, c_z = coef[..., :hidden].unbind(0), coef[..., hidden:h2].unbind(0)
        c_rz, c_n = coef[..., :h2].unbind(0), coef[..., h2:].unbind(0)
        addmm, add, addcmul, mul = torch.addmm, torch.add, torch.addcmul, torch.mul
        for t in range(steps):
            h, r, z, d, a = h_s[t], r_s[t], z_s[t], c_z[t], a_s[t]
            # The step, as nn.GRU's CPU cell computes it.
            addmm(b_hh, h, w_hh_t, out=gh)
            add(gh_r, gi_r[t], out=r).sigmoid_()
            add(gh_z, gi_z[t], out=z).sigmoid_()
            mul(gh_n, r, out=n).add_(gi_n[t]).tanh_()
            torch.sub(h, n, out=d)  # kept: dz's coefficient is made from it
            mul(d, z, out=h_s[t + 1]).add_(n)
            # The backward pass's coefficients, while the step is in cache.
            rz_t = rz_s[t]
            addcmul(rz_t, rz_t, rz_t, value=-1, out=dsig)  # sigmoid' of r, z
            addcmul(one, n, n, value=-1, out=dtanh)  # tanh' of n
            addcmul(dtanh, z, dtanh, value=-1, out=a)  # (1 - z) tanh'
            mul(a, gh_n, out=c_r[t])  # dh'/d(r pre) = a gh_n sigmoid'(r)
            c_rz[t].mul_(dsig)  # ... and dh'/d(z pre) = (h - n) sigmoid'(z)
            mul(a, r, out=c_n[t])  # dh'/d(gh_n) = a r
        ctx.save_for_backward(x, hs, rz, coef, acoef, w_ih, w_hh)
        return hs[1:], hs[steps]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_last):
        if d_out is None and d_last is None:
            return None, None, None, None, None, None, None
        x, hs, rz, coef, acoef, w_ih, w_hh = ctx.saved_tensors
        if ctx.reverse:  # everything below is in the order computed
            x = x.flip(0)
        steps, batch, n_in = x.shape
        hidden = w_hh.shape[1]
        h2 = 2 * hidden
        z_s = rz[..., hidden:].unbind(0)
        c_s = coef.view(steps, batch, 3, hidden).unbind(0)
        # Blocks of steps, last first: d gh and d h of a block's steps go to
        # buffers reused by every block (they stay in cache), then the
        # block's weight gradients are one matrix product each.
        block = max(1, min(steps, BACKWARD_BLOCK_ROWS // batch))
        dgh = x.new_empty(block, batch, 3 * hidden)
        dhb = x.new_empty(block, batch, hidden)
        g_s, g3_s = dgh.unbind(0), dgh.view(block, batch, 3, hidden).unbind(0)
        dh_s, dhu_s = dhb.unbind(0), dhb.unsqueeze(2).unbind(0)
        d_w_hh = w_hh.new_zeros(w_hh.shape)
        d_w_ih = w_ih.new_zeros(w_ih.shape)
        d_b_hh = w_hh.new_zeros(3 * hidden)
        d_b_in = w_hh.new_zeros(hidden)
        dx = x.new_empty(x.shape) if ctx.needs_input_grad[0] else None
        dh0 = None
        carry = x.new_empty(batch, hidden)  # d h of the step before a block
        if d_out is None:
            carry.copy_(d_last)
        elif d_last is None:
            carry.copy_(d_out[-1])
        else:
            torch.add(d_last, d_out[-1], out=carry)
        for end in range(steps, 0, -block):
            first = max(0, end - block)
            size = end - first
            dh_s[size - 1].copy_(carry)
            for t in range(end - 1, first - 1, -1):
                i = t - first
                torch.mul(dhu_s[i], c_s[t], out=g3_s[i])  # d gh_t, all gates
                if t == 0:
                    if ctx.needs_input_grad[1]:
                        dh0 = torch.addmm(z_s[0] * dh_s[0], g_s[0], w_hh)
                    break
                prev = dh_s[i - 1] if i else carry  # d h_{t-1}
                if d_out is None:
                    torch.mul(z_s[t], dh_s[i], out=prev)
                else:
                    torch.addcmul(d_out[t - 1], z_s[t], dh_s[i], out=prev)
                prev.addmm_(g_s[i], w_hh)  # d h_{t-1} += d gh_t W_hh
            rows = size * batch
            g = dgh[:size].view(rows, 3 * hidden)
            g_rz = g[:, :h2]  # d gi_r, d gi_z equal d gh_r, d gh_z
            g_n = acoef[first:end].mul(dhb[:size]).view(rows, hidden)  # d gi_n
            x2 = x[first:end].reshape(rows, n_in)
            d_w_hh.addmm_(g.t(), hs[first:end].reshape(rows, hidden))
            d_b_hh.add_(g.sum(0))
            d_w_ih[:h2].addmm_(g_rz.t(), x2)
            d_w_ih[h2:].addmm_(g_n.t(), x2)
            d_b_in.add_(g_n.sum(0))
            if dx is not None:
                dx_block = torch.addmm(g_n @ w_ih[h2:], g_rz, w_ih[:h2])
                dx[first:end] = dx_block.view(size, batch, n_in)
        d_b_ih = torch.cat([d_b_hh[:h2], d_b_in])
        if dx is not None and ctx.reverse:
            dx = dx.flip(0)
        return dx, dh0, d_w_ih, d_w_hh, d_b_ih, d_b_hh, None


def handles(gru: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`gru_last_states` should stand in for ``gru(x)``.

    Only to train: without gradients ``nn.GRU`` runs the same operations in
    C++, and was as fast or faster (up to 1.25x for tiny batches).
    """
    return (
        type(gru) is nn.GRU
        and gru.batch_first
        and gru.bias
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and torch.is_grad_enabled()
        and (x.requires_grad or any(p.requires_grad for p in gru.parameters()))
    )


def gru_last_states(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """``h_n`` of ``gru(x)`` (zero initial state) for batch-first ``x``.

    Hidden states are bitwise equal to ``nn.GRU``'s; in training mode,
    dropout between layers draws the same masks from the same generator.
    """
    return gru_states(gru, x)[1]


def gru_states(gru: nn.GRU, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(output, h_n)`` of ``gru(x)`` (zero initial state), batch-first.

    ``output`` holds the last layer's state at every step, as ``nn.GRU``
    returns it; gradients flow through it as through ``h_n``.
    """
    batch = x.shape[0]
    layer_in = x.transpose(0, 1)  # time-major, the view nn.GRU projects
    directions = 2 if gru.bidirectional else 1
    h0 = x.new_zeros(batch, gru.hidden_size)
    last = []
    for layer in range(gru.num_layers):
        outs = []
        for direction in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            weights = [
                getattr(gru, name + sfx)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")
            ]
            out, h_last = _GRULayer.apply(layer_in, h0, *weights, bool(direction))
            last.append(h_last)
            outs.append(out.flip(0) if direction else out)
        layer_in = outs[0] if directions == 1 else torch.cat(outs, dim=2)
        if layer + 1 < gru.num_layers and gru.dropout and gru.training:
            layer_in = F.dropout(layer_in, gru.dropout, training=True)
    return layer_in.transpose(0, 1), torch.stack(last)
