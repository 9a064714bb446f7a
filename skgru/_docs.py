"""Docstring sections shared by the skgru estimators."""

from __future__ import annotations

import inspect
import re

from ._architecture import ARCHITECTURE_PARAMETERS

SHARED_PARAMETERS = """hidden_size : int, default=64
        Number of features in the GRU's hidden state.
    num_layers : int, default=1
        Number of stacked GRU layers.
    dropout : float, default=0.0
        Dropout between stacked GRU layers (when ``num_layers > 1``) and, in
        ``GRUClassifier`` and ``GRURegressor``, on the features the output
        layer reads, in training.
    bidirectional : bool, default=False
        Whether the GRU also reads each window backwards.
    window_size : int or None, default=None
        ``None``: sequence layout, one sample is one whole sequence.
        An int ``w``: series layout, ``X`` is one series with rows in time
        order, and the sample of row ``t`` is the window of rows
        ``t-w+1 .. t``. The first ``w-1`` rows of any call see their missing
        history as copies of the call's first row. ``GRUClassifier`` and
        ``GRURegressor`` train only on rows with a complete window, all
        rows of a series but its first ``w-1`` (a series of ``w-1`` rows or
        fewer trains on all its rows); they still predict every row.
    scaling : {"auto", "global", "per_series"}, default="auto"
        How the inputs (and the regressor's targets) are standardised
        before the network reads them. "global": one mean and standard
        deviation per channel over all the rows ``fit`` saw. "per_series":
        in series layout with ``groups``, each series by its own mean and
        standard deviation per channel, measured in ``fit``; a series
        ``fit`` did not see (or ``X`` without ``groups``) is standardised
        by its own rows in the call, and predictions are scaled back per
        series. "auto": "per_series" when ``fit`` is given ``groups``, else
        "global" (the same thing for one series). Per-series scaling lets
        one model learn from series whose levels differ by orders of
        magnitude (one global scale would leave the small series below
        float32's resolution); ``stream()`` and ``to_onnx`` need "global".
    max_iter : int, default=200
        Maximum number of epochs.
    learning_rate : {"constant", "adaptive"}, default="constant"
        Schedule of the learning rate, as in ``MLPRegressor``. "constant":
        ``learning_rate_init`` throughout. "adaptive": each time the loss
        has not improved by ``tol`` for ``n_iter_no_change`` epochs, the rate
        is divided by 5, twice at most; the next such plateau stops
        training. ``partial_fit`` always uses ``learning_rate_init``.
    learning_rate_init : float, default=1e-3
        Learning rate of the Adam optimiser.
    batch_size : int or "auto", default="auto"
        Samples per training batch. ``"auto"``: batches of at most 32
        samples, as equal in size as possible (40 samples give 2 batches of
        20), so that no epoch ends on a tiny, noisy batch.
    early_stopping : bool, default=False
        Hold out ``validation_fraction`` of the samples and stop when their
        loss stops improving. In series layout the held-out samples are the
        last rows, since neighbouring windows overlap; with ``groups``, the
        last rows of every series, each in proportion to its length.
    validation_fraction : float, default=0.1
        Share of the samples held out when ``early_stopping=True``.
    n_iter_no_change : int or "auto", default="auto"
        Epochs in a row without an improvement of at least ``tol`` in the
        training loss (validation loss with ``early_stopping``) that stop
        training (or, with ``learning_rate="adaptive"``, lower the rate).
        "auto": 5 in series layout, where an epoch reads every row
        ``window_size`` times in overlapping windows, and 10 in sequence
        layout. ``GRURegressor`` defaults to "auto": on the short series of
        ``benchmarks/FORECASTING.md`` the shorter patience fits 1.2–4.8
        times faster with steadier multi-step forecasts, though one-step fits of a
        trending series may want 10. The classifier and the detector default to 10
        (with 5, the detector's anomaly ranking on the airline series fell
        from a ROC-AUC of 0.79 to 0.73).
    tol : float, default=1e-4
        Minimal improvement of the loss that counts.
    warm_start : bool, default=False
        Continue training the fitted network on the next call to ``fit``
        instead of starting afresh. The parameters the network was built
        from (its sizes and architecture options, and ``scaling``) must stay
        as they were; the training parameters apply to each call.
    random_state : int, RandomState instance or None, default=None
        Seeds weight initialisation, shuffling and dropout. With an int, a
        fit on the CPU is bit-for-bit repeatable. Global random states are
        left as they were.
    verbose : int, default=0
        0: silent. 1: a progress bar over the epochs with the last training
        (and validation) loss, on stderr. 2: also skorch's table of every
        epoch, on stdout.
    device : str or torch.device, default="cpu"
        Where the network is trained and run, e.g. ``"cuda"``.
    n_threads : int or "auto", default="auto"
        Torch intra-op threads for skgru's own work, restored to the caller's
        ``torch.get_num_threads()`` afterwards. ``"auto"``: one thread when
        a step is small (batch rows x ``hidden_size`` below 4096), where a
        second thread costs more than it gains, else the caller's count.
        Under ``GridSearchCV(n_jobs=...)`` or Dask, cap the caller's count
        (e.g. ``OMP_NUM_THREADS=1``) so that workers do not oversubscribe."""

