# RestoreWatch developer and CI entry points. `make test` works on a fresh clone: it installs what it needs.
#   make install      project venv (.venv) from uv.lock (uv is pip-installed first if missing)
#   make test         lint + typecheck + pytest + sam validate --lint + sam build
#   make demo         the watcher end to end on a local moto server
#   make bench        benchmarks (not part of `make test`)

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := test
MAKEFLAGS += --no-print-directory

UV_VERSION := 0.13.9
SAM_CLI_VERSION := 1.170.0

# Python 3.13 (the Lambda runtime) from pyenv when present, else any python >= 3.11 uv can find.
PYENV_ROOT ?= $(HOME)/.pyenv
PY313 := $(firstword $(wildcard $(PYENV_ROOT)/versions/3.13*/bin/python3.13))
PYTHON_REQUEST := $(if $(PY313),$(PY313),>=3.11)
# Interpreter used only to pip-install uv when it is missing.
BOOTSTRAP_PYTHON ?= $(or $(PY313),$(shell command -v python3 2>/dev/null),python3)
# `uv` on PATH if it runs, else uv pip-installed into BOOTSTRAP_PYTHON (works before a pyenv rehash).
UV := $(shell uv --version >/dev/null 2>&1 && echo uv || echo "$(BOOTSTRAP_PYTHON) -m uv")

VENV := .venv
PY := $(VENV)/bin/python
# aws-sam-cli lives in its own uv tool environment, never in the project venv.
SAM = "$$($(UV) tool dir --bin)/sam"

export AWS_DEFAULT_REGION ?= us-east-1
export SAM_CLI_TELEMETRY := 0
export UV_PYTHON_PREFERENCE := system

.PHONY: help uv install lock test lint typecheck pytest sam sam-install sam-validate sam-build demo bench clean

help:
	@sed -n 's/^#   //p' $(MAKEFILE_LIST)

uv:
	@$(UV) --version >/dev/null 2>&1 || $(BOOTSTRAP_PYTHON) -m pip install --disable-pip-version-check -q "uv==$(UV_VERSION)"

install: uv
	$(UV) sync --frozen --python "$(PYTHON_REQUEST)"

lock: uv
	$(UV) lock

test: install lint typecheck pytest sam

lint: install
	$(UV) lock --check
	$(VENV)/bin/ruff check .

typecheck: install
	$(VENV)/bin/mypy

pytest: install
	$(PY) -m pytest -q -n auto

sam: sam-validate sam-build

sam-install: uv
	@test -x $(SAM) && $(SAM) --version | grep -q "$(SAM_CLI_VERSION)" \
		|| $(UV) tool install --force --python "$(PYTHON_REQUEST)" "aws-sam-cli==$(SAM_CLI_VERSION)"

sam-validate: sam-install
	$(SAM) validate --lint
	$(SAM) validate --lint --template templates/forwarder.yaml

# sam build's python3.13 workflow needs a python3.13 first on PATH.
sam-build: sam-install
	@test -n "$(PY313)" || { echo "sam build needs Python 3.13 (pyenv install 3.13)" >&2; exit 1; }
	PATH="$(dir $(PY313)):$$PATH" $(SAM) build

demo: install
	$(PY) -m restorewatch.demo

bench: install
	$(PY) bench/run.py

clean:
	rm -rf .aws-sam .pytest_cache .mypy_cache .ruff_cache
