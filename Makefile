# Two commands for a fresh clone:  `make run` (the default experiment)  and  `make test` (the test suite).
# Both create .venv when missing: torch==2.13.0 first (the CPU wheel; a bare `torch` would pull CUDA),
# then this package with its pinned extras. The stamp file re-runs setup when pyproject.toml changes.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
export HF_HUB_OFFLINE ?= 1
export TOKENIZERS_PARALLELISM ?= false
export PYTHONUNBUFFERED := 1

.PHONY: setup run smoke test ui clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[assets,dev]"
	rm -f $(VENV)/.installed-* && touch $@

run: setup  ## the default experiment: all-MiniLM-L6-v2 -> multilingual-e5-small on seed5 gettext pairs
	$(PY) train.py $(ARGS)

smoke: setup  ## < 60 s end-to-end check with the tiny student
	$(PY) train.py experiment=smoke $(ARGS)

test: setup  ## the whole test suite (slow tests included)
	$(PY) -m pytest -q $(ARGS)

ui: setup  ## MLflow UI on http://127.0.0.1:5000 over the project's store
	$(VENV)/bin/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host 127.0.0.1 --port $${PORT:-5000}

clean-cache:
	rm -rf .cache/polyglot-distill