SHARED_ATTRIBUTES = """n_features_in_ : int
        Number of features seen in ``fit``: columns of a 2-D ``X``, channels
        (last axis) of a 3-D ``X`` or of a list of sequences.
    feature_names_in_ : ndarray of shape (`n_features_in_`,)
        Column names of ``X``, when it is a DataFrame with string names.
    module_ : torch.nn.Module
        The trained network.
    net_ : skorch.NeuralNet
        The private skorch net that trained ``module_`` (an escape hatch).
    loss_curve_ : list of float
        Training loss after each epoch.
    validation_loss_curve_ : list of float
        Validation loss after each epoch (``early_stopping=True`` only).
    validation_scores_ : list of float
        Score on the held-out validation samples after each epoch: R² for
        the regressor, accuracy for the classifier (``early_stopping=True``
        only; the detector has none).
    n_iter_ : int
        Number of epochs run."""


# The ``groups`` parameter of every method that takes X (``{groups}`` in a
# method docstring of a class decorated with fill_doc, or of its mixins).
GROUPS_PARAMETER = """groups : array-like of shape (n_rows,), default=None
            Series layout: the series of each row of ``X`` (several series in
            one ``X``, rows in time order within each); a window never holds
            rows of two series, and each series' first rows are padded with
            its first row. A DataFrame with an (id, time) MultiIndex gives
            them itself. Routed by metadata routing where requested."""

# a parameter's first docstring line: "    name : type, default=value"
_DEFAULT_LINE = re.compile(r"^(    (\w+) : .*, default=)(.*)$", re.MULTILINE)


def format_default(value) -> str:
    """A default as the docstrings write it: ``"auto"``, ``1e-3``, ``None``."""
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, float) and value and abs(value) < 1e-2:
        mantissa, exponent = f"{value:e}".split("e")
        return f"{float(mantissa):g}e{int(exponent)}"
    return repr(value)


def fill_doc(cls: type) -> type:
    """Insert the shared Parameters and Attributes entries into a docstring,
    each default written as ``cls.__init__`` has it (the estimators share
    the text, not every default), and ``groups`` into its methods'."""
    doc = cls.__doc__.format(
        parameters=SHARED_PARAMETERS,
        attributes=SHARED_ATTRIBUTES,
        architecture=ARCHITECTURE_PARAMETERS,
    )
    defaults = {
        name: param.default
        for name, param in inspect.signature(cls.__init__).parameters.items()
        if param.default is not inspect.Parameter.empty
    }

    def default(match: re.Match) -> str:
        name = match.group(2)
        if name not in defaults:
            return match.group(0)
        return match.group(1) + format_default(defaults[name])

    cls.__doc__ = _DEFAULT_LINE.sub(default, doc)
    for klass in cls.__mro__:  # the class's and its mixins' methods
        for member in vars(klass).values():
            member = getattr(member, "fn", member)  # an available_if method
            text = getattr(member, "__doc__", None)
            if callable(member) and text and "{groups}" in text:
                member.__doc__ = text.replace("{groups}", GROUPS_PARAMETER)
    return cls
