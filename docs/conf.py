"""Sphinx configuration of skgru's documentation (``make docs``)."""

import skgru

project = "skgru"
author = "the skgru developers"
copyright = "2026, the skgru developers"
release = version = skgru.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
templates_path = ["_templates"]  # classes list their own methods, not inherited ones
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
exclude_patterns = ["_build", "auto_examples/*.ipynb", "auto_examples/*.py"]

html_theme = "pydata_sphinx_theme"
html_title = f"skgru {version}"
html_theme_options = {"navigation_with_keys": False}

sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "show_memory": False,
    "remove_config_comments": True,
    "abort_on_example_error": True,
}


def _skip_request_methods(app, what, name, obj, skip, options):
    """Leave out scikit-learn's generated ``set_<method>_request`` methods:
    their docstrings refer to scikit-learn's own glossary."""
    if name.startswith("set_") and name.endswith("_request"):
        return True
    return None


def setup(app):
    app.connect("autodoc-skip-member", _skip_request_methods)
