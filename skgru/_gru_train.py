"""A GRU training pass for the CPU with a hand-written backward.

This module imports torch only. :func:`gru_train_forward` computes what
:class:`torch.nn.GRU` computes, with the same parameters, for training on the
CPU; inference, CUDA and packed sequences keep using ``nn.GRU`` itself.

Why: on the CPU, ``nn.GRU`` runs each time step as about ten small tensor
operations, and autograd records every one of them; the backward pass then
runs roughly twice as many small kernels through the autograd engine, each
step's weight gradient as its own small matrix product. At the sizes skgru's
users train (batches of a few hundred windows, tens of hidden units) that
bookkeeping costs as much as the arithmetic. Here

* the forward pass runs each step under no autograd recording and, while the
  step's gates are still in cache, also computes the step's coefficients of
  the backward pass (gate derivatives already multiplied together);
* the backward pass needs three operations per step (one matrix product for
  the recurrence) and takes the weight and bias gradients of all steps at
  once, as one matrix product over ``steps x batch`` rows.

The arithmetic is that of ``nn.GRU`` (PyTorch's gate order r, z, n;
``n = tanh(W_in x + b_in + r * (W_hn h + b_hn))``, ``h' = n + z * (h - n)``),
so outputs agree with it to float rounding; gradients are exact (checked
against autograd in float64 by ``tests/test_gru_train.py``). Every operation
is deterministic, so a seeded fit stays bit-for-bit repeatable.
"""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class _GRULayer(torch.autograd.Function):
    """One direction of one GRU layer over time-major input ``(T, B, I)``.

    Returns the hidden states of every step ``(T, B, H)`` and the last one
    ``(B, H)`` (a view of the same storage, so that a caller using only the
    last state gives the backward pass no gradient of the others to read).
    """

    @staticmethod
    def forward(ctx, x, h0, w_ih, w_hh, b_ih, b_hh):
        ctx.set_materialize_grads(False)
        steps, batch, n_in = x.shape
        hidden = w_hh.shape[1]
        h2 = 2 * hidden
        # Input projections of all steps at once: one matrix product.
        gi = torch.addmm(b_ih, x.reshape(steps * batch, n_in), w_ih.t())
        gi = gi.view(steps, batch, 3 * hidden)
        hs = x.new_empty(steps + 1, batch, hidden)  # h_0 ... h_T
        rz = x.new_empty(steps, batch, h2)  # gates r, z of every step
        # d(gh_t) = d(h_t) * coef_t (per gate), d(gi_n,t) = d(h_t) * a_t
        coef = x.new_empty(steps, batch, 3 * hidden)
        acoef = x.new_empty(steps, batch, hidden)
        gh = x.new_empty(batch, 3 * hidden)  # scratch, reused by every step
        n = x.new_empty(batch, hidden)
        dsig = x.new_empty(batch, h2)
        dtanh = x.new_empty(batch, hidden)
        one = x.new_ones(())
        hs[0] = h0
        w_hh_t = w_hh.t()
        gh_rz, gh_n = gh[:, :h2], gh[:, h2:]
        # Per-step views, made once (indexing inside the loop costs more).
        gi_rz, gi_n = gi[..., :h2].unbind(0), gi[..., h2:].unbind(0)
        h_s, rz_s = hs.unbind(0), rz.unbind(0)
        r_s, z_s = rz[..., :hidden].unbind(0), rz[..., hidden:].unbind(0)
        a_s = acoef.unbind(0)
        c_r = coef[..., :hidden].unbind(0)
        c_z = coef[..., hidden:h2].unbind(0)
        c_rz, c_n = coef[..., :h2].unbind(0), coef[..., h2:].unbind(0)
        addmm, addcmul, mul = torch.addmm, torch.addcmul, torch.mul
        for t in range(steps):
            h, rz_t, r, z, a, d = h_s[t], rz_s[t], r_s[t], z_s[t], a_s[t], c_z[t]
            addmm(b_hh, h, w_hh_t, out=gh)
            torch.add(gi_rz[t], gh_rz, out=rz_t).sigmoid_()
            addcmul(gi_n[t], r, gh_n, out=n).tanh_()
            torch.sub(h, n, out=d)  # h - n, kept for dz
            addcmul(n, z, d, out=h_s[t + 1])  # h' = n + z (h - n)
            # Backward coefficients, while this step is in cache:
            addcmul(rz_t, rz_t, rz_t, value=-1, out=dsig)  # sigmoid' of r, z
            addcmul(one, n, n, value=-1, out=dtanh)  # tanh' of n
            addcmul(dtanh, z, dtanh, value=-1, out=a)  # dh'/d(n pre) = (1-z) tanh'
            mul(a, gh_n, out=c_r[t])  # dh'/d(r pre) = a gh_n sigmoid'(r)
            c_rz[t].mul_(dsig)  # ... and dh'/d(z pre) = (h - n) sigmoid'(z)
            mul(a, r, out=c_n[t])  # dh'/d(gh_n) = a r
        ctx.save_for_backward(x, hs, rz, coef, acoef, w_ih, w_hh)
        return hs[1:], hs[steps]

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, d_out, d_last):
        if d_out is None and d_last is None:
            return None, None, None, None, None, None
        x, hs, rz, coef, acoef, w_ih, w_hh = ctx.saved_tensors
        steps, batch, n_in = x.shape
        hidden = w_hh.shape[1]
        h2 = 2 * hidden
        z = rz[..., hidden:]
        dgh = x.new_empty(steps, batch, 3 * hidden)  # d gh_t of every step
        dhs = x.new_empty(steps, batch, hidden)  # d h_t of every step
        if d_out is None:
            dhs[-1] = d_last
        elif d_last is None:
            dhs[-1] = d_out[-1]
        else:
            torch.add(d_last, d_out[-1], out=dhs[-1])
        dh_s, dhu_s = dhs.unbind(0), dhs.unsqueeze(2).unbind(0)
        z_s, g_s = z.unbind(0), dgh.unbind(0)
        c_s = coef.view(steps, batch, 3, hidden).unbind(0)
        g3_s = dgh.view(steps, batch, 3, hidden).unbind(0)
        for t in range(steps - 1, 0, -1):
            torch.mul(dhu_s[t], c_s[t], out=g3_s[t])  # d gh_t, all gates
            if d_out is None:
                torch.mul(z_s[t], dh_s[t], out=dh_s[t - 1])
            else:
                torch.addcmul(d_out[t - 1], z_s[t], dh_s[t], out=dh_s[t - 1])
            dh_s[t - 1].addmm_(g_s[t], w_hh)  # d h_{t-1} += d gh_t W_hh
        torch.mul(dhu_s[0], c_s[0], out=g3_s[0])
        dh0 = None
        if ctx.needs_input_grad[1]:
            dh0 = torch.addmm(z_s[0] * dh_s[0], g_s[0], w_hh)
        # Weight and bias gradients of all steps at once.
        g = dgh.view(steps * batch, 3 * hidden)
        d_w_hh = g.t() @ hs[:-1].reshape(steps * batch, hidden)
        d_b_hh = g.sum(0)
        g_n = acoef.mul(dhs).view(steps * batch, hidden)  # d gi_n
        g_rz = g[:, :h2]  # d gi_r, d gi_z equal d gh_r, d gh_z
        x2 = x.reshape(steps * batch, n_in)
        d_w_ih = torch.cat([g_rz.t() @ x2, g_n.t() @ x2])
        d_b_ih = torch.cat([d_b_hh[:h2], g_n.sum(0)])
        dx = None
        if ctx.needs_input_grad[0]:
            dx = torch.addmm(g_n @ w_ih[h2:], g_rz, w_ih[:h2])
            dx = dx.view(steps, batch, n_in)
        return dx, dh0, d_w_ih, d_w_hh, d_b_ih, d_b_hh


