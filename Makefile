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

test: $(STAMP)
	$(PY) -m pytest -n 2

test-slow: $(STAMP)
	$(PY) -m pytest -m slow -n 2

notebooks: $(STAMP)
	$(PY) scripts/execute_notebooks.py --write

bench: $(STAMP)
	$(PY) benchmarks/run.py

# Calibration studies (long: see docs/calibration.md and docs/coverage.md); outputs go to docs/.
sbc: $(STAMP)
	$(PY) scripts/run_sbc.py

coverage: $(STAMP)
	$(PY) scripts/run_coverage.py

# ruff with the configuration in pyproject.toml: the package, tests, scripts, benchmarks, notebooks.
lint: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
