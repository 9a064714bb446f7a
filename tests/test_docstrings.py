"""Every public class and function has a valid numpydoc docstring with Examples.

The Examples themselves run as doctests in `make test` (``--doctest-modules``).
"""

import inspect

import pytest
from numpydoc.validate import validate

import skgru
import skgru.datasets
import skgru.exceptions
import skgru.export
import skgru.model_selection
import skgru.plotting
import skgru.streaming

MODULES = {
    skgru: skgru.__all__,
    skgru.datasets: ["load_airline", "load_basic_motions"],
    skgru.exceptions: skgru.exceptions.__all__,
    skgru.plotting: skgru.plotting.__all__,
    skgru.export: skgru.export.__all__,
    skgru.model_selection: skgru.model_selection.__all__,
    skgru.streaming: skgru.streaming.__all__,
}

# public methods the estimators inherit from their (private) base and mixins
INHERITED = [
    "skgru.GRURegressor.stream",
    "skgru.GRURegressor.forecast",
    "skgru.GRURegressor.calibrate",
    "skgru.GRURegressor.predict_interval",
]

# Checks left out, as scikit-learn leaves them out: an extended summary and a
# See Also section are optional, the summary may start with any verb form, and
# a single return value is named (``self : object``, ``ax : matplotlib Axes``).
OPTIONAL = {"ES01", "SA01", "SS05", "RT02"}


def public_names():
    for module, attributes in MODULES.items():
        for attribute in attributes:
            obj = getattr(module, attribute)
            yield f"{module.__name__}.{attribute}", True
            if inspect.isclass(obj):
                for name, member in vars(obj).items():
                    if not name.startswith("_") and callable(member):
                        # methods need no Examples: the class has them
                        yield f"{module.__name__}.{attribute}.{name}", False
    for name in INHERITED:
        yield name, False


@pytest.mark.parametrize("name, needs_examples", list(public_names()))
def test_numpydoc(name, needs_examples):
    ignore = OPTIONAL if needs_examples else OPTIONAL | {"EX01"}
    errors = [
        f"{code}: {message}"
        for code, message in validate(name)["errors"]
        if code not in ignore
    ]
    assert not errors, "\n".join(errors)
