"""Warnings that skgru emits, so that they can be filtered or caught by type."""

from __future__ import annotations

__all__ = ["FitInterruptedWarning", "InconsistentVersionWarning"]


class FitInterruptedWarning(UserWarning):
    """``fit`` was interrupted (``KeyboardInterrupt``) between two epochs' ends.

    The estimator is usable: it holds the weights of its last finished epoch,
    and ``fit`` with ``warm_start=True`` continues training from there.

    Examples
    --------
    Make an interrupted fit an error instead, in a script that must not go on
    with a partly trained model:

    >>> import warnings
    >>> from skgru.exceptions import FitInterruptedWarning
    >>> warnings.filterwarnings("error", category=FitInterruptedWarning)
    >>> warnings.resetwarnings()
    """


class InconsistentVersionWarning(UserWarning):
    """A saved model was written with other versions of skgru, torch or sklearn.

    The model is loaded; its predictions may differ slightly, or later
    operations may fail. Refit and save it again with the current versions to
    be sure.

    Examples
    --------
    Refuse such models instead of loading them:

    >>> import warnings
    >>> from skgru.exceptions import InconsistentVersionWarning
    >>> warnings.filterwarnings("error", category=InconsistentVersionWarning)
    >>> warnings.resetwarnings()
    """
