"""Save and load fitted estimators without pickle.

A model file is one safetensors file: the network's weights and the optimizer
state are its tensors, and everything else (the class, its parameters, the
fitted attributes, the versions that wrote it) is JSON in its metadata.
Loading parses that JSON into a closed set of types (numbers, strings, lists,
numpy arrays of numbers or strings, and the few tagged types of
:mod:`skgru._metadata`), checks the class against skgru's own estimators and
every tensor against the network that the file describes, and never
unpickles or runs code from the file.
"""

from __future__ import annotations

import json
import os
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import sklearn
import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file
from sklearn.utils.validation import check_is_fitted
from skorch.history import History

from ._architecture import PREVIOUS_VALUES
from ._classifier import GRUClassifier
from ._detector import GRUAnomalyDetector
from ._metadata import decode, encode
from ._regressor import GRURegressor
from .exceptions import InconsistentVersionWarning

__all__ = ["load", "save"]

FORMAT = "skgru"
FORMAT_VERSION = 1
_METADATA_KEY = "skgru"
_ESTIMATORS = {
    cls.__name__: cls for cls in (GRURegressor, GRUClassifier, GRUAnomalyDetector)
}
_MODULE_PREFIX = "module."
_OPTIMIZER_PREFIX = "optimizer."


def _versions() -> dict[str, str]:
    try:
        skgru_version = version("skgru")
    except PackageNotFoundError:  # a source checkout that is not installed
        from . import __version__ as skgru_version
    return {
        "skgru": skgru_version,
        "torch": torch.__version__,
        "scikit-learn": sklearn.__version__,
    }


# --------------------------------------------------------------------- save
def save(estimator, path: str | os.PathLike) -> None:
    """Save a fitted skgru estimator to a file that loading cannot run code from.

    The file is a safetensors file: the network's weights and the optimizer
    state as tensors, the estimator's class, parameters, fitted attributes and
    the skgru, torch and scikit-learn versions as JSON metadata. Unlike a
    pickle, loading it cannot execute code, so it is safe to load a model
    that arrives from elsewhere. :func:`load` reads it back.

    Parameters
    ----------
    estimator : GRURegressor, GRUClassifier or GRUAnomalyDetector
        A fitted estimator. Its parameters must be numbers, strings, ``None``,
        dicts of those (``class_weight``) or a ``numpy.random.RandomState``.
    path : str or path-like
        The file to write (conventionally ``*.safetensors``); an existing file
        is replaced.

    See Also
    --------
    load : Load an estimator saved by this function.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skgru import GRURegressor, save
    >>> X = np.random.default_rng(0).normal(size=(32, 8))
    >>> est = GRURegressor(hidden_size=4, max_iter=5, random_state=0)
    >>> est = est.fit(X, X[:, -1])
    >>> path = Path(tempfile.mkdtemp()) / "model.safetensors"
    >>> save(est, path)
    >>> path.stat().st_size < 10_000
    True
    """
    name = type(estimator).__name__
    if _ESTIMATORS.get(name) is not type(estimator):
        raise TypeError(
            f"save() writes skgru's estimators ({', '.join(_ESTIMATORS)}), not "
            f"{name}. Save a Pipeline's skgru step with save() and the other "
            "steps with joblib or skops."
        )
    check_is_fitted(estimator)
    _check_writable(path)
    if getattr(estimator, "_quantized", False):
        raise TypeError(
            "This estimator was quantized with skgru.export.quantize; its int8 "
            "weights are not tensors save() can write. Pickle it (pickle or "
            "joblib), or save the float estimator and quantize after loading."
        )
    net = estimator.net_
    tensors = {
        _MODULE_PREFIX + k: v.detach().cpu().contiguous()
        for k, v in net.module_.state_dict().items()
    }
    optimizer = net.optimizer_.state_dict()
    for index, state in optimizer["state"].items():
        for key, value in state.items():
            tensors[f"{_OPTIMIZER_PREFIX}{index}.{key}"] = (
                torch.as_tensor(value).detach().cpu().contiguous()
            )
    attributes = {
        attr: encode(getattr(estimator, attr), attr)
        for attr in estimator._saved_attributes
        if hasattr(estimator, attr)
    }
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "versions": _versions(),
        "estimator": name,
        "params": {
            key: encode(value, f"parameter {key}")
            for key, value in estimator.get_params(deep=False).items()
        },
        "attributes": attributes,
        "optimizer_groups": encode(optimizer["param_groups"], "optimizer"),
        "seed": int(net.iterator_train__seed),
    }
    save_file(tensors, os.fspath(path), metadata={_METADATA_KEY: json.dumps(header)})


