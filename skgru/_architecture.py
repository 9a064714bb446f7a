"""Architecture options of GRUClassifier and GRURegressor (not exported).

Flat, validated parameters that shape the network beyond ``torch.nn.GRU``'s
own: how the GRU's states over time are pooled, how many steps each GRU
step reads (patches), a convolutional branch beside the GRU (GRU-FCN) and
per-sample normalisation. This module turns them into
:class:`~skgru._module.GRUNetwork` arguments for the data being fitted.
"""

from __future__ import annotations

import math
from numbers import Integral

from sklearn.utils._param_validation import Interval, StrOptions

from ._layers import POOLINGS, SAMPLE_VAR_EPS, WINDOW_VAR_EPS
from ._validation import Layout

# patch_size="auto". Series layout: the fewest steps per patch that leave the
# GRU at most AUTO_MAX_STEPS steps of a window. Sequence layout: patches of
# sqrt(T) / AUTO_SQRT_DIVISOR steps (at least 1), T the longest recording, so
# the GRU reads about 3 sqrt(T) patches: a recording 100 times longer costs
# 10 times the recurrent steps, and a long recording's fast detail is not
# folded into a few wide patches (PLAID, whose currents ripple every 5 steps,
# went from 0.78 with 64 patches of 21 to 0.82 with 112 of 12).
AUTO_MAX_STEPS = 64
AUTO_SQRT_DIVISOR = 3

# Parameters added with the architecture options, at the values that mean
# what a model made before they existed was: the plain GRU, trained at a
# constant learning rate. Older pickles and model files are read with them.
PREVIOUS_VALUES: dict = {
    "learning_rate": "constant",
    "pooling": "last",
    "patch_size": 1,
    "conv_filters": None,
    "conv_kernel_sizes": (8, 5, 3),
    "instance_norm": False,
    "sample_stats": False,
    # GRUAnomalyDetector: the rows a score averages (1: the row alone)
    "smoothing": 1,
    "calibration_fraction": 0.25,
    # GRUAnomalyDetector: a float contamination is the share of training data
    # flagged
    "novelty": False,
    # groups: one standardisation over all series
    "scaling": "global",
    # GRURegressor: the mean squared error
    "loss": "squared_error",
    "quantiles": (0.05, 0.5, 0.95),
    # one network
    "ensemble_size": 1,
    # GRURegressor: no linear autoregressive term
    "autoregressive": False,
}

ARCHITECTURE_CONSTRAINTS: dict = {
    "pooling": [StrOptions(set(POOLINGS))],
    "patch_size": [Interval(Integral, 1, None, closed="left"), StrOptions({"auto"})],
    "conv_filters": [tuple, list, None],
    "conv_kernel_sizes": [tuple, list],
    "instance_norm": ["boolean", StrOptions({"both", "auto"})],
    "sample_stats": ["boolean"],
    "ensemble_size": [Interval(Integral, 1, None, closed="left")],
}

