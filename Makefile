# Every target sets up its own virtual environment first (.venv), with the exact versions in
# locks/ installed by uv (a pinned uv of its own, in .uv, outside the lab's venv).
# `make lock` recompiles the locks from the requirements files.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
UV_HOME ?= .uv
UV := $(UV_HOME)/bin/uv
UV_VERSION := 0.13.9
BUILD ?= build
SDK_V2_VENV ?= .venv-sdk-v2
# uv pip compile: one lock for every Python from 3.11 on and every platform, with hashes
COMPILE := $(UV) pip compile --quiet --universal --python-version 3.11 --generate-hashes \
	--override locks/overrides.txt --no-header --upgrade
INSTALL := $(UV) pip install --quiet --require-hashes --no-deps --python $(PY)

.PHONY: lab test notebook bench setup setup-dev jupyter lock clean

$(UV):
	$(PYTHON) -m venv $(UV_HOME)
	$(UV_HOME)/bin/python -m pip install --quiet --disable-pip-version-check uv==$(UV_VERSION)

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.lab-installed: locks/lab.txt | $(UV) $(PY)
	$(INSTALL) -r locks/lab.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.lab-installed locks/dev.txt
	$(INSTALL) -r locks/dev.txt
	touch $@

$(VENV)/.jupyter-installed: $(VENV)/.lab-installed locks/jupyter.txt
	$(INSTALL) -r locks/jupyter.txt
	touch $@

$(SDK_V2_VENV)/.installed: locks/sdk-v2.txt | $(UV) $(PY)
	$(UV) venv --quiet --allow-existing --python $(PY) $(SDK_V2_VENV)
	$(UV) pip install --quiet --require-hashes --no-deps --python $(SDK_V2_VENV)/bin/python \
		-r locks/sdk-v2.txt
	touch $@

setup: $(VENV)/.lab-installed
setup-dev: $(VENV)/.dev-installed $(SDK_V2_VENV)/.installed

## lab: run the whole lab headless on the local emulator, printing each cell's progress;
##      leaves build/lab.ipynb and build/lab.html
lab: setup
	LAB_BACKEND=$${LAB_BACKEND:-local} $(PY) tools/run_lab.py --out $(BUILD)

## test: unit tests (SDK v2 in its own venv), the notebook replayed by nbval, and the linters
test: setup-dev
	SDK_V2_PYTHON=$(abspath $(SDK_V2_VENV))/bin/python $(PY) -m pytest -n 2 --dist loadfile
	LAB_BACKEND=local $(PY) -m pytest --nbval lab.ipynb --nbval-sanitize-with tests/nbval_sanitize.cfg -p no:randomly
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

## notebook: re-execute lab.ipynb in place (outputs saved, no execution timestamps)
notebook: setup
	LAB_BACKEND=local $(PY) tools/run_lab.py --inplace

## jupyter: JupyterLab on lab.ipynb, for the interactive path
jupyter: $(VENV)/.jupyter-installed
	$(VENV)/bin/jupyter lab lab.ipynb

## bench: every benchmark under bench/, each printing ours and the baseline side by side
bench: setup-dev
	$(PY) -m bench

## lock: recompile locks/ from the requirements files, at the newest versions they allow
lock: | $(UV)
	$(COMPILE) requirements.txt -o locks/lab.txt
	$(COMPILE) requirements-dev.txt --constraint locks/lab.txt -o locks/dev.txt
	$(COMPILE) requirements-jupyter.txt --constraint locks/lab.txt -o locks/jupyter.txt
	$(COMPILE) requirements-sdk-v2.txt -o locks/sdk-v2.txt

clean:
	rm -rf $(BUILD) .pytest_cache
