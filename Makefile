# Two entry points: `make lab` for students, `make test` for everyone else.
# Both create .venv on first use and install the project into it.

PYTHON ?= python3
VENV := .venv
BIN := $(abspath $(VENV))/bin
LAB_DIR := $(abspath .lab)
# nbgrader runs `alembic` from PATH when it creates a gradebook.
export PATH := $(BIN):$(PATH)
# Jupyter refuses to run as root unless told; CI and containers run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab lab-stop test release install

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e .
	touch $@

# JupyterLab runs inside the lab's environment, so kernels and terminals
# alike use the emulator and the lab's AWS files, never ~/.aws.
lab: install
	$(BIN)/python -m grader.emulator exec --lab-dir $(LAB_DIR) -- \
		$(BIN)/jupyter lab --ip=127.0.0.1 --ServerApp.root_dir=notebooks $(ROOT_FLAG)

lab-stop: install
	$(BIN)/python -m grader.emulator stop --lab-dir $(LAB_DIR)

test: install
	$(BIN)/python -m pytest

# Regenerate the student release in notebooks/ from solutions/.
release: install
	mkdir -p $(LAB_DIR)
	$(BIN)/nbgrader generate_assignment deploy-bot --force