ARCHITECTURE_PARAMETERS = """\
pooling : {"last", "mean", "max", "concat"}, default="concat"
        How the GRU's states over the time steps become the input of the
        output layer: the last state, their mean or their maximum over the
        real (not padded) steps, or the three concatenated.
    patch_size : int or "auto", default="auto"
        Time steps the GRU reads at once. The sequence is cut into patches
        of ``patch_size`` steps and each GRU step reads one patch (all its
        values), so a long recording costs ``patch_size`` times fewer
        recurrent steps. ``"auto"``: for recordings (sequence layout),
        ``floor(sqrt(T) / 3)`` steps (at least 1), ``T`` the longest one seen
        in ``fit``, which leaves the GRU about ``3 sqrt(T)`` steps (1 up to
        35 steps, 3 at 100, 12 at 1,460); for windows of a series, the
        smallest size that leaves at most 64 GRU steps.
        A sequence whose length is not a multiple is padded with zeros
        after normalisation.
    conv_filters : tuple of int or None, default=None
        A fully convolutional branch beside the GRU (GRU-FCN): one block of
        ``Conv1d`` (``conv_filters[i]`` filters), batch norm and ReLU per
        entry, averaged over time and read by the output layer with the
        GRU's features. It reads the same patches as the GRU. ``None`` or
        ``()``: no branch.
    conv_kernel_sizes : tuple of int, default=(8, 5, 3)
        Kernel width of each block of ``conv_filters``; as many entries.
    instance_norm : bool, "both" or "auto", default="auto"
        ``True``: normalise every channel of every sample (sequence or
        window) by its own mean and standard deviation before the network
        reads it, as UCR practice z-normalises each recording: predictions
        do not change when a recording is shifted or scaled. ``"both"``: the
        network reads the normalised channels beside the globally
        standardised ones, so that a recording's shape counts whatever its
        amplitude, and its amplitude counts too. ``"auto"``: ``"both"`` in
        sequence layout (whole recordings), ``False`` in series layout
        (windows of one series, where ``target_channel`` normalises the
        target's history). A recording is normalised whatever its amplitude
        (its standard deviation is floored at 1e-5 of the channel's over the
        training data), a window of a series only down to about 0.03 of it,
        so that a flat stretch stays flat.
    sample_stats : bool, default=True
        With ``instance_norm``, the output layer also reads each sample's
        per-channel mean and log standard deviation that the normalisation
        removed, so that level and amplitude still count where they tell the
        classes apart, while the GRU reads only the normalised shape.
        Without ``instance_norm`` it does nothing.
    ensemble_size : int, default=1
        Networks trained side by side, from different initial weights, each
        on its own loss; predictions are the mean of their outputs (of the
        logits, for the classifier). Averaging removes much of the variance
        that a small training set leaves in one network, at
        ``ensemble_size`` times the cost of one."""


def _check_sizes(est, name: str) -> list[int]:
    values = getattr(est, name)
    values = [] if values is None else list(values)
    for value in values:
        if isinstance(value, bool) or not isinstance(value, Integral) or value < 1:
            raise ValueError(
                f"{name} must hold positive ints, but it holds {value!r}: e.g. "
                f"{name}=(128, 256, 128)."
            )
    return [int(value) for value in values]


def longest_steps(layout: Layout) -> int:
    """Time steps of the longest sample of ``layout`` (a window in series layout)."""
    if layout.window is not None:
        return int(layout.window)
    if layout.lengths is not None:
        return int(layout.lengths.max())
    return int(layout.x.shape[1])


def auto_patch_size(layout: Layout) -> int:
    """``patch_size="auto"`` for ``layout``: see ``AUTO_SQRT_DIVISOR``."""
    longest = longest_steps(layout)
    if layout.window is not None:
        return -(-longest // AUTO_MAX_STEPS)
    return max(1, math.isqrt(longest) // AUTO_SQRT_DIVISOR)


def instance_norm(est, layout: Layout) -> bool | str:
    """``est.instance_norm`` with ``"auto"`` resolved for ``layout``."""
    if est.instance_norm == "auto":
        return "both" if layout.window is None else False
    return est.instance_norm


def architecture_kwargs(est, layout: Layout) -> dict:
    """:class:`~skgru._module.GRUNetwork` arguments from ``est``'s options."""
    filters = _check_sizes(est, "conv_filters")
    kernels = _check_sizes(est, "conv_kernel_sizes")
    if filters and len(kernels) != len(filters):
        raise ValueError(
            f"conv_kernel_sizes has {len(kernels)} entries but conv_filters has "
            f"{len(filters)}: give one kernel size per convolutional block."
        )
    norm = instance_norm(est, layout)
    patch = est.patch_size
    if patch == "auto":
        patch = auto_patch_size(layout)
    return dict(
        pooling=est.pooling,
        patch_size=int(patch),
        conv_filters=filters,
        conv_kernel_sizes=kernels if filters else [],
        stats_features=bool(norm and est.sample_stats),
        feature_dropout=float(est.dropout),
        keep_standardised=norm == "both",
        norm_eps=WINDOW_VAR_EPS if layout.window is not None else SAMPLE_VAR_EPS,
        **({"members": est.ensemble_size} if est.ensemble_size > 1 else {}),
    )
