"""skgru: scikit-learn estimators built on a PyTorch GRU."""

from ._classifier import GRUClassifier
from ._detector import GRUAnomalyDetector
from ._persistence import load, save
from ._regressor import GRURegressor
from .preprocessing import SlidingWindowTransformer

__all__ = [
    "GRUAnomalyDetector",
    "GRUClassifier",
    "GRURegressor",
    "SlidingWindowTransformer",
    "load",
    "save",
]

__version__ = "0.1.0"
