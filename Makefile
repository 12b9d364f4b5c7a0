# The two commands README.md documents: `make reanalysis` and `make test`.
# Both create the virtual environment first when it is missing (Python >= 3.12;
# with pyenv, .python-version makes `python` resolve to 3.12).
PYTHON ?= python
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: reanalysis test test-slow notebooks bench sbc coverage env lint

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 12), "bayes_anlo needs Python >= 3.12, found " + sys.version.split()[0]'
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test,dist]"
	touch $(STAMP)

env: $(STAMP)

reanalysis: $(STAMP)
	$(VENV)/bin/bayes-anlo run models/sarcoma_meta_analysis.toml --out runs/sarcoma_meta --force

# The suite starts some hundreds of interpreters (the console script, the run's helpers): each
# reads the package's compiled bytecode, which Python writes by default. Where the environment
# turns that off (PYTHONDONTWRITEBYTECODE, set on some CI machines), every one of them would
# compile the package's sources again (a small `bayes-anlo run`: 3.6 s instead of 2.5 s; test
# collection: 12 s instead of 6.5 s); the empty value turns it back on for the tests.
test: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -n 2

test-slow: $(STAMP)
	PYTHONDONTWRITEBYTECODE= $(PY) -m pytest -m slow -n 2

notebooks: $(STAMP)
	$(PY) scripts/execute_notebooks.py --write

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Calibration studies (long: see docs/calibration.md, docs/coverage.md and docs/cluster.md);
# tables go to docs/results, figures to docs/figures, finished tasks to runs/study_cache (resume).
# WORKERS=N runs N local worker processes; SCHEDULER=tcp://HOST:8786 uses a running Dask cluster.
WORKERS ?= 2
STUDY_WHERE = --workers $(WORKERS) $(if $(SCHEDULER),--scheduler $(SCHEDULER),)

sbc: $(STAMP)
	$(VENV)/bin/bayes-anlo study sbc --datasets 200 --seed 20260403 $(STUDY_WHERE) --out docs

coverage: $(STAMP)
	$(VENV)/bin/bayes-anlo study coverage --replicates 200 --seed 20260401 $(STUDY_WHERE) --out docs

# ruff with the configuration in pyproject.toml: the package, tests, scripts, benchmarks, notebooks.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
