"""skgru: scikit-learn estimators built on a PyTorch GRU."""

from ._classifier import GRUClassifier
from ._detector import GRUAnomalyDetector
from ._regressor import GRURegressor
from .preprocessing import SlidingWindowTransformer

__all__ = [
    "GRUAnomalyDetector",
    "GRUClassifier",
    "GRURegressor",
    "SlidingWindowTransformer",
]

__version__ = "0.1.0"
