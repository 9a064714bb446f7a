"""Warnings that skgru emits, so that they can be filtered or caught by type."""

from __future__ import annotations

__all__ = ["FitInterruptedWarning", "InconsistentVersionWarning"]


class FitInterruptedWarning(UserWarning):
    """``fit`` was interrupted (``KeyboardInterrupt``) between two epochs' ends.

    The estimator is usable: it holds the weights of its last finished epoch,
    and ``fit`` with ``warm_start=True`` continues training from there.
    """


class InconsistentVersionWarning(UserWarning):
    """A saved model was written with other versions of skgru, torch or
    scikit-learn than the ones loading it.

    The model is loaded; its predictions may differ slightly, or later
    operations may fail. Refit and save it again with the current versions to
    be sure.
    """
