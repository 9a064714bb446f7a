"""How GRURegressor reads its targets and gives predictions back in their units.

:class:`TargetsMixin` gives :class:`~skgru.GRURegressor` its target hooks:
``y`` (checked as numbers by ``validate_input``) standardised for training,
by its own statistics or by the ``target_channel``'s, so that the network
answers in that channel's units, and per series under
``scaling="per_series"``; predictions mapped back per series; and the index
of ``target_channel``. The forecasting and interval mixins read the same
helpers.
"""

from __future__ import annotations

import numpy as np
import torch

from ._columns import column_names_hint
from ._quantiles import check_quantiles
from ._series_scaling import measure, row_stats
from ._stats import column_stats, float32_pair
from ._validation import Layout, check_float32_range
from ._windows import to_tensor


class TargetsMixin:
    """The target hooks of :class:`~skgru.GRURegressor` (see the module)."""

    def _encode_targets(
        self, y: np.ndarray, layout: Layout, reset: bool, classes=None
    ) -> torch.Tensor:
        y2 = np.reshape(y, (len(y), -1))
        check_float32_range(y2, "y")
        if layout.series_stats is not None:
            if reset:
                own = self.target_channel is None  # else the channel's statistics
                self._series_y = measure(y2, layout.series_ids) if own else None
            mean, std = self._series_y_stats(layout, y2)
            y2 = (y2 - mean) / std
        elif reset:
            self._series_y = None
        if reset:
            self._levels = check_quantiles(self.quantiles)
            self._y_ndim = np.ndim(y)
            if self.target_channel is None:
                self._y_mean, self._y_scale = column_stats(y2)
            else:
                # the network answers in the target channel's units (its
                # output is scaled back by that channel's window statistics):
                # the targets take that channel's standardisation too, so an
                # offset between X's and y's global statistics cannot shift
                # every series' predictions
                channel = self._target_channel_index(layout)
                mean, scale = (stat[channel] for stat in self._input_stats)
                self._y_mean = np.full(y2.shape[1], mean)
                self._y_scale = np.full(y2.shape[1], scale)
        elif y2.shape[1] != len(self._y_mean):
            raise ValueError(
                f"y has {y2.shape[1]} columns, but the fit being continued "
                f"had {len(self._y_mean)}."
            )
        return to_tensor(y2)

    def _series_y_stats(
        self, layout: Layout, y2: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Each row's per-series target mean and scale ``(n, n_outputs)``
        (``scaling="per_series"``): the target channel's statistics, or the
        targets' own, measured in ``fit`` (or on ``y2`` for a new series)."""
        mean, std, series = layout.series_stats
        if self._series_y is None:
            channel = self._target_channel_index(layout)
            return mean[series, channel, None], std[series, channel, None]
        ids = layout.series_ids
        if y2 is None and not np.isin(np.unique(ids), self._series_y[0]).all():
            raise ValueError(
                "X holds a series that fit did not see (or groups were not "
                "given), and this model standardised each series' targets on "
                "its own with no target_channel, so that series' target scale "
                "is unknown: pass groups (the series ids of X's rows, e.g. "
                "routed with set_predict_request(groups=True)), predict only "
                "series fit saw, or refit with target_channel or "
                "scaling='global'."
            )
        y_mean, y_std, y_series = row_stats(self._series_y, y2, ids)
        return y_mean[y_series], y_std[y_series]

    def _unscale_series(
        self, y: np.ndarray, layout: Layout, rows: np.ndarray | None = None
    ) -> np.ndarray:
        """Predictions ``y`` of ``layout``'s rows (or of its ``rows``) in the
        units of each row's series, under per-series scaling."""
        if layout.series_stats is None:
            return y
        mean, std = self._series_y_stats(layout)
        if rows is not None:
            mean, std = mean[rows], std[rows]
        # one scale per target, also for each quantile of it (a last axis)
        shape = y.shape
        y = y.reshape(len(y), mean.shape[1], -1)
        return (y * std[:, :, None] + mean[:, :, None]).reshape(shape)

    def _target_scaling(self) -> tuple[torch.Tensor, torch.Tensor]:
        return float32_pair(self._y_mean, self._y_scale)

    def _target_channel_index(self, layout: Layout) -> int:
        channel = self.target_channel
        if isinstance(channel, bool):  # an int to Python, never meant as one
            raise ValueError(
                f"target_channel={channel} is a bool; give the index of the "
                "channel that holds the target's history, or its column name."
            )
        if isinstance(channel, str):
            names = list(getattr(self, "feature_names_in_", []))
            if layout.window is not None and channel in names:
                return names.index(channel)
            if layout.window is not None and names:
                raise ValueError(
                    f"target_channel={channel!r} is not a column of X: "
                    f"{column_names_hint(names, channel)}"
                )
            raise ValueError(
                f"target_channel={channel!r} is not a column of X. A column "
                "name needs X as a DataFrame in series layout; otherwise "
                f"give the channel's index (0 to {layout.n_channels - 1})."
            )
        if not 0 <= channel < layout.n_channels:
            raise ValueError(
                f"target_channel={channel} is out of range: X has "
                f"{layout.n_channels} channel(s) per time step."
            )
        return int(channel)