def can_train_fast(gru: nn.Module, x: torch.Tensor) -> bool:
    """Whether :func:`gru_train_forward` applies to this module and input."""
    return (
        type(gru) is nn.GRU
        and gru.training
        and torch.is_grad_enabled()
        and x.device.type == "cpu"
        and x.dtype in (torch.float32, torch.float64)
        and gru.batch_first
        and gru.bias
    )


def gru_train_forward(gru: nn.GRU, x: torch.Tensor) -> torch.Tensor:
    """``nn.GRU``'s last hidden states ``h_n`` for batch-first ``x``.

    Equal to ``gru(x)[1]`` (zero initial state), computed by
    :class:`_GRULayer`; dropout between layers as ``nn.GRU`` applies it in
    training.
    """
    batch = x.shape[0]
    layer_in = x.transpose(0, 1).contiguous()  # time-major
    directions = 2 if gru.bidirectional else 1
    h0 = x.new_zeros(batch, gru.hidden_size)
    last = []
    for layer in range(gru.num_layers):
        outs = []
        for direction in range(directions):
            sfx = f"_l{layer}" + ("_reverse" if direction else "")
            seq = layer_in.flip(0) if direction else layer_in
            out, h_last = _GRULayer.apply(
                seq,
                h0,
                getattr(gru, "weight_ih" + sfx),
                getattr(gru, "weight_hh" + sfx),
                getattr(gru, "bias_ih" + sfx),
                getattr(gru, "bias_hh" + sfx),
            )
            last.append(h_last)
            outs.append(out.flip(0) if direction else out)
        if layer + 1 < gru.num_layers:
            layer_in = outs[0] if directions == 1 else torch.cat(outs, dim=2)
            if gru.dropout:
                layer_in = F.dropout(layer_in, gru.dropout, training=True)
    return torch.stack(last)
