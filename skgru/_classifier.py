"""GRUClassifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch
from sklearn.base import ClassifierMixin, _fit_context
from sklearn.metrics import accuracy_score
from sklearn.preprocessing import LabelEncoder
from sklearn.utils._param_validation import StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import (
    _check_partial_fit_first_call,
    check_classification_targets,
)

from ._architecture import (
    ARCHITECTURE_CONSTRAINTS,
    architecture_kwargs,
    instance_norm,
)
from ._base import BaseGRU
from ._docs import fill_doc
from ._net import accuracy_of_logits
from ._validation import Layout, check_sortable


def _check_labels(y: np.ndarray) -> None:
    """Missing labels, or labels that cannot be sorted together, in an object
    ``y``: named here, where numpy's sort would only say "'<' not supported"."""
    if np.asarray(y).dtype.kind != "O":
        return
    missing = pd.isna(y)
    if missing.any():
        raise ValueError(
            f"y contains {int(missing.sum())} missing label(s) (None or NaN): drop "
            "those samples or give them a label before fitting."
        )
    check_sortable(
        y,
        "y holds labels",
        "pass labels of one type (e.g. all strings, y.astype(str)).",
    )


@fill_doc
class GRUClassifier(ClassifierMixin, BaseGRU):
    """Classification with a GRU, as a scikit-learn estimator.

    One label per sequence (``window_size=None``, e.g. a gesture recording) or
    per row of a series (``window_size`` set). Labels may be of any type;
    binary and multiclass problems are handled alike (softmax over classes).

    Parameters
    ----------
    {parameters}
    {architecture}
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes in the loss: ``{{label: weight}}``, or
        ``"balanced"`` for ``n_samples / (n_classes * bincount(y))``.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    {attributes}

    See Also
    --------
    GRURegressor : The same network for continuous targets.

    Examples
    --------
    >>> import numpy as np
    >>> from skgru import GRUClassifier
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(100, 10, 2))  # 100 recordings, 10 steps, 2 channels
    >>> y = np.where(X[:, :, 0].mean(axis=1) > 0, "up", "down")
    >>> clf = GRUClassifier(hidden_size=16, max_iter=30, random_state=0).fit(X, y)
    >>> clf.classes_
    array(['down', 'up'], dtype='<U4')
    >>> clf.predict_proba(X[:3]).shape
    (3, 2)
    """

    _saved_attributes = (*BaseGRU._saved_attributes, "classes_", "_class_weights")

    _parameter_constraints: dict = {
        **BaseGRU._parameter_constraints,
        **ARCHITECTURE_CONSTRAINTS,
        "class_weight": [dict, StrOptions({"balanced"}), None],
    }

    def __init__(
        self,
        *,
        hidden_size=64,
        num_layers=1,
        dropout=0.5,
        bidirectional=False,
        window_size=None,
        scaling="auto",
        max_iter=200,
        learning_rate="adaptive",
        learning_rate_init=1e-2,
        batch_size="auto",
        early_stopping=False,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        warm_start=False,
        random_state=None,
        verbose=0,
        device="cpu",
        n_threads="auto",
        pooling="concat",
        patch_size="auto",
        conv_filters=None,
        conv_kernel_sizes=(8, 5, 3),
        instance_norm="auto",
        sample_stats=True,
        ensemble_size=1,
        class_weight=None,
    ):
        super().__init__(
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout,
            bidirectional=bidirectional,
            window_size=window_size,
            scaling=scaling,
            max_iter=max_iter,
            learning_rate=learning_rate,
            learning_rate_init=learning_rate_init,
            batch_size=batch_size,
            early_stopping=early_stopping,
            validation_fraction=validation_fraction,
            n_iter_no_change=n_iter_no_change,
            tol=tol,
            warm_start=warm_start,
            random_state=random_state,
            verbose=verbose,
            device=device,
            n_threads=n_threads,
        )
        self.pooling = pooling
        self.patch_size = patch_size
        self.conv_filters = conv_filters
        self.conv_kernel_sizes = conv_kernel_sizes
        self.instance_norm = instance_norm
        self.sample_stats = sample_stats
        self.ensemble_size = ensemble_size
        self.class_weight = class_weight

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.three_d_array = True
        return tags

    def _y_params(self) -> dict:
        return {}

    def _encode_targets(
        self, y: np.ndarray, layout: Layout, reset: bool, classes=None
    ) -> torch.Tensor:
        _check_labels(y)
        check_classification_targets(y)
        if reset:
            given = classes is not None
            labels = np.unique(classes) if given else LabelEncoder().fit(y).classes_
            if len(labels) < 2:
                where = "classes" if given else "y"
                raise ValueError(
                    f"{where} has 1 class ({labels[0]!r}); a classifier "
                    "needs samples of at least 2 classes."
                )
            self.classes_ = labels
            self._class_weights = compute_class_weight(
                self.class_weight, classes=self.classes_, y=y
            ).astype(np.float32)
        unseen = np.setdiff1d(y, self.classes_)
        if len(unseen):
            raise ValueError(
                f"y has labels {unseen.tolist()} that are not among the classes "
                f"of the fit being continued: {self.classes_.tolist()}."
            )
        return torch.from_numpy(np.searchsorted(self.classes_, y).astype(np.int64))

    def _n_outputs(self, layout: Layout) -> int:
        return len(self.classes_)

    def _architecture_kwargs(self, layout: Layout) -> dict:
        return architecture_kwargs(self, layout)

    def _revin_channels(self, layout: Layout):
        if instance_norm(self, layout):
            return list(range(layout.n_channels)), None
        return None, None

    _validation_score = staticmethod(accuracy_of_logits)

    def _criterion(self):
        return torch.nn.CrossEntropyLoss, {
            "weight": torch.from_numpy(self._class_weights)
        }

    def _stratify(self, targets: torch.Tensor) -> np.ndarray:
        return targets.numpy()

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Fit the network to ``X`` and the labels ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            Sequence layout (``window_size=None``): ``(n_samples, n_timesteps,
            n_features)``, ``(n_samples, n_timesteps)`` for univariate
            sequences, or a list of ``(n_timesteps_i, n_features)`` arrays.
            Series layout: ``(n_timesteps, n_features)``, rows in time order.
        y : array-like of shape (n_samples,)
            Class labels, one per sequence or per row.
        {groups}

        Returns
        -------
        self : GRUClassifier
            The fitted estimator.
        """
        self._fit(X, y, groups=groups)
        return self

    @_fit_context(prefer_skip_nested_validation=True)
    def partial_fit(self, X, y, classes=None, groups=None):
        """Train for one epoch on ``X`` and ``y``, continuing any earlier fit.

        The first call (on an unfitted estimator) builds the network, with
        the input standardisation measured on this call's data, and needs
        every label in ``classes``; later calls continue the weights and the
        optimizer state. ``early_stopping`` does not apply.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout of the first call.
        y : array-like of shape (n_samples,)
            Class labels, each one of ``classes``.
        classes : array-like of shape (n_classes,), default=None
            All the labels that any call may bring. Required on the first
            call; later calls may omit it, or must repeat it.
        {groups}

        Returns
        -------
        self : GRUClassifier
            The updated estimator.
        """
        first = _check_partial_fit_first_call(self, classes)
        if first:
            del self.classes_  # set again, with the weights, by _encode_targets
            if self.class_weight == "balanced":
                raise ValueError(
                    "class_weight='balanced' is not supported by partial_fit, "
                    "which does not see all the data at once: pass class_weight "
                    "as a dict, e.g. from sklearn.utils.class_weight."
                    "compute_class_weight('balanced', classes=classes, y=y)."
                )
        self._fit(
            X, y, incremental=True, classes=classes if first else None, groups=groups
        )
        return self

    def predict_proba(self, X, groups=None):
        """Class probabilities for every sequence or row of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            Probabilities in the order of ``classes_``, float64.
        """
        return self._answer("predict_proba", self._outputs(X, groups))

    _stream_methods = ("predict", "predict_proba", "predict_log_proba")

    def _answer(self, method: str, outputs: np.ndarray) -> np.ndarray:
        logits = outputs.astype(np.float64)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        proba /= proba.sum(axis=1, keepdims=True)
        if method == "predict_proba":
            return proba
        if method == "predict_log_proba":
            return np.log(proba)
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_log_proba(self, X, groups=None):
        """Logarithm of :meth:`predict_proba`.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            Log-probabilities in the order of ``classes_``.
        """
        return self._answer("predict_log_proba", self._outputs(X, groups))

    def predict(self, X, groups=None):
        """Predict the class of every sequence or row of ``X``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        {groups}

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            The most probable class of each sample.
        """
        return self._answer("predict", self._outputs(X, groups))

    def score(self, X, y, sample_weight=None, groups=None):
        """Accuracy of :meth:`predict` on ``X`` against the labels ``y``.

        Parameters
        ----------
        X : array-like or DataFrame
            In the layout used for ``fit``.
        y : array-like of shape (n_samples,)
            True labels.
        sample_weight : array-like of shape (n_samples,), default=None
            Weights of the samples.
        {groups}

        Returns
        -------
        score : float
            The share of correct labels, as ``ClassifierMixin.score``.
        """
        y_pred = self.predict(X, groups=groups)
        return accuracy_score(y, y_pred, sample_weight=sample_weight)