def _check_writable(path: str | os.PathLike) -> None:
    """Refuse a ``path`` that names a directory, or a file in one that does
    not exist (safetensors' own errors name a temporary file instead)."""
    target = Path(path)
    if target.is_dir():
        raise IsADirectoryError(
            f"path={os.fspath(path)!r} is a directory: pass the file to write, "
            f"e.g. {os.fspath(target / 'model.safetensors')!r}."
        )
    if not target.parent.is_dir():
        raise FileNotFoundError(
            f"path={os.fspath(path)!r} is in a directory that does not exist: "
            f"create {os.fspath(target.parent)!r} first."
        )


# --------------------------------------------------------------------- load
def _read(path) -> tuple[dict, dict[str, torch.Tensor]]:
    if Path(path).is_dir():
        raise IsADirectoryError(
            f"{os.fspath(path)!r} is a directory: pass the model file that "
            "skgru.save wrote."
        )
    try:
        with safe_open(os.fspath(path), framework="pt", device="cpu") as f:
            metadata = f.metadata() or {}
            tensors = {key: f.get_tensor(key) for key in f.keys()}
    except (SafetensorError, OSError, UnicodeDecodeError) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise ValueError(
            f"{os.fspath(path)!r} is not a model file written by skgru.save "
            f"(not a valid safetensors file: {error}). Only files written by "
            "skgru.save can be loaded; they are never unpickled."
        ) from None
    if _METADATA_KEY not in metadata:
        raise ValueError(
            f"{os.fspath(path)!r} is a safetensors file, but not one written by "
            "skgru.save (it has no skgru metadata)."
        )
    try:
        header = json.loads(metadata[_METADATA_KEY])
    except (json.JSONDecodeError, RecursionError) as error:
        raise ValueError(f"the skgru metadata is not valid JSON: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ValueError("the skgru metadata does not describe an skgru model")
    return header, tensors


def _check_versions(saved) -> None:
    if not isinstance(saved, dict):
        raise ValueError("the skgru metadata has no valid 'versions'")
    current = _versions()
    differ = [
        f"{package} {saved.get(package)} (now {now})"
        for package, now in current.items()
        if saved.get(package) != now
    ]
    if differ:
        warnings.warn(
            "This model was saved with " + ", ".join(differ) + ". It is "
            "loaded, but its predictions may differ slightly and later "
            "operations may fail; refit and save it again to be sure.",
            InconsistentVersionWarning,
            stacklevel=3,
        )


def _map_device(device) -> str:
    kind = torch.device(device).type
    if kind == "cuda" and not torch.cuda.is_available():
        warnings.warn(
            f"The model was fitted with device={str(device)!r}, but CUDA is not "
            "available here: it is loaded on the CPU. Set device='cpu' before "
            "fitting it again.",
            UserWarning,
            stacklevel=3,
        )
        return "cpu"
    return str(device)


def load(path: str | os.PathLike):
    """Load an estimator written by :func:`save`, without running any code from it.

    The file's class must be one of skgru's estimators, its parameters must
    pass the estimator's validation, and its tensors must match the network
    it describes; otherwise loading is refused with a ``ValueError``. Nothing
    in the file is unpickled. A model saved with other versions of skgru,
    torch or scikit-learn is loaded with an
    :class:`~skgru.exceptions.InconsistentVersionWarning`. A model fitted on
    CUDA is loaded on the CPU when CUDA is not available, with a warning.

    Parameters
    ----------
    path : str or path-like
        A file written by :func:`save`.

    Returns
    -------
    estimator : GRURegressor, GRUClassifier or GRUAnomalyDetector
        The fitted estimator, ready to predict; ``fit`` with
        ``warm_start=True`` continues its training (the optimizer state is
        restored too).

    See Also
    --------
    save : Save a fitted estimator in this format.

    Examples
    --------
    >>> import tempfile
    >>> from pathlib import Path
    >>> import numpy as np
    >>> from skgru import GRUClassifier, load, save
    >>> X = np.random.default_rng(0).normal(size=(40, 6))
    >>> labels = np.where(X.sum(axis=1) > 0, "up", "down")
    >>> clf = GRUClassifier(hidden_size=4, max_iter=5, random_state=0)
    >>> clf = clf.fit(X, labels)
    >>> path = Path(tempfile.mkdtemp()) / "classifier.safetensors"
    >>> save(clf, path)
    >>> restored = load(path)
    >>> restored.classes_
    array(['down', 'up'], dtype='<U4')
    >>> bool((restored.predict_proba(X) == clf.predict_proba(X)).all())
    True
    """
    header, tensors = _read(path)
    if header.get("format_version") != FORMAT_VERSION:
        raise ValueError(
            f"This model file has format version {header.get('format_version')!r}; "
            f"this skgru reads version {FORMAT_VERSION}. Load it with the skgru "
            "version that saved it."
        )
    _check_versions(header.get("versions"))
    name = header.get("estimator")
    if name not in _ESTIMATORS:
        raise ValueError(
            f"The model file names the class {name!r}, which is not one of "
            f"skgru's estimators ({', '.join(_ESTIMATORS)}); refusing to load it."
        )
    try:
        return _build(_ESTIMATORS[name], header, tensors)
    except (
        ValueError,
        TypeError,
        KeyError,
        AttributeError,
        RuntimeError,
        RecursionError,
    ) as error:
        raise ValueError(
            f"The model file is damaged or was altered, so it is not loaded: {error}"
        ) from None


# Parameters a file written before they existed lacks, at the values that
# reproduce what it meant (see PREVIOUS_VALUES), as encode writes them.
_ADDED_PARAMETERS = {k: encode(v, "params") for k, v in PREVIOUS_VALUES.items()}


def _build(cls, header: dict, tensors: dict[str, torch.Tensor]):
    params = header["params"]
    expected = set(cls().get_params())
    if isinstance(params, dict) and set(params) < expected:
        missing = expected - set(params)  # a file from before they were added
        if missing <= set(_ADDED_PARAMETERS):
            params = {**{k: _ADDED_PARAMETERS[k] for k in missing}, **params}
    if not isinstance(params, dict) or set(params) != expected:
        raise ValueError(f"the parameters do not match {cls.__name__}'s")
    estimator = cls(**{key: decode(value) for key, value in params.items()})
    estimator._validate_params()
    attributes = header["attributes"]
    if not isinstance(attributes, dict) or not set(attributes) <= set(
        cls._saved_attributes
    ):
        raise ValueError("unexpected fitted attributes")
    for attr, value in attributes.items():
        setattr(estimator, attr, decode(value))

    if not isinstance(estimator._network_kwargs, dict):
        raise ValueError("the network's description is not a mapping")
    device = _map_device(estimator.device)
    with estimator._seeded(0):  # the new network's initial weights: overwritten
        net = estimator._new_net(int(header["seed"]), device=device)
    state = {
        k[len(_MODULE_PREFIX) :]: v
        for k, v in tensors.items()
        if k.startswith(_MODULE_PREFIX)
    }
    net.module_.load_state_dict(state, strict=True)  # names and shapes must match

    n_params = len(list(net.module_.parameters()))
    optimizer_state: dict[int, dict] = {}
    for key, value in tensors.items():
        if key.startswith(_MODULE_PREFIX):
            continue
        index, _, field = key.removeprefix(_OPTIMIZER_PREFIX).partition(".")
        if not key.startswith(_OPTIMIZER_PREFIX) or not index.isdigit():
            raise ValueError(f"unexpected tensor {key!r}")
        if int(index) >= n_params:
            raise ValueError(f"optimizer state for unknown parameter {key!r}")
        optimizer_state.setdefault(int(index), {})[field] = value.to(device)
    groups = decode(header["optimizer_groups"])
    net.optimizer_.load_state_dict({"state": optimizer_state, "param_groups": groups})

    net.history = History(_history_rows(estimator))
    net.module_.eval()
    estimator.net_ = net
    return estimator


def _history_rows(estimator) -> list[dict]:
    """The per-epoch losses, as skorch history rows (for ``warm_start``)."""
    rows = [
        {"epoch": i + 1, "train_loss": loss}
        for i, loss in enumerate(estimator.loss_curve_)
    ]
    for key, attribute in (
        ("valid_loss", "validation_loss_curve_"),
        ("valid_score", "validation_scores_"),
    ):
        for row, value in zip(rows, getattr(estimator, attribute, []), strict=False):
            row[key] = value
    return rows
