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

## lab: run the whole lab headless on the local emulator, printing each cell's progress;
##      leaves build/lab.ipynb and build/lab.html
lab: setup
	LAB_BACKEND=$${LAB_BACKEND:-local} $(PY) tools/run_lab.py --out $(BUILD)

## test: unit tests, the notebook replayed by nbval, and the linters
test: setup-dev
	$(PY) -m pytest
	LAB_BACKEND=local $(PY) -m pytest --nbval lab.ipynb --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## notebook: re-execute lab.ipynb in place (outputs saved, no execution timestamps)
notebook: setup
	LAB_BACKEND=local $(PY) tools/run_lab.py --inplace

## bench: every benchmark under bench/, each printing ours and the baseline side by side
bench: setup-dev
	$(PY) -m bench

clean:
	rm -rf $(BUILD) .pytest_cache
