# Set-up from nothing: each target creates .venv if absent and installs skgru
# with torch pinned through constraints.txt (the CPU build served locally).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install --quiet --disable-pip-version-check -c constraints.txt
STAMP := $(VENV)/.installed

.PHONY: demo test lint docs accuracy anomaly forecasting

DOCS_STAMP := $(VENV)/.docs-installed

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) torch==2.13.0
	$(PIP) -e ".[test,plot,dask,onnx]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) scripts/demo.py

# Two test processes with one torch thread each use the 2 cores better than one
# process with two threads: small GRU batches gain little from a second thread.
# --doctest-modules runs every docstring's Examples too.
test: $(STAMP)
	$(PY) -m ruff check skgru tests scripts benchmarks examples docs
	$(PY) -m ruff format --check skgru tests scripts benchmarks examples docs
	OMP_NUM_THREADS=1 $(PY) -m pytest -n 2 --doctest-modules skgru tests

$(DOCS_STAMP): $(STAMP)
	$(PIP) -e ".[docs]"
	touch $(DOCS_STAMP)

# The site, with the gallery executed; any Sphinx warning fails the build.
docs: $(DOCS_STAMP)
	OMP_NUM_THREADS=1 $(PY) -m sphinx -W --keep-going -b html docs docs/_build/html

BENCH_STAMP := $(VENV)/.bench-installed

$(BENCH_STAMP): $(STAMP)
	$(PIP) -e ".[bench]"
	touch $(BENCH_STAMP)

# Accuracy against 1-NN, RandomForest, Ridge and MiniRocket on the UCR/UEA
# sets aeon and sktime ship (benchmark-only extra): writes benchmarks/ACCURACY.md.
accuracy: $(BENCH_STAMP)
	$(PY) benchmarks/accuracy.py

# Anomaly detection against a rolling z-score, IsolationForest and a Ridge
# autoregression on 5 series with injected anomalies (benchmark-only extra):
# writes benchmarks/ANOMALY.md.
anomaly: $(BENCH_STAMP)
	$(PY) benchmarks/anomaly.py

# Forecasts of skgru at defaults against naive, seasonal naive, Ridge and
# HistGradientBoosting on lags, and statsforecast's AutoETS and AutoTheta
# (benchmark-only extra): benchmarks/FORECASTING.md
forecasting: $(BENCH_STAMP)
	$(PY) benchmarks/forecasting.py
