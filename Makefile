# Every target sets up its own virtual environment first (.venv, from the requirements files).
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BUILD ?= build

.PHONY: lab test notebook bench setup setup-dev clean

$(VENV)/.lab-installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.lab-installed requirements-dev.txt
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

setup: $(VENV)/.lab-installed
setup-dev: $(VENV)/.dev-installed

## lab: run the whole lab headless on the local emulator; leaves build/lab.ipynb and build/lab.html
lab: setup
	mkdir -p $(BUILD)
	$(PY) -m papermill lab.ipynb $(BUILD)/lab.ipynb --cwd . --log-level WARNING --progress-bar
	$(PY) -m jupyter nbconvert --to html --log-level WARN $(BUILD)/lab.ipynb --output-dir $(BUILD)
	@echo "Executed notebook: $(BUILD)/lab.ipynb   HTML copy: $(BUILD)/lab.html"

## test: unit tests, the notebook replayed by nbval, and the linters
test: setup-dev
	$(PY) -m pytest
	$(PY) -m pytest --nbval lab.ipynb --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## notebook: re-execute lab.ipynb in place (outputs saved, no timing metadata)
notebook: setup
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace lab.ipynb
	$(PY) tools/strip_notebook_metadata.py lab.ipynb

## bench: every benchmark under bench/, each printing ours and the baseline side by side
bench: setup-dev
	$(PY) -m bench

clean:
	rm -rf $(BUILD) .pytest_cache
