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

.PHONY: setup browser postgres run smoke test test-fast test-e2e ui mlflow-server mlflow-server-stop mlflow-server-status clean-cache

setup: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e ".[assets,dev]"
	rm -f $(VENV)/.installed-* && touch $@

run: setup  ## the default experiment: all-MiniLM-L6-v2 -> multilingual-e5-small on the pinned seed5 catalog pairs and English prose
	$(PY) train.py $(ARGS)

smoke: setup  ## < 90 s end-to-end check with the tiny student
	$(PY) train.py experiment=smoke $(ARGS)

# The suite runs in WORKERS pytest-xdist processes (2: the machines here have 2 cores and the tests are
# single-threaded, OMP_NUM_THREADS=1), a test file at a time (--dist loadfile), so that a module's fixtures are
# built once (--dist loadgroup would not do: xdist 3.8 tags the node ids pytest 9 no longer reads).
# WORKERS=0: one process, as plain pytest.
WORKERS ?= 2
XDIST    = $(if $(filter 0,$(WORKERS)),-p no:xdist,-n $(WORKERS) --dist loadfile)

test: setup browser postgres  ## the whole test suite: tests/unit and tests/e2e (what CI runs)
	$(PY) -m pytest -q $(XDIST) $(ARGS)

test-fast: setup  ## the unit tier only (tests/unit: in-process, no train.py/evaluate.py/make/torchrun runs; < 3 min)
	$(PY) -m pytest -q $(XDIST) tests/unit $(ARGS)

test-e2e: setup browser postgres  ## the end-to-end tier only (tests/e2e: real runs, browser, PostgreSQL, DDP, resume)
	$(PY) -m pytest -q $(XDIST) tests/e2e $(ARGS)

# tests/e2e/test_ui.py drives headless Chromium against the MLflow UI: Debian's `chromium`, installed when missing.
browser:  ## install Debian's chromium (headless browser of tests/e2e/test_ui.py) when it is missing
	@command -v chromium >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends chromium; }

# Binds 127.0.0.1 (this machine only) unless HOST is given on the command line: `make ui HOST=0.0.0.0` shares it
# on the network (an exported HOST, as csh sets it, is ignored: a plain `=` here wins over the environment).
# MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: no GenAI job runner (~7 background processes this project never uses).
HOST = 127.0.0.1
ui: setup  ## MLflow UI on http://127.0.0.1:5000 over the project's store
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(VENV)/bin/mlflow ui --backend-store-uri $${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db} --host $(HOST) --port $${PORT:-5000}

# A shared MLflow server (docs/scaling.md): PostgreSQL + `mlflow server --serve-artifacts`, everything under the
# git-ignored .state/; it runs in the background until `make mlflow-server-stop`. PORT (default 5001); HOST=0.0.0.0
# for jobs on other machines, with ALLOWED_HOSTS=<the name they use for this machine> (Host header check).
mlflow-server: setup postgres  ## start the shared MLflow server (PostgreSQL store) on http://127.0.0.1:5001
	$(PY) -m polyglot_distill.tracking.server start --host $(HOST) --port $${PORT:-5001} $(if $(ALLOWED_HOSTS),--allowed-hosts $(ALLOWED_HOSTS))

mlflow-server-stop: setup  ## stop the shared MLflow server and its PostgreSQL
	$(PY) -m polyglot_distill.tracking.server stop

mlflow-server-status: setup  ## is the shared MLflow server running? (exit 3 when not)
	$(PY) -m polyglot_distill.tracking.server status

# make mlflow-server and tests/e2e/test_mlflow_server.py run Debian's PostgreSQL (initdb, pg_ctl, postgres from
# /usr/lib/postgresql/<version>/bin): installed when missing. As root it runs as the package's user `postgres`.
postgres:  ## install Debian's postgresql (the shared MLflow server's database) when it is missing
	@command -v initdb >/dev/null 2>&1 || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { \
	  SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
	  $$SUDO apt-get update -q && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql; }

clean-cache:
	rm -rf .cache/polyglot-distill
